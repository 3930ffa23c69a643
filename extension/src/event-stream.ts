/**
 * Server-sent events read with fetch streaming (EventSource cannot send the Authorization header):
 * the blocks of a `text/event-stream` body, each as its event type and its data (the `data:` lines
 * joined), for the jobs' and the propagations' event streams alike.
 */
import { type ClientOptions, type RequestOptions, request } from './client.js';

export interface StreamEvent {
  type: string;
  data: string;
}

/** How a stream ended: the reader said it was done ('ended'), or the connection broke first ('dropped'). */
export type StreamEnd = 'ended' | 'dropped';

/** One event block (`event:` and `data:` lines; comments ignored), or null when it carries no data. */
export function parseEventBlock(block: string): StreamEvent | null {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 ? null : { type, data: data.join('\n') };
}

/**
 * Reads the events of a response body in order until `onEvent` answers true (the last event the
 * caller wants: 'ended'), the body ends or breaks ('dropped'). The stream is released either way.
 */
async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (e: StreamEvent) => boolean | void): Promise<StreamEnd> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await reader.read();
    } catch {
      return 'dropped';
    }
    if (chunk.done) return 'dropped';
    buffer += decoder.decode(chunk.value, { stream: true });
    let cut: number;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      const event = parseEventBlock(block);
      if (event && onEvent(event) === true) {
        await reader.cancel().catch(() => undefined);
        return 'ended';
      }
    }
  }
}

/**
 * Follows an events stream of the server (`path`) until an event `parse` makes of it is of type
 * 'end' ('ended'), or until the stream breaks or `signal` aborts it ('dropped'; closing a stream
 * early tells the server nobody watches any more); an answer that is not a stream (401, 404...)
 * throws its sentence.
 */
export async function followEvents<E extends { type: string }>(
  o: ClientOptions,
  path: string,
  signal: AbortSignal,
  how: Partial<Pick<RequestOptions, 'describe' | 'image'>>,
  parse: (e: StreamEvent) => E | null,
  onEvent: (e: E) => void,
): Promise<StreamEnd> {
  let res: Response;
  try {
    res = await request(o, path, { ...how, accept: 'text/event-stream', signal, timeoutMs: null });
  } catch (err) {
    if (signal.aborted) return 'dropped';
    throw err;
  }
  if (!res.body) return 'dropped';
  return readEvents(res.body, (block) => {
    if (signal.aborted) return true;
    const event = parse(block);
    if (!event) return false;
    onEvent(event);
    return event.type === 'end';
  });
}
