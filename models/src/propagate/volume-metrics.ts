/**
 * How a propagated 3D mask compares with the true one: 3D Dice over the whole stack, how many
 * slices the first and last found slices are off, and Dice on each slice of the true lesion.
 */
import { encodeRle } from '../preprocess/mask-encoding.js';
import { runIntersection, runStats } from './runs.js';

export interface VolumeOverlap {
  /** 3D Dice (2|P n T| / (|P| + |T|)), 1 when both are empty. */
  dice: number;
  /** Found slices (holding a predicted mask) and true lesion slices. */
  found: { first: number; last: number } | null;
  truth: { first: number; last: number } | null;
  /** found.first - truth.first and found.last - truth.last (null when either is empty). */
  firstOffset: number | null;
  lastOffset: number | null;
  /** Dice on each true lesion slice (0 where nothing was found there). */
  perSlice: { index: number; dice: number }[];
}

/**
 * `predicted`: slice index -> row-major runs of the predicted mask; `truth`: the true mask of every
 * slice (0/1 bytes, `width` wide).
 */
export function volumeOverlap(predicted: ReadonlyMap<number, ArrayLike<number>>, truth: readonly Uint8Array[], width: number): VolumeOverlap {
  let inter = 0;
  let sizes = 0;
  let truthFirst = -1;
  let truthLast = -1;
  const perSlice: { index: number; dice: number }[] = [];
  for (let z = 0; z < truth.length; z++) {
    const t = truth[z]!;
    const height = t.length / width;
    const tCounts = encodeRle(t, width, height).counts;
    const tArea = runStats(tCounts, width).area;
    const p = predicted.get(z);
    const pArea = p ? runStats(p, width).area : 0;
    const i = p && tArea ? runIntersection(p, tCounts) : 0;
    inter += i;
    sizes += pArea + tArea;
    if (tArea > 0) {
      if (truthFirst < 0) truthFirst = z;
      truthLast = z;
      perSlice.push({ index: z, dice: (2 * i) / (pArea + tArea) });
    }
  }
  const found = [...predicted.entries()].filter(([, c]) => runStats(c, width).area > 0).map(([z]) => z);
  const f = found.length ? { first: Math.min(...found), last: Math.max(...found) } : null;
  const tr = truthFirst >= 0 ? { first: truthFirst, last: truthLast } : null;
  return {
    dice: sizes ? (2 * inter) / sizes : 1,
    found: f,
    truth: tr,
    firstOffset: f && tr ? f.first - tr.first : null,
    lastOffset: f && tr ? f.last - tr.last : null,
    perSlice,
  };
}
