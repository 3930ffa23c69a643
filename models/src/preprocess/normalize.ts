/**
 * SAM's `Sam.preprocess`: per-channel normalisation of 0..255 RGB with the ImageNet mean/std SAM
 * uses, then zero padding at the bottom and right to a square `inputSize` x `inputSize` input,
 * laid out NCHW float32 for the image encoder.
 */

import { float32, type Tensor } from '../tensor.js';
import type { RgbImage } from '../image/rgb-image.js';

/** SAM's `pixel_mean` (R, G, B) on the 0..255 scale. */
export const PIXEL_MEAN: readonly [number, number, number] = [123.675, 116.28, 103.53];
/** SAM's `pixel_std` (R, G, B) on the 0..255 scale. */
export const PIXEL_STD: readonly [number, number, number] = [58.395, 57.12, 57.375];

/**
 * Writes one normalised, padded image into `out` at element offset `offset` (3 * S * S floats).
 * Arithmetic is float32 like PyTorch's: `fround(fround(x - mean) / std)` with float32 mean and std.
 */
function writeNormalized(image: RgbImage, inputSize: number, out: Float32Array, offset: number): void {
  const { width, height, data } = image;
  if (width > inputSize || height > inputSize) {
    throw new Error(`image ${width}x${height} does not fit an input of ${inputSize}x${inputSize}; resize it first`);
  }
  if (data.length !== width * height * 3) {
    throw new Error(`RGB image ${width}x${height} has ${data.length} bytes, expected ${width * height * 3}`);
  }
  const plane = inputSize * inputSize;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(PIXEL_MEAN[c]!);
    const std = Math.fround(PIXEL_STD[c]!);
    // a lookup table per channel: 256 possible values
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = Math.fround(v - mean) / std;
    const base = offset + c * plane;
    for (let y = 0; y < height; y++) {
      const row = base + y * inputSize;
      const src = y * width * 3 + c;
      for (let x = 0; x < width; x++) out[row + x] = lut[data[src + x * 3]!]!;
    }
  }
}

/**
 * The image encoder input for one resized image: float32 tensor `[1, 3, inputSize, inputSize]`,
 * `(pixel - mean) / std` per channel, zeros in the padding (bottom rows, right columns).
 */
export function toModelInput(resized: RgbImage, inputSize: number): Tensor<'float32'> {
  return toModelInputBatch([resized], inputSize);
}

/**
 * The image encoder input for several resized images, stacked along the batch axis:
 * float32 tensor `[B, 3, inputSize, inputSize]`, each image normalised and padded on its own.
 */
export function toModelInputBatch(images: readonly RgbImage[], inputSize: number): Tensor<'float32'> {
  if (!Number.isInteger(inputSize) || inputSize < 1) throw new Error(`inputSize must be a positive integer, got ${inputSize}`);
  if (images.length === 0) throw new Error('toModelInputBatch needs at least one image');
  const t = float32([images.length, 3, inputSize, inputSize]);
  const per = 3 * inputSize * inputSize;
  images.forEach((img, b) => writeNormalized(img, inputSize, t.data, b * per));
  return t;
}
