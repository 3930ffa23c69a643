/**
 * Simulated clicks, as interactive segmentation is trained and evaluated (RITM, SAM, Med-SA with
 * its quirks fixed): a first positive click inside the object, then each next click at the centre
 * of the largest error region, positive in a false negative, negative in a false positive.
 * Clicks are (x, y) in the given mask's pixel grid.
 */
import { components3d } from '../synth/volume-objects.js';
import { Rng } from '../util/random.js';

export interface Click {
  x: number;
  y: number;
  /** 1 positive (add), 0 negative (remove). */
  label: 0 | 1;
}

/** A uniformly random pixel of the mask (null for an empty mask). */
export function randomClickInside(mask: Uint8Array, w: number, h: number, rng: Rng): Click | null {
  let count = 0;
  for (let i = 0; i < w * h; i++) if (mask[i]) count++;
  if (!count) return null;
  let k = rng.int(0, count);
  for (let i = 0; i < w * h; i++) {
    if (mask[i] && k-- === 0) return { x: i % w, y: Math.floor(i / w), label: 1 };
  }
  return null;
}

/** One-dimensional squared distance transform (Felzenszwalb & Huttenlocher) of f, in place into d. */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  const intersect = (q: number, p: number) => (f[q]! + q * q - (f[p]! + p * p)) / (2 * q - 2 * p);
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = intersect(q, v[k]!);
    while (s <= z[k]!) {
      k--;
      s = intersect(q, v[k]!);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    d[q] = (q - p) * (q - p) + f[p]!;
  }
}

/**
 * Squared Euclidean distance from each pixel of `region` to the nearest pixel outside it
 * (the image border counts as outside). Zero outside the region.
 */
export function distanceInside(region: Uint8Array, w: number, h: number): Float64Array {
  // Pad by one pixel of background so the border acts as outside.
  const W = w + 2;
  const H = h + 2;
  const INF = 1e12; // larger than any squared distance, small enough to keep q^2 in float64
  const grid = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const inside = x > 0 && y > 0 && x <= w && y <= h && region[(y - 1) * w + (x - 1)];
      grid[y * W + x] = inside ? INF : 0;
    }
  }
  const n = Math.max(W, H);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) f[y] = grid[y * W + x]!;
    edt1d(f, H, d, v, z);
    for (let y = 0; y < H; y++) grid[y * W + x] = d[y]!;
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) f[x] = grid[y * W + x]!;
    edt1d(f, W, d, v, z);
    for (let x = 0; x < W; x++) grid[y * W + x] = d[x]!;
  }
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = grid[(y + 1) * W + (x + 1)]!;
  return out;
}

/** Labels 4-connected components of a binary mask; returns labels (0 = background) and sizes. */
export function connectedComponents(mask: Uint8Array, w: number, h: number): { labels: Int32Array; sizes: number[] } {
  return components3d(w, h, 1, (i) => mask[i] !== 0);
}

/** The pixel of `region` farthest from its boundary (its "centre"), or null when empty. */
export function regionCentre(region: Uint8Array, w: number, h: number): { x: number; y: number } | null {
  const dist = distanceInside(region, w, h);
  let best = -1;
  let bestD = 0;
  for (let i = 0; i < w * h; i++) {
    if (dist[i]! > bestD) {
      bestD = dist[i]!;
      best = i;
    }
  }
  return best < 0 ? null : { x: best % w, y: Math.floor(best / w) };
}

/**
 * The next corrective click for prediction `pred` against ground truth `gt` (both 0/1, same grid):
 * at the centre of the largest connected error region; null when they agree everywhere.
 */
export function nextErrorClick(pred: Uint8Array, gt: Uint8Array, w: number, h: number): Click | null {
  const fn = new Uint8Array(w * h);
  const fp = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    if (gt[i] && !pred[i]) fn[i] = 1;
    else if (!gt[i] && pred[i]) fp[i] = 1;
  }
  let best: { region: Uint8Array; size: number; label: 0 | 1 } | null = null;
  for (const [errors, label] of [
    [fn, 1],
    [fp, 0],
  ] as const) {
    const { labels, sizes } = connectedComponents(errors, w, h);
    let biggest = 0;
    for (let l = 1; l < sizes.length; l++) if (sizes[l]! > sizes[biggest]!) biggest = l;
    if (biggest && (!best || sizes[biggest]! > best.size)) {
      const region = new Uint8Array(w * h);
      for (let i = 0; i < w * h; i++) if (labels[i] === biggest) region[i] = 1;
      best = { region, size: sizes[biggest]!, label };
    }
  }
  if (!best) return null;
  const c = regionCentre(best.region, w, h)!;
  return { ...c, label: best.label };
}

/** A deterministic generator for (seed, step, purpose), so resumed runs draw the same numbers. */
export function stepRng(seed: number, step: number, purpose: number): Rng {
  // Mix the three integers (FNV-1a style) into one 32-bit seed.
  let hsh = 2166136261;
  for (const v of [seed, step, purpose]) {
    hsh = Math.imul(hsh ^ (v & 0xffff), 16777619) >>> 0;
    hsh = Math.imul(hsh ^ (v >>> 16), 16777619) >>> 0;
  }
  return new Rng(hsh);
}
