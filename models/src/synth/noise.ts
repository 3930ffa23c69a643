/**
 * Building blocks for the phantoms: smooth random fields (value noise and summed octaves), a fast
 * Gaussian pixel noise, a separable Gaussian blur and small maths helpers. Everything works on
 * planar Float32Array buffers (row-major, width * height) with tight loops and no per-pixel
 * allocation: a 256x256 phantom needs a few of these passes and must take a few milliseconds.
 */
import type { Rng } from '../util/random.js';

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Hermite smoothstep of `x` between `e0` and `e1` (e0 > e1 gives the falling step). */
export function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}

/** A 32-bit seed drawn from `rng`, to start an independent sub-stream. */
export function subSeed(rng: Rng): number {
  return Math.floor(rng.next() * 4294967296) >>> 0;
}

/**
 * Adds `amplitude` times a value-noise field to `out` (w x h): random values in [-1, 1] on a
 * lattice with `period` pixels between nodes (at a random phase), interpolated with smoothstep
 * weights. The lattice is drawn once, then each row reuses the per-column cell indices and weights.
 */
function addValueNoise(rng: Rng, out: Float32Array, w: number, h: number, period: number, amplitude = 1): Float32Array {
  if (out.length !== w * h) throw new Error(`noise buffer of ${out.length} values does not fit ${w}x${h}`);
  const p = Math.max(period, 1);
  const ox = rng.next();
  const oy = rng.next();
  const lw = Math.floor(w / p + ox) + 2;
  const lh = Math.floor(h / p + oy) + 2;
  const lattice = new Float32Array(lw * lh);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next() * 2 - 1;
  const cx = new Int32Array(w);
  const tx = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const f = (x + 0.5) / p + ox;
    const i = Math.floor(f);
    const t = f - i;
    cx[x] = i;
    tx[x] = t * t * (3 - 2 * t);
  }
  for (let y = 0; y < h; y++) {
    const f = (y + 0.5) / p + oy;
    const iy = Math.floor(f);
    let ty = f - iy;
    ty = ty * ty * (3 - 2 * ty);
    const r0 = iy * lw;
    const r1 = r0 + lw;
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const ix = cx[x]!;
      const t = tx[x]!;
      const a = lattice[r0 + ix]!;
      const b = lattice[r0 + ix + 1]!;
      const c = lattice[r1 + ix]!;
      const d = lattice[r1 + ix + 1]!;
      const top = a + (b - a) * t;
      const bottom = c + (d - c) * t;
      out[row + x]! += amplitude * (top + (bottom - top) * ty);
    }
  }
  return out;
}

/**
 * Fractal noise (summed octaves of value noise), roughly in [-1, 1]: the first octave has
 * `period` pixels between lattice nodes, each next one half the period and `gain` times the weight.
 */
export function fractalNoise(rng: Rng, w: number, h: number, period: number, octaves: number, gain = 0.5): Float32Array {
  const out = new Float32Array(w * h);
  let amp = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) total += gain ** o;
  let p = period;
  for (let o = 0; o < octaves; o++) {
    addValueNoise(rng, out, w, h, p, amp / total);
    amp *= gain;
    p = Math.max(1, p / 2);
  }
  return out;
}

/**
 * A fast source of approximately standard normal numbers (sum of four uniforms from a xorshift32
 * generator, rescaled to unit variance), seeded from `rng`: for per-pixel noise, where Box-Muller
 * over Rng would cost more than the rest of the phantom.
 */
export class FastNormal {
  private s: number;

  constructor(rng: Rng) {
    this.s = subSeed(rng) | 1;
  }

  /** Fills `out[i] += sigma * N(0, 1)` for every i. */
  addTo(out: Float32Array, sigma: number): void {
    let s = this.s;
    const k = (sigma * Math.sqrt(3)) / 4294967296;
    for (let i = 0; i < out.length; i++) {
      let sum = 0;
      for (let j = 0; j < 4; j++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        sum += s >>> 0;
      }
      out[i]! += (sum - 2 * 4294967296) * k;
    }
    this.s = s;
  }
}

function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/**
 * Gaussian blur of a w x h plane in place (separable, edges clamped). `scratch` (w*h) may be
 * passed to avoid an allocation. Sigma below 0.05 pixels leaves the plane unchanged.
 */
export function gaussianBlur(plane: Float32Array, w: number, h: number, sigma: number, scratch?: Float32Array): void {
  if (!(sigma >= 0.05)) return;
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) >> 1;
  const tmp = scratch ?? new Float32Array(w * h);
  // horizontal: plane -> tmp
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      if (x >= r && x < w - r) {
        const base = row + x - r;
        for (let i = 0; i < k.length; i++) acc += k[i]! * plane[base + i]!;
      } else {
        for (let i = 0; i < k.length; i++) {
          let xi = x + i - r;
          xi = xi < 0 ? 0 : xi >= w ? w - 1 : xi;
          acc += k[i]! * plane[row + xi]!;
        }
      }
      tmp[row + x] = acc;
    }
  }
  // vertical: tmp -> plane
  for (let y = 0; y < h; y++) {
    const inner = y >= r && y < h - r;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      if (inner) {
        let at = (y - r) * w + x;
        for (let i = 0; i < k.length; i++, at += w) acc += k[i]! * tmp[at]!;
      } else {
        for (let i = 0; i < k.length; i++) {
          let yi = y + i - r;
          yi = yi < 0 ? 0 : yi >= h ? h - 1 : yi;
          acc += k[i]! * tmp[yi * w + x]!;
        }
      }
      plane[y * w + x] = acc;
    }
  }
}
