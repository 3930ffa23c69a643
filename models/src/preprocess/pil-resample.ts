/**
 * A bit-exact re-implementation of Pillow's `Image.resize(size, Image.BILINEAR)` for 8-bit images
 * (Pillow `src/libImaging/Resample.c`, `ImagingResample` with the triangle filter), which is what
 * SAM's `ResizeLongestSide.apply_image` runs through torchvision's `resize(to_pil_image(img), size)`.
 *
 * Pillow resamples separably. For each axis it precomputes, per output sample, a window of source
 * samples and normalised filter weights; the filter is the triangle `max(0, 1 - |x|)` stretched by
 * the downscale factor when shrinking (so shrinking averages, i.e. antialiases) and support
 * `1 * max(1, in/out)`. The weights are converted to fixed point with 22 fractional bits, each
 * output sample is `clip8((2^21 + sum(src * weight)) >> 22)`, and the intermediate image between
 * the two passes is rounded to 8 bits. The horizontal pass runs first (on only the rows the
 * vertical pass will read), then the vertical pass; an axis whose size does not change is skipped.
 * Since Pillow 12.2.0, images more than 100x taller than wide that shrink vertically are resized
 * vertically first (`Image.resize`); that order is reproduced too (older Pillow always went
 * horizontal first, which can differ by a grey level for such extreme shapes only).
 */

import type { GrayImage, RgbImage } from '../image/rgb-image.js';

/** Fixed-point fraction bits Pillow uses for 8-bit resampling coefficients (`32 - 8 - 2`). */
const PRECISION_BITS = 22;
const ROUNDING = 1 << (PRECISION_BITS - 1);

/** Pillow's bilinear (triangle) filter and its support at scale 1. */
const BILINEAR_SUPPORT = 1.0;
function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1.0 ? 1.0 - a : 0.0;
}

/** Per-output-sample source windows and fixed-point weights along one axis. */
interface AxisCoefficients {
  /** Number of weight slots per output sample. */
  readonly ksize: number;
  /** `[first source index, window length]` per output sample. */
  readonly bounds: Int32Array;
  /** `ksize` fixed-point weights (22 fractional bits) per output sample. */
  readonly weights: Int32Array;
}

/**
 * Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear filter: maps the source
 * interval `[in0, in1)` (C floats in Pillow) of an axis with `inSize` samples onto `outSize` samples.
 */
export function bilinearCoefficients(inSize: number, outSize: number, in0 = 0, in1 = inSize): AxisCoefficients {
  const f0 = Math.fround(in0);
  const scale = Math.fround(Math.fround(in1) - f0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = BILINEAR_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const invFilterscale = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = f0 + (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = triangle((x + xmin - center + 0.5) * invFilterscale);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      let w = x < xmax ? k[x]! : 0;
      if (x < xmax && ww !== 0.0) w /= ww;
      // (int)(+-0.5 + w * 2^22): C truncation toward zero
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** Pillow's `clip8`: the accumulated fixed-point sum shifted down and clamped to 0..255. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** An interleaved 8-bit image of any channel count. */
interface Plane {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** Horizontal pass over rows `[rowOffset, rowOffset + rows)` of `src`. */
function resampleHorizontal(src: Plane, outWidth: number, rowOffset: number, rows: number, c: AxisCoefficients): Plane {
  const { channels } = src;
  const out = new Uint8Array(outWidth * rows * channels);
  const inStride = src.width * channels;
  const acc = new Array<number>(channels);
  for (let yy = 0; yy < rows; yy++) {
    const rowIn = (yy + rowOffset) * inStride;
    const rowOut = yy * outWidth * channels;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = c.bounds[xx * 2]!;
      const xmax = c.bounds[xx * 2 + 1]!;
      const kOff = xx * c.ksize;
      if (channels === 3) {
        // the common case, with the accumulators in locals
        let s0 = ROUNDING;
        let s1 = ROUNDING;
        let s2 = ROUNDING;
        for (let x = 0, p = rowIn + xmin * 3; x < xmax; x++, p += 3) {
          const w = c.weights[kOff + x]!;
          s0 += src.data[p]! * w;
          s1 += src.data[p + 1]! * w;
          s2 += src.data[p + 2]! * w;
        }
        const o = rowOut + xx * 3;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
        continue;
      }
      acc.fill(ROUNDING);
      for (let x = 0; x < xmax; x++) {
        const w = c.weights[kOff + x]!;
        const p = rowIn + (x + xmin) * channels;
        for (let ch = 0; ch < channels; ch++) acc[ch]! += src.data[p + ch]! * w;
      }
      for (let ch = 0; ch < channels; ch++) out[rowOut + xx * channels + ch] = clip8(acc[ch]!);
    }
  }
  return { width: outWidth, height: rows, channels, data: out };
}

/** Vertical pass; `c.bounds` index rows of the full image, of which `src` holds rows from `rowShift` on. */
function resampleVertical(src: Plane, outHeight: number, c: AxisCoefficients, rowShift: number): Plane {
  const { channels, width } = src;
  const stride = width * channels;
  const out = new Uint8Array(stride * outHeight);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = c.bounds[yy * 2]! - rowShift;
    const ymax = c.bounds[yy * 2 + 1]!;
    const kOff = yy * c.ksize;
    const rowOut = yy * stride;
    for (let i = 0; i < stride; i++) {
      let ss = ROUNDING;
      for (let y = 0; y < ymax; y++) ss += src.data[(y + ymin) * stride + i]! * c.weights[kOff + y]!;
      out[rowOut + i] = clip8(ss);
    }
  }
  return { width, height: outHeight, channels, data: out };
}

/**
 * Resizes an interleaved 8-bit image with `channels` channels exactly as Pillow's
 * `Image.resize((outWidth, outHeight), Image.BILINEAR)` does for modes L and RGB.
 */
function resamplePilBilinear(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  for (const [name, v] of [['outWidth', outWidth], ['outHeight', outHeight]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  if (data.length !== width * height * channels) {
    throw new Error(`${width}x${height}x${channels} image needs ${width * height * channels} bytes, got ${data.length}`);
  }
  let plane: Plane = { width, height, channels, data };
  if (outWidth === width && outHeight === height) return data.slice();

  if (height > width * 100 && outHeight < height) {
    // Pillow >= 12.2: very tall images shrink vertically first, then horizontally.
    plane = resampleVertical(plane, outHeight, bilinearCoefficients(height, outHeight), 0);
    if (outWidth !== width) {
      plane = resampleHorizontal(plane, outWidth, 0, outHeight, bilinearCoefficients(width, outWidth));
    }
    return plane.data;
  }

  const vert = bilinearCoefficients(height, outHeight);
  if (outWidth !== width) {
    // Only the source rows the vertical pass reads are resampled horizontally.
    const first = vert.bounds[0]!;
    const last = vert.bounds[(outHeight - 1) * 2]! + vert.bounds[(outHeight - 1) * 2 + 1]!;
    plane = resampleHorizontal(plane, outWidth, first, last - first, bilinearCoefficients(width, outWidth));
    if (outHeight === height) return plane.data;
    return resampleVertical(plane, outHeight, vert, first).data;
  }
  return resampleVertical(plane, outHeight, vert, 0).data;
}

/** Pillow-exact bilinear resize of an RGB image to `newHeight` x `newWidth`. */
export function resizeRgb(image: RgbImage, newHeight: number, newWidth: number): RgbImage {
  const data = resamplePilBilinear(image.data, image.width, image.height, 3, newWidth, newHeight);
  return { width: newWidth, height: newHeight, data };
}

/** Pillow-exact bilinear resize of a gray image to `newHeight` x `newWidth`. */
export function resizeGray(image: GrayImage, newHeight: number, newWidth: number): GrayImage {
  const data = resamplePilBilinear(image.data, image.width, image.height, 1, newWidth, newHeight);
  return { width: newWidth, height: newHeight, data };
}
