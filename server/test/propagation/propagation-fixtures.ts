/** What the propagation tests share: reading an events stream (to its end or walking away), and Dice of run-length masks. */
import { encodeRle, runIntersection, runStats } from '@glmedsa/models';
import { type SseEvent, readEvents } from '../helpers/sse.js';

export type { SseEvent } from '../helpers/sse.js';

/** An events stream read to its end, or until `onEvent` returns 'leave'. */
export const watchEvents = (url: string, onEvent?: (e: SseEvent) => void | 'leave'): Promise<SseEvent[]> => readEvents(url, {}, onEvent);

/** Dice of a run-length mask against a 0/1 mask of the same size. */
export function diceOf(counts: readonly number[], truth: Uint8Array, width: number): number {
  const t = encodeRle(truth, width, truth.length / width).counts;
  const a = runStats(counts, width).area;
  const b = runStats(t, width).area;
  return a + b === 0 ? 1 : (2 * runIntersection(counts, t)) / (a + b);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
