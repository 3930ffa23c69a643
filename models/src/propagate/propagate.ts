/**
 * Propagation of a mask through a stack of slices, as SAM-based propagation does without SAM2's
 * memory attention: the accepted mask on one slice prompts the next one (its low-resolution logits
 * as the mask prompt, its box, a point inside it), that result prompts the one after, and each
 * direction stops where the object ends (see stop-rule.ts). Both directions run at once. Only
 * run lengths of masks and the previous slice's logits are kept, so a long stack costs memory in
 * proportion to the object, not to the stack.
 */
import { interiorPoint } from './mask-prompt.js';
import { runIntersection, runStats, type RunBox, type RunStats } from './runs.js';
import { type SliceMeasures, type StopCause, type StopRule, measureSlice, stopCause, stopRule } from './stop-rule.js';
import type { SlicePrompt, SliceSegmenter } from './types.js';

export const PROPAGATION_DIRECTIONS = ['both', 'forward', 'backward'] as const;
/** `forward`: towards higher slice indices; `backward`: towards lower ones. */
export type PropagationDirection = (typeof PROPAGATION_DIRECTIONS)[number];

/** How the next slice is prompted from the previous slice's mask. */
export interface PromptSettings {
  /** The previous slice's low-resolution logits as the mask prompt. */
  maskInput: boolean;
  /** The previous mask's box, widened on each side by this fraction of its width and height; null: no box. */
  boxMargin: number | null;
  /** A positive point at the previous mask's interior point (the pixel farthest from its border). */
  point: boolean;
  /** SAM's three candidates, the best by predicted IoU, instead of its single answer. */
  multimask: boolean;
}

export const DEFAULT_PROMPT: Readonly<PromptSettings> = Object.freeze({ maskInput: true, boxMargin: 0.1, point: true, multimask: false });

/** One slice the propagation kept. */
export interface PropagatedSlice {
  index: number;
  direction: 'forward' | 'backward';
  counts: ArrayLike<number>;
  bbox: RunBox;
  area: number;
  score: number;
}

/** Why one direction ended. */
export type DirectionEnd =
  | { reason: 'object-ended'; cause: StopCause; last: number; rejected: { index: number; measures: SliceMeasures } }
  | { reason: 'series-ended' | 'max-slices'; last: number }
  | { reason: 'not-asked'; last: number };

export interface PropagationResult {
  forward: DirectionEnd;
  backward: DirectionEnd;
}

export interface PropagateOptions {
  /** Slices in the stack and their width (all slices share one size). */
  count: number;
  width: number;
  seedIndex: number;
  /** The seed mask as row-major runs, and its low-resolution logits (null when it has none). */
  seed: { counts: ArrayLike<number>; lowRes: Float32Array | null };
  direction?: PropagationDirection;
  /** At most this many slices on each side of the seed (default: to the ends of the stack). */
  maxSlices?: number;
  segmenter: SliceSegmenter;
  rule?: Partial<StopRule>;
  prompt?: Partial<PromptSettings>;
  /** How many slices ahead of each front to ask the segmenter to prepare (default 2). */
  lookahead?: number;
  signal?: AbortSignal;
  /** Each kept slice, as soon as it is decided. */
  onSlice?: (slice: PropagatedSlice) => void;
  /** Every slice judged, kept or not, with its measures (for evaluations of the stop rule). */
  onJudged?: (judged: { index: number; direction: 'forward' | 'backward'; measures: SliceMeasures; cause: StopCause | null; score: number }) => void;
}

/** The prompt for the slice after one whose mask is `prev`. */
export function nextPrompt(prev: { counts: ArrayLike<number>; stats: RunStats; lowRes: Float32Array | null }, width: number, height: number, p: PromptSettings): SlicePrompt {
  const box = prev.stats.bbox!;
  const points: [number, number][] = [];
  const labels: number[] = [];
  if (p.point) {
    const c = interiorPoint(prev.counts, width, box)!;
    points.push([c.x, c.y]);
    labels.push(1);
  }
  let promptBox: SlicePrompt['box'] = null;
  if (p.boxMargin !== null) {
    const mx = p.boxMargin * (box.x2 - box.x1 + 1);
    const my = p.boxMargin * (box.y2 - box.y1 + 1);
    promptBox = [Math.max(0, box.x1 - mx), Math.max(0, box.y1 - my), Math.min(width - 1, box.x2 + mx), Math.min(height - 1, box.y2 + my)];
  }
  if (!points.length && !promptBox) throw new Error('the prompt settings give neither a point nor a box');
  return { points, labels, box: promptBox, maskInput: p.maskInput ? prev.lowRes : null, multimask: p.multimask };
}

/**
 * Propagates the seed mask through the stack. Resolves with why each direction ended; kept slices
 * go to `onSlice` as they are decided. A failure of the segmenter (or the signal) stops both
 * directions and rejects; the slices handed to `onSlice` until then stand.
 */
export async function propagate(o: PropagateOptions): Promise<PropagationResult> {
  const { count, width, seedIndex } = o;
  if (!Number.isInteger(count) || count < 1) throw new Error(`a stack needs at least one slice, got ${count}`);
  if (!Number.isInteger(seedIndex) || seedIndex < 0 || seedIndex >= count) throw new Error(`seed slice ${seedIndex} is outside the stack of ${count}`);
  const height = Math.floor(sum(o.seed.counts) / width);
  if (height * width !== sum(o.seed.counts)) throw new Error(`the seed's runs do not fill whole rows of ${width} pixels`);
  const rule = stopRule(o.rule);
  const prompt: PromptSettings = { ...DEFAULT_PROMPT, ...o.prompt };
  const seedStats = runStats(o.seed.counts, width);
  if (!seedStats.bbox) throw new Error('the seed mask is empty');
  const direction = o.direction ?? 'both';
  const maxSlices = o.maxSlices ?? count;
  const lookahead = o.lookahead ?? 2;
  // One direction's failure stops the other.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(o.signal!.reason);
  if (o.signal?.aborted) onOuterAbort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const chain = async (dir: 'forward' | 'backward'): Promise<DirectionEnd> => {
    const step = dir === 'forward' ? 1 : -1;
    let prev = { counts: o.seed.counts, stats: seedStats, lowRes: o.seed.lowRes };
    let last = seedIndex;
    let bestScore: number | null = null;
    for (let k = seedIndex + step, done = 0; ; k += step, done++) {
      if (k < 0 || k >= count) return { reason: 'series-ended', last };
      if (done >= maxSlices) return { reason: 'max-slices', last };
      stop.signal.throwIfAborted();
      if (lookahead > 0 && o.segmenter.prefetch) {
        const ahead: number[] = [];
        for (let j = 1; j <= lookahead && done + j < maxSlices; j++) {
          const i = k + j * step;
          if (i >= 0 && i < count) ahead.push(i);
        }
        if (ahead.length) o.segmenter.prefetch(ahead);
      }
      const answer = await o.segmenter.segment(k, nextPrompt(prev, width, height, prompt), stop.signal);
      // The other direction may have failed (or the caller cancelled) while this slice was computed.
      stop.signal.throwIfAborted();
      const stats = runStats(answer.counts, width);
      const measures = measureSlice(stats, answer.score, prev.stats, stats.area ? runIntersection(answer.counts, prev.counts) : 0, answer.lowRes, bestScore);
      const cause = stopCause(measures, seedStats.area, rule);
      o.onJudged?.({ index: k, direction: dir, measures, cause, score: answer.score });
      if (cause) return { reason: 'object-ended', cause, last, rejected: { index: k, measures } };
      o.onSlice?.({ index: k, direction: dir, counts: answer.counts, bbox: stats.bbox!, area: stats.area, score: answer.score });
      prev = { counts: answer.counts, stats, lowRes: answer.lowRes };
      bestScore = Math.max(bestScore ?? -Infinity, answer.score);
      last = k;
    }
  };
  const run = (dir: 'forward' | 'backward'): Promise<DirectionEnd> =>
    chain(dir).catch((err: unknown) => {
      stop.abort(err);
      throw err;
    });
  try {
    const [forward, backward] = await Promise.all([
      direction === 'backward' ? Promise.resolve<DirectionEnd>({ reason: 'not-asked', last: seedIndex }) : run('forward'),
      direction === 'forward' ? Promise.resolve<DirectionEnd>({ reason: 'not-asked', last: seedIndex }) : run('backward'),
    ]);
    return { forward, backward };
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}
