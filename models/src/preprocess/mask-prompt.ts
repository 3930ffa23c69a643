/**
 * A binary mask as SAM's mask prompt: low-resolution logits (4E x 4E, the frame of the decoder's
 * `mask_input` and `low_res_masks`) of a mask drawn on the original image, for prompting with a
 * mask that did not come out of the model (the object's outline on a neighbouring slice, a mask
 * drawn by hand). The mask is mapped into the model's input frame as the image is (longest side
 * resized to the input size, padded bottom and right), averaged over each low-res cell and scaled
 * to +-`magnitude` (inside +, outside and padding -), the range of the logits the decoder itself
 * emits. Pre-training prompts with such masks at magnitudes 3..15, so any value in that range works.
 */
import { preprocessShape } from './resize-longest-side.js';

export const MASK_PROMPT_MAGNITUDE = 10;

export function maskPromptLogits(mask: Uint8Array, width: number, height: number, inputSize: number, lowRes: number, magnitude = MASK_PROMPT_MAGNITUDE): Float32Array {
  if (mask.length !== width * height) throw new Error(`a ${width}x${height} mask needs ${width * height} values, got ${mask.length}`);
  if (!Number.isInteger(lowRes) || lowRes < 1 || inputSize % lowRes !== 0) throw new Error(`the low-res size ${lowRes} must divide the input size ${inputSize}`);
  const [nh, nw] = preprocessShape(height, width, inputSize);
  const f = inputSize / lowRes;
  const out = new Float32Array(lowRes * lowRes);
  for (let y = 0; y < lowRes; y++) {
    for (let x = 0; x < lowRes; x++) {
      let sum = 0;
      for (let dy = 0; dy < f; dy++) {
        const iy = y * f + dy;
        if (iy >= nh) continue;
        const sy = Math.min(height - 1, Math.floor(((iy + 0.5) * height) / nh));
        for (let dx = 0; dx < f; dx++) {
          const ix = x * f + dx;
          if (ix >= nw) continue;
          const sx = Math.min(width - 1, Math.floor(((ix + 0.5) * width) / nw));
          if (mask[sy * width + sx]) sum++;
        }
      }
      out[y * lowRes + x] = magnitude * ((2 * sum) / (f * f) - 1);
    }
  }
  return out;
}
