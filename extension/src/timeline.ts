/**
 * Where a prompt's time goes between its mouse event and its mask on screen: one record per
 * prompt, each step a performance.now() time (also a User Timing mark, `glmedsa:<step>`, so a
 * Chrome trace shows them), read by the benchmark and the tests through window.glmedsa.timeline().
 */

export interface ClickTiming {
  /** The mouse event that made the prompt. */
  promptAt: number;
  /** The request left (after the prompt was checked, its session found and its markers drawn). */
  sentAt: number | null;
  /** The answer was parsed. */
  answeredAt: number | null;
  /** The mask was decoded from its run lengths. */
  decodedAt: number | null;
  /** The mask was written into the labelmap (and Cornerstone told). */
  writtenAt: number | null;
  /** The viewport's first render after the write. */
  drawnAt: number | null;
  /** The server's own timings of the answer (the browser's decode timings on the browser path). */
  server: unknown;
  /** Which path answered, its best mask and the scores (the browser-decode test compares them). */
  answer?: { path: 'browser' | 'server'; best: number; scores: number[] };
}

type Step = 'sentAt' | 'answeredAt' | 'decodedAt' | 'writtenAt' | 'drawnAt';

export function newTiming(promptAt: number): ClickTiming {
  return { promptAt, sentAt: null, answeredAt: null, decodedAt: null, writtenAt: null, drawnAt: null, server: null };
}

/** Records `step` now on `t` (once: a resent request keeps its first time) and as a User Timing mark. */
export function mark(t: ClickTiming | undefined, step: Step): void {
  if (!t || t[step] !== null) return;
  t[step] = performance.now();
  try {
    performance.mark(`glmedsa:${step}`);
  } catch {
    // User Timing is optional: the record above is what the benchmark reads.
  }
}
