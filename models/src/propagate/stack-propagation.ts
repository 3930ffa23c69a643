/**
 * A whole propagation on a stack in this process, from a seed given as a click or as a mask: what
 * the command line and the evaluation run (the server runs the same loop on its workers).
 */
import type { SamPredictor } from '../predict/predictor.js';
import { encodeRle } from '../preprocess/mask-encoding.js';
import { maskPromptLogits } from '../preprocess/mask-prompt.js';
import { type PredictorSegmenter, type SliceSource, predictorSegmenter } from './predictor-segmenter.js';
import { type PromptSettings, type PropagatedSlice, type PropagationDirection, type PropagationResult, propagate } from './propagate.js';
import { runStats } from './runs.js';
import type { StopRule } from './stop-rule.js';

/** Where to start: a slice and either a click on it (SAM's best of three) or its mask (0/1, row-major). */
export type StackSeed = { index: number; point: { x: number; y: number }; mask?: undefined } | { index: number; mask: Uint8Array; point?: undefined };

export interface StackPropagationOptions {
  predictor: SamPredictor;
  source: SliceSource;
  seed: StackSeed;
  direction?: PropagationDirection;
  maxSlices?: number;
  rule?: Partial<StopRule>;
  prompt?: Partial<PromptSettings>;
  /** Logit magnitude of a seed mask made into the first mask prompt (default 8). */
  maskMagnitude?: number;
  signal?: AbortSignal;
  onSlice?: (slice: PropagatedSlice) => void;
}

export interface StackPropagation {
  seed: { index: number; counts: number[]; area: number; score: number | null };
  /** The kept slices beyond the seed, in stack order. */
  slices: PropagatedSlice[];
  result: PropagationResult;
  seconds: number;
  /** Slices decided (kept or not) per second, seed excluded. */
  slicesPerSecond: number;
  encodes: number;
}

export async function propagateStack(o: StackPropagationOptions): Promise<StackPropagation> {
  const { predictor, source, seed } = o;
  if (!Number.isInteger(seed.index) || seed.index < 0 || seed.index >= source.count) throw new Error(`the seed slice ${seed.index} is not in the stack of ${source.count} slices`);
  const t0 = performance.now();
  const segmenter: PredictorSegmenter = predictorSegmenter(predictor, source);
  const { width: W, height: H } = source;
  let counts: number[];
  let lowRes: Float32Array;
  let score: number | null = null;
  if (seed.mask) {
    if (seed.mask.length !== W * H) throw new Error(`the seed mask has ${seed.mask.length} pixels; the slices are ${W}x${H}`);
    counts = encodeRle(seed.mask, W, H).counts;
    lowRes = maskPromptLogits(seed.mask, W, H, predictor.inputSize, predictor.geometry.lowResSize, o.maskMagnitude ?? 8);
  } else {
    const { x, y } = seed.point;
    if (x < 0 || y < 0 || x >= W || y >= H) throw new Error(`the seed point (${x}, ${y}) is outside the ${W}x${H} slices`);
    const a = await segmenter.segment(seed.index, { points: [[x, y]], labels: [1], box: null, maskInput: null, multimask: true }, o.signal);
    counts = Array.from(a.counts);
    lowRes = a.lowRes;
    score = a.score;
  }
  const area = runStats(counts, W).area;
  if (area === 0) throw new Error('the seed mask is empty: there is nothing to propagate');
  const slices: PropagatedSlice[] = [];
  let judged = 0;
  const t1 = performance.now();
  const result = await propagate({
    count: source.count,
    width: W,
    seedIndex: seed.index,
    seed: { counts, lowRes },
    segmenter,
    ...(o.direction ? { direction: o.direction } : {}),
    ...(o.maxSlices !== undefined ? { maxSlices: o.maxSlices } : {}),
    ...(o.rule ? { rule: o.rule } : {}),
    ...(o.prompt ? { prompt: o.prompt } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    onSlice: (s) => {
      slices.push(s);
      o.onSlice?.(s);
    },
    onJudged: () => judged++,
  });
  const t2 = performance.now();
  slices.sort((a, b) => a.index - b.index);
  return {
    seed: { index: seed.index, counts, area, score },
    slices,
    result,
    seconds: (t2 - t0) / 1000,
    slicesPerSecond: judged / Math.max(1e-9, (t2 - t1) / 1000),
    encodes: segmenter.encodes,
  };
}
