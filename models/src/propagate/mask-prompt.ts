/**
 * The point a propagation puts inside the previous slice's mask: the pixel farthest from its
 * border, so a thin or curved mask still gets a point on the object. (A mask that came from a user
 * has no logits; preprocess/mask-prompt.ts makes its low-resolution mask prompt, as pre-training
 * does for a neighbouring slice's mask.)
 */
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
