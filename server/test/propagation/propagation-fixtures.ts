/** What the propagation tests share: an events-stream reader that can also walk away, and Dice of run-length masks. */
import { encodeRle, runIntersection, runStats } from '@glmedsa/models';

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/**
 * Reads a server-sent events stream, handing each event to `onEvent`, until it ends or `onEvent`
 * returns 'leave' (then the connection is dropped, as a closed browser tab drops it).
 */
export async function watchEvents(url: string, onEvent: (e: SseEvent) => void | 'leave' = () => {}, headers: Record<string, string> = {}): Promise<SseEvent[]> {
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

/** Dice of a run-length mask against a 0/1 mask of the same size. */
export function diceOf(counts: readonly number[], truth: Uint8Array, width: number): number {
  const t = encodeRle(truth, width, truth.length / width).counts;
  const a = runStats(counts, width).area;
  const b = runStats(t, width).area;
  return a + b === 0 ? 1 : (2 * runIntersection(counts, t)) / (a + b);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
