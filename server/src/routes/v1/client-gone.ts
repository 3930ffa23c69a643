/** An AbortSignal that fires when the client disconnects before its answer was sent. */
import type { Response } from 'express';

export function clientGone(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
