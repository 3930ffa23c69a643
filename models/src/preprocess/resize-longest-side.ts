/**
 * SAM's `ResizeLongestSide`: the image is scaled so that its longer side becomes `longSide`
 * (1024 for the released models), keeping the aspect ratio, with Pillow's bilinear filter.
 */

import type { RgbImage } from '../image/rgb-image.js';
import { resizeRgb } from './pil-resample.js';

export { resizeGray, resizeRgb } from './pil-resample.js';

/** Height and width in pixels, in that order (SAM's `(H, W)` convention). */
export type SizeHW = readonly [height: number, width: number];

/**
 * The size after resize-longest-side, as SAM's `ResizeLongestSide.get_preprocess_shape` computes it:
 * `scale = longSide / max(h, w)`, each side `int(side * scale + 0.5)` (in float64). Throws when a
 * side would round to 0 (SAM would fail later in PIL).
 */
export function preprocessShape(height: number, width: number, longSide: number): [height: number, width: number] {
  for (const [name, v] of [['height', height], ['width', width], ['longSide', longSide]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  const scale = (longSide * 1.0) / Math.max(height, width);
  const h = Math.trunc(height * scale + 0.5);
  const w = Math.trunc(width * scale + 0.5);
  if (h < 1 || w < 1) {
    throw new Error(`image ${height}x${width} is too elongated: its short side rounds to 0 at long side ${longSide}`);
  }
  return [h, w];
}

/** Resizes an image so its longer side is `longSide` (SAM's `ResizeLongestSide.apply_image`). */
export function resizeLongestSide(image: RgbImage, longSide: number): RgbImage {
  const [h, w] = preprocessShape(image.height, image.width, longSide);
  return resizeRgb(image, h, w);
}
