/** Stable cache keys for rendered images. */
import type { InstanceRef, Voi } from './image-ref.js';

/** Canonical text of a number: `-0` -> `0`, no exponent surprises for ordinary values. */
function num(value: number): string {
  return Object.is(value, -0) ? '0' : String(value);
}

/**
 * A stable string naming one rendering of one frame: the three UIDs, the frame, and the window
 * (`default` when none is given, i.e. the instance's own window or min/max). Equal inputs give
 * equal keys; UIDs cannot contain the separators used.
 */
export function imageKey(ref: InstanceRef, frame: number, voi?: Voi): string {
  const window = voi === undefined ? 'default' : `${num(voi.center)},${num(voi.width)}`;
  return `${ref.studyInstanceUID}/${ref.seriesInstanceUID}/${ref.sopInstanceUID}#${num(frame)}@${window}`;
}
