/**
 * SAM's `ResizeLongestSide`: the image is scaled so that its longer side becomes `longSide`
 * (1024 for the released models), keeping the aspect ratio, with Pillow's bilinear filter.
 */

import type { RgbImage } from '../image/rgb-image.js';
import { preprocessShape } from '../decode/prompt-inputs.js';
import { resizeRgb } from './pil-resample.js';

/** SAM's resize rule lives in the decode core (the browser scales prompts by it too). */
export { preprocessShape, type SizeHW } from '../decode/prompt-inputs.js';

export { resizeGray, resizeRgb } from './pil-resample.js';

/** Resizes an image so its longer side is `longSide` (SAM's `ResizeLongestSide.apply_image`). */
export function resizeLongestSide(image: RgbImage, longSide: number): RgbImage {
  const [h, w] = preprocessShape(image.height, image.width, longSide);
  return resizeRgb(image, h, w);
}
