/**
 * Turning an (image, mask) pair into what a train step eats, at the model's input size S:
 * the normalised padded image, the mask in the input frame, and the low-res target (4E x 4E).
 */
import { type RgbImage, rgbImage } from '../image/index.js';
import { preprocessShape, resizeRgb, toModelInput } from '../preprocess/index.js';

export interface TrainSample {
  /** Normalised, padded [3, S, S]. */
  input: Float32Array;
  /** The mask in the input frame, S x S (zero in the padding). */
  maskS: Uint8Array;
  /** Low-res target L x L (L = 4E), 1 where at least half of the covered pixels are object. */
  target: Float32Array;
}

export interface SampleSource {
  /** Number of (image, mask) pairs. */
  count: number;
  load(i: number): Promise<{ image: RgbImage; mask: Uint8Array }>;
  /** Identifies the data (recorded in artifacts and checked on resume). */
  fingerprint: string;
  description: string;
}

export function flipImage(image: RgbImage, mask: Uint8Array, horizontal: boolean, vertical: boolean): { image: RgbImage; mask: Uint8Array } {
  if (!horizontal && !vertical) return { image, mask };
  const { width: w, height: h } = image;
  const out = rgbImage(w, h);
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = vertical ? h - 1 - y : y;
    for (let x = 0; x < w; x++) {
      const sx = horizontal ? w - 1 - x : x;
      const src = sy * w + sx;
      const dst = y * w + x;
      m[dst] = mask[src]!;
      out.data[dst * 3] = image.data[src * 3]!;
      out.data[dst * 3 + 1] = image.data[src * 3 + 1]!;
      out.data[dst * 3 + 2] = image.data[src * 3 + 2]!;
    }
  }
  return { image: out, mask: m };
}

/** Nearest-neighbour resize of a 0/1 mask into the top-left of an S x S frame. */
function maskToInputFrame(mask: Uint8Array, w: number, h: number, nh: number, nw: number, S: number): Uint8Array {
  const out = new Uint8Array(S * S);
  for (let y = 0; y < nh; y++) {
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / nh));
    for (let x = 0; x < nw; x++) {
      const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / nw));
      out[y * S + x] = mask[sy * w + sx] ? 1 : 0;
    }
  }
  return out;
}

/**
 * A mask of a w x h image in the model's frames: the input frame (S x S, nearest neighbour, zero
 * in the padding) and the low-res target (L x L, 1 where at least half of the covered pixels are set).
 */
export function targetInFrames(mask: Uint8Array, w: number, h: number, S: number, lowRes: number): { maskS: Uint8Array; target: Float32Array } {
  const [nh, nw] = preprocessShape(h, w, S);
  const maskS = maskToInputFrame(mask, w, h, nh, nw, S);
  return { maskS, target: lowResTarget(maskS, S, lowRes) };
}

function lowResTarget(maskS: Uint8Array, S: number, lowRes: number): Float32Array {
  const f = S / lowRes;
  const target = new Float32Array(lowRes * lowRes);
  for (let y = 0; y < lowRes; y++) {
    for (let x = 0; x < lowRes; x++) {
      let sum = 0;
      for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) sum += maskS[(y * f + dy) * S + x * f + dx]!;
      target[y * lowRes + x] = sum * 2 >= f * f ? 1 : 0;
    }
  }
  return target;
}

export function makeTrainSample(image: RgbImage, mask: Uint8Array, S: number, lowRes: number): TrainSample {
  const [nh, nw] = preprocessShape(image.height, image.width, S);
  const resized = nh === image.height && nw === image.width ? image : resizeRgb(image, nh, nw);
  const maskS = maskToInputFrame(mask, image.width, image.height, nh, nw, S);
  return { input: toModelInput(resized, S).data, maskS, target: lowResTarget(maskS, S, lowRes) };
}
