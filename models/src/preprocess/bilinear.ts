/**
 * 1-D resampling taps and a separable 2-D resampler with PyTorch's
 * `F.interpolate(mode="bilinear", align_corners=False)` semantics (CPU, float32):
 * for output index i, `src = max(scale * (i + 0.5) - 0.5, 0)` with `scale = in / out` in float32,
 * `i0 = floor(src)`, `i1 = min(i0 + 1, in - 1)`, weights `1 - (src - i0)` and `src - i0`.
 * Negative source positions are clamped to 0 (so the first outputs copy the first input),
 * positions past the last input reuse it.
 */

/** For each output index along one axis, `taps` source indices and weights. */
export interface AxisTaps {
  /** Number of output samples. */
  readonly size: number;
  /** Taps per output sample. */
  readonly taps: number;
  /** `size * taps` source indices. */
  readonly index: Int32Array;
  /** `size * taps` weights. */
  readonly weight: Float64Array;
}

/** PyTorch's bilinear (align_corners=False) taps from `inSize` samples to `outSize` samples. */
export function bilinearTaps(inSize: number, outSize: number): AxisTaps {
  for (const [name, v] of [['inSize', inSize], ['outSize', outSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  const index = new Int32Array(outSize * 2);
  const weight = new Float64Array(outSize * 2);
  const scale = Math.fround(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    let i0: number;
    let l1: number;
    if (inSize === outSize) {
      i0 = i;
      l1 = 0;
    } else {
      const src = Math.max(Math.fround(Math.fround(scale * (i + 0.5)) - 0.5), 0);
      i0 = Math.floor(src);
      l1 = Math.min(Math.max(Math.fround(src - i0), 0), 1);
    }
    index[i * 2] = i0;
    index[i * 2 + 1] = i0 < inSize - 1 ? i0 + 1 : i0;
    weight[i * 2] = Math.fround(1 - l1);
    weight[i * 2 + 1] = l1;
  }
  return { size: outSize, taps: 2, index, weight };
}

/**
 * Composes two resamplings along one axis: `outer` reads indices of the intermediate axis that
 * `inner` produces; the result maps the inner source directly to the outer output.
 */
export function composeTaps(outer: AxisTaps, inner: AxisTaps): AxisTaps {
  const taps = outer.taps * inner.taps;
  const index = new Int32Array(outer.size * taps);
  const weight = new Float64Array(outer.size * taps);
  for (let o = 0; o < outer.size; o++) {
    let t = o * taps;
    for (let a = 0; a < outer.taps; a++) {
      const mid = outer.index[o * outer.taps + a]!;
      if (mid >= inner.size) throw new Error(`composeTaps: index ${mid} outside the intermediate axis of ${inner.size}`);
      const wa = outer.weight[o * outer.taps + a]!;
      for (let b = 0; b < inner.taps; b++, t++) {
        index[t] = inner.index[mid * inner.taps + b]!;
        weight[t] = wa * inner.weight[mid * inner.taps + b]!;
      }
    }
    // merge taps that read the same source sample (the first keeps the sum, the others get 0)
    const first = o * taps;
    for (let i = first; i < first + taps; i++) {
      for (let j = first; j < i; j++) {
        if (index[j] === index[i] && weight[i] !== 0) {
          weight[j]! += weight[i]!;
          weight[i] = 0;
        }
      }
    }
  }
  return { size: outer.size, taps, index, weight };
}

/**
 * Resamples `count` planes of `inH` x `inW` float samples (contiguous, row-major) with separable
 * taps: the horizontal pass (`cols`) first, then the vertical pass (`rows`), accumulating in float64.
 * Returns `count` planes of `rows.size` x `cols.size`.
 */
export function resampleSeparable(
  src: Float32Array,
  count: number,
  inH: number,
  inW: number,
  rows: AxisTaps,
  cols: AxisTaps,
): Float32Array {
  if (src.length !== count * inH * inW) {
    throw new Error(`resampleSeparable: ${src.length} values do not make ${count} planes of ${inH}x${inW}`);
  }
  const outH = rows.size;
  const outW = cols.size;
  const out = new Float32Array(count * outH * outW);
  const tmp = new Float64Array(inH * outW);
  const acc = new Float64Array(outW);
  for (let p = 0; p < count; p++) {
    const base = p * inH * inW;
    for (let y = 0; y < inH; y++) {
      const rowIn = base + y * inW;
      for (let x = 0; x < outW; x++) {
        let s = 0;
        for (let t = x * cols.taps, e = t + cols.taps; t < e; t++) s += cols.weight[t]! * src[rowIn + cols.index[t]!]!;
        tmp[y * outW + x] = s;
      }
    }
    const outBase = p * outH * outW;
    for (let y = 0; y < outH; y++) {
      acc.fill(0);
      for (let t = y * rows.taps, e = t + rows.taps; t < e; t++) {
        const w = rows.weight[t]!;
        if (w === 0) continue;
        const rowTmp = rows.index[t]! * outW;
        for (let x = 0; x < outW; x++) acc[x] += w * tmp[rowTmp + x]!;
      }
      out.set(acc, outBase + y * outW);
    }
  }
  return out;
}

/**
 * `F.interpolate(planes, (outH, outW), mode="bilinear", align_corners=False)` on `count` planes of
 * `inH` x `inW`.
 */
export function interpolateBilinear(
  src: Float32Array,
  count: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float32Array {
  return resampleSeparable(src, count, inH, inW, bilinearTaps(inH, outH), bilinearTaps(inW, outW));
}
