/** A server-sent events reader for the tests (jobs, propagations): read to the end, or walk away midway. */

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/**
 * Reads a server-sent events stream, handing each event to `onEvent`, until it ends or `onEvent`
 * returns 'leave' (then the connection is dropped, as a closed browser tab drops it). Returns the
 * events read.
 */
export async function readEvents(url: string, headers: Record<string, string> = {}, onEvent: (e: SseEvent) => void | 'leave' = () => {}): Promise<SseEvent[]> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  if (res.status !== 200 || !res.body) throw new Error(`events: ${res.status} ${await res.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || !data) continue;
        const e = { event, data: JSON.parse(data) as Record<string, unknown> };
        events.push(e);
        if (onEvent(e) === 'leave') {
          controller.abort();
          return events;
        }
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  }
  return events;
}
