/**
 * Mask postprocessing: SAM's `Sam.postprocess_masks` (and the ONNX model's `mask_postprocessing`)
 * in plain TypeScript, plus thresholding and bounding boxes.
 *
 * SAM upsamples the decoder's low-res logits `[.., M, 4E, 4E]` bilinearly to `S x S`
 * (S = input size, e.g. 1024), crops the top-left `h' x w'` (the resize-longest-side size; the rest
 * is padding) and upsamples that bilinearly to the original `H x W`, all with
 * `align_corners=False`. `postprocessMasks` does exactly those steps; `upsampleLogitsToOriginal`
 * composes the two resamplings per axis (each output pixel reads at most 4 x 4 low-res logits) and
 * never builds the `S x S` intermediate, giving the same values up to float rounding.
 */

import { float32, type Tensor } from '../tensor.js';
import { bilinearTaps, composeTaps, interpolateBilinear, resampleSeparable, type AxisTaps } from './bilinear.js';
import { preprocessShape, type SizeHW } from './resize-longest-side.js';

/** The sizes postprocessing needs. */
export interface MaskGeometry {
  /** The square model input side S (the image encoder's `img_size`). */
  readonly inputSize: number;
  /** (h', w'): the image size after resize-longest-side, before padding. */
  readonly resizedSize: SizeHW;
  /** (H, W): the original image size. */
  readonly originalSize: SizeHW;
}

/** The geometry for an original image of (H, W) and a model input side S, with h', w' as SAM computes them. */
export function maskGeometry(originalSize: SizeHW, inputSize: number): MaskGeometry {
  const resizedSize = preprocessShape(originalSize[0], originalSize[1], inputSize);
  return { inputSize, resizedSize, originalSize: [originalSize[0], originalSize[1]] };
}

/** Splits a logits tensor `[..., Lh, Lw]` into a plane count and the plane size. */
function planesOf(logits: Tensor<'float32'>): { count: number; lh: number; lw: number; lead: number[] } {
  const { shape } = logits;
  if (shape.length < 2) throw new Error(`mask logits need at least 2 dimensions, got [${shape.join(', ')}]`);
  const lh = shape[shape.length - 2]!;
  const lw = shape[shape.length - 1]!;
  const lead = shape.slice(0, -2);
  return { count: lead.reduce((a, b) => a * b, 1), lh, lw, lead };
}

function checkGeometry(g: MaskGeometry): void {
  const [h, w] = g.resizedSize;
  if (h > g.inputSize || w > g.inputSize || h < 1 || w < 1) {
    throw new Error(`resized size ${h}x${w} must be within the input size ${g.inputSize}`);
  }
}

/**
 * The two-step reference, step for step as SAM: bilinear to `S x S`, crop to `h' x w'`, bilinear to
 * `H x W`. Input `[..., Lh, Lw]`; output `[..., H, W]` logits (float32 in between, like PyTorch).
 */
export function postprocessMasks(lowRes: Tensor<'float32'>, geometry: MaskGeometry): Tensor<'float32'> {
  checkGeometry(geometry);
  const { count, lh, lw, lead } = planesOf(lowRes);
  const s = geometry.inputSize;
  const [rh, rw] = geometry.resizedSize;
  const [oh, ow] = geometry.originalSize;
  const big = interpolateBilinear(lowRes.data, count, lh, lw, s, s);
  const cropped = new Float32Array(count * rh * rw);
  for (let p = 0; p < count; p++) {
    for (let y = 0; y < rh; y++) {
      const from = p * s * s + y * s;
      cropped.set(big.subarray(from, from + rw), (p * rh + y) * rw);
    }
  }
  return float32([...lead, oh, ow], interpolateBilinear(cropped, count, rh, rw, oh, ow));
}

/** Per-axis taps from the low-res logits straight to the original size (4 taps per output). */
function composedTaps(lowSize: number, inputSize: number, resized: number, original: number): AxisTaps {
  // bilinearTaps(resized, original) only reads indices < resized, which are rows/cols of the S grid.
  return composeTaps(bilinearTaps(resized, original), bilinearTaps(lowSize, inputSize));
}

/**
 * Low-res logits `[..., Lh, Lw]` to logits at the original size `[..., H, W]`, equal to
 * `postprocessMasks` within float rounding, in O(M * (Lh * W + H * W)) work and no `S x S` buffer.
 */
export function upsampleLogitsToOriginal(lowRes: Tensor<'float32'>, geometry: MaskGeometry): Tensor<'float32'> {
  checkGeometry(geometry);
  const { count, lh, lw, lead } = planesOf(lowRes);
  const [rh, rw] = geometry.resizedSize;
  const [oh, ow] = geometry.originalSize;
  const rows = composedTaps(lh, geometry.inputSize, rh, oh);
  const cols = composedTaps(lw, geometry.inputSize, rw, ow);
  return float32([...lead, oh, ow], resampleSeparable(lowRes.data, count, lh, lw, rows, cols));
}

/** Binary mask from logits: 1 where `logit > threshold` (SAM's `mask_threshold` is 0), else 0. */
export function maskFromLogits(logits: Float32Array | Tensor<'float32'>, threshold = 0): Uint8Array {
  const data = logits instanceof Float32Array ? logits : logits.data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! > threshold ? 1 : 0;
  return out;
}

/** A box of pixel indices, inclusive on both ends (x2, y2 are the last foreground column/row). */
export interface PixelBox {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

/**
 * The tight bounding box of the non-zero pixels of a row-major `width x height` mask, inclusive
 * (like SAM's `batched_mask_to_box`), or null for an empty mask.
 */
export function boundingBox(mask: Uint8Array, width: number, height: number): PixelBox | null {
  if (mask.length !== width * height) throw new Error(`mask of ${mask.length} bytes does not fit ${width}x${height}`);
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (mask[row + x]) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (y < y1) y1 = y;
    y2 = y;
    if (first < x1) x1 = first;
    if (last > x2) x2 = last;
  }
  return x2 < 0 ? null : { x1, y1, x2, y2 };
}
