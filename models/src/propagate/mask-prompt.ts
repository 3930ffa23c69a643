/**
 * Prompts for the next slice of a propagation, made from the previous slice's mask: a point
 * inside it (the pixel farthest from its border, so a thin or curved mask still gets a point on
 * the object), its box, and a low-resolution mask prompt when the previous mask came from a user
 * (an uploaded mask has no logits; see `maskPromptLogits`).
 */
import { preprocessShape } from '../preprocess/resize-longest-side.js';
import { regionCentre } from '../train/clicks.js';
import { cropRuns, type RunBox } from './runs.js';

/**
 * The pixel of a run-length mask farthest from its border (its "centre"), in image coordinates,
 * or null for an empty mask. Only the mask's bounding box is expanded, so the cost follows the
 * object's size, not the image's.
 */
export function interiorPoint(counts: ArrayLike<number>, width: number, bbox: RunBox | null): { x: number; y: number } | null {
  if (!bbox) return null;
  const crop = cropRuns(counts, width, bbox);
  const c = regionCentre(crop, bbox.x2 - bbox.x1 + 1, bbox.y2 - bbox.y1 + 1);
  return c ? { x: c.x + bbox.x1, y: c.y + bbox.y1 } : null;
}

/**
 * A binary mask (row-major `width x height`) as the decoder's low-resolution mask prompt: SAM's
 * `mask_input` is `lowRes x lowRes` logits over the padded `inputSize x inputSize` frame the
 * image is resized into (longest side to `inputSize`, padding bottom and right). Each cell gets
 * `magnitude * (2 * coverage - 1)`, its coverage measured on 4 x 4 samples; cells over the padding
 * are background.
 */
export function maskPromptLogits(mask: Uint8Array, width: number, height: number, inputSize: number, lowRes: number, magnitude: number): Float32Array {
  if (mask.length !== width * height) throw new Error(`mask of ${mask.length} bytes does not fit ${width}x${height}`);
  const [rh, rw] = preprocessShape(height, width, inputSize);
  const cell = inputSize / lowRes;
  // resized pixel -> original pixel (the resize maps the rh x rw frame onto height x width)
  const sy = height / rh;
  const sx = width / rw;
  const out = new Float32Array(lowRes * lowRes);
  const SUB = 4;
  for (let v = 0; v < lowRes; v++) {
    for (let u = 0; u < lowRes; u++) {
      let hit = 0;
      for (let j = 0; j < SUB; j++) {
        const py = (v + (j + 0.5) / SUB) * cell;
        if (py >= rh) continue;
        const oy = Math.min(height - 1, Math.floor(py * sy));
        for (let i = 0; i < SUB; i++) {
          const px = (u + (i + 0.5) / SUB) * cell;
          if (px >= rw) continue;
          if (mask[oy * width + Math.min(width - 1, Math.floor(px * sx))]) hit++;
        }
      }
      out[v * lowRes + u] = magnitude * ((2 * hit) / (SUB * SUB) - 1);
    }
  }
  return out;
}
