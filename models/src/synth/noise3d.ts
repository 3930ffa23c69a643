/**
 * Smooth random fields in three dimensions (value noise on a coarse lattice with smoothstep
 * weights, summed octaves) and the small volume filters the phantom volumes need. Volumes are
 * Float32Array buffers indexed z * h * w + y * w + x, the layout of a stack of row-major slices.
 * Periods are given per axis, so a field can be as smooth along the slices as across them in
 * millimetres even when the slices are thicker than the pixels are wide.
 */
import type { Rng } from '../util/random.js';

/** Cell index and smoothstep weight of every coordinate 0..n-1 for a lattice of period p and phase o. */
function axisCells(n: number, p: number, o: number): { cell: Int32Array; t: Float32Array } {
  const cell = new Int32Array(n);
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const f = (i + 0.5) / p + o;
    const c = Math.floor(f);
    const u = f - c;
    cell[i] = c;
    t[i] = u * u * (3 - 2 * u);
  }
  return { cell, t };
}

/** Adds `amplitude` times a 3D value-noise field with lattice periods (px, py, pz) voxels to `out`. */
function addValueNoise3d(rng: Rng, out: Float32Array, w: number, h: number, d: number, period: readonly [number, number, number], amplitude: number): void {
  const [px, py, pz] = period.map((p) => Math.max(p, 1)) as [number, number, number];
  const ox = rng.next();
  const oy = rng.next();
  const oz = rng.next();
  const lw = Math.floor(w / px + ox) + 2;
  const lh = Math.floor(h / py + oy) + 2;
  const ld = Math.floor(d / pz + oz) + 2;
  const lattice = new Float32Array(lw * lh * ld);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next() * 2 - 1;
  const X = axisCells(w, px, ox);
  const Y = axisCells(h, py, oy);
  const Z = axisCells(d, pz, oz);
  const plane = lw * lh;
  // The lattice interpolated to one z at a time (lw x lh), then bilinearly to the pixels.
  const zPlane = new Float32Array(plane);
  for (let z = 0; z < d; z++) {
    const z0 = Z.cell[z]! * plane;
    const tz = Z.t[z]!;
    for (let i = 0; i < plane; i++) zPlane[i] = lattice[z0 + i]! + (lattice[z0 + plane + i]! - lattice[z0 + i]!) * tz;
    const base = z * w * h;
    for (let y = 0; y < h; y++) {
      const r0 = Y.cell[y]! * lw;
      const r1 = r0 + lw;
      const ty = Y.t[y]!;
      const row = base + y * w;
      for (let x = 0; x < w; x++) {
        const ix = X.cell[x]!;
        const tx = X.t[x]!;
        const a = zPlane[r0 + ix]!;
        const b = zPlane[r0 + ix + 1]!;
        const c = zPlane[r1 + ix]!;
        const e = zPlane[r1 + ix + 1]!;
        const top = a + (b - a) * tx;
        const bottom = c + (e - c) * tx;
        out[row + x]! += amplitude * (top + (bottom - top) * ty);
      }
    }
  }
}

/**
 * Fractal 3D noise, roughly in [-1, 1], w x h x d voxels: the first octave has `period` voxels
 * between lattice nodes along (x, y, z), each next one half that and `gain` times the weight.
 */
export function fractalNoise3d(rng: Rng, w: number, h: number, d: number, period: readonly [number, number, number], octaves: number, gain = 0.5): Float32Array {
  const out = new Float32Array(w * h * d);
  let total = 0;
  for (let o = 0; o < octaves; o++) total += gain ** o;
  let amp = 1 / total;
  let p = [...period] as [number, number, number];
  for (let o = 0; o < octaves; o++) {
    addValueNoise3d(rng, out, w, h, d, p, amp);
    amp *= gain;
    p = p.map((v) => Math.max(1, v / 2)) as [number, number, number];
  }
  return out;
}

/**
 * Blurs a stack along z with the kernel [k, 1 - 2k, k] (edges clamped): the partial-volume
 * averaging of a slice as thick as the slice spacing, in place.
 */
export function blurAlongSlices(volume: Float32Array, sliceSize: number, slices: number, k: number): void {
  if (!(k > 0) || slices < 2) return;
  const prev = new Float32Array(sliceSize);
  const cur = new Float32Array(sliceSize);
  prev.set(volume.subarray(0, sliceSize));
  for (let z = 0; z < slices; z++) {
    cur.set(volume.subarray(z * sliceSize, (z + 1) * sliceSize));
    const next = z + 1 < slices ? z + 1 : z;
    const out = volume.subarray(z * sliceSize, (z + 1) * sliceSize);
    const nb = next * sliceSize;
    for (let i = 0; i < sliceSize; i++) out[i] = k * prev[i]! + (1 - 2 * k) * cur[i]! + k * volume[nb + i]!;
    prev.set(cur);
  }
}
