/**
 * One change of a labelmap image as the undo history keeps it: the pixels that changed, what
 * they were and what they became (sparse, so a mask on a 512x512 slice costs its own pixels, not
 * the slice); the proposal's paint, unpaint and promote; a labelmap's pixels as the API's run
 * lengths. Pure array code, no viewer objects.
 */

export type Pixels = { [i: number]: number; length: number };

export interface LabelmapEdit {
  /** Indices (row-major) of the pixels that changed. */
  readonly indices: Uint32Array;
  readonly before: Float64Array;
  readonly after: Float64Array;
}

/** The pixels that differ between `before` and `after` (same length), or null when none does. */
export function diffPixels(before: Pixels, after: Pixels): LabelmapEdit | null {
  if (before.length !== after.length) throw new Error(`a labelmap edit needs two images of one size (${before.length} and ${after.length} pixels)`);
  let n = 0;
  for (let i = 0; i < after.length; i++) if (before[i] !== after[i]) n++;
  if (n === 0) return null;
  const indices = new Uint32Array(n);
  const was = new Float64Array(n);
  const now = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < after.length; i++) {
    if (before[i] === after[i]) continue;
    indices[k] = i;
    was[k] = before[i]!;
    now[k] = after[i]!;
    k++;
  }
  return { indices, before: was, after: now };
}

/** Writes the edit's `before` values (undo) or its `after` values (redo) into `pixels`. */
export function applyEdit(pixels: Pixels, edit: LabelmapEdit, direction: 'undo' | 'redo'): void {
  const values = direction === 'undo' ? edit.before : edit.after;
  const { indices } = edit;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (i >= pixels.length) throw new Error(`the labelmap (${pixels.length} pixels) is smaller than the edit recorded on it`);
    pixels[i] = values[k]!;
  }
}

/**
 * Paints a proposed mask (0/1 per pixel) with `value` on the pixels no segment holds yet, and
 * returns which pixels it painted: what {@link unpaint} takes off again.
 */
export function paint(pixels: Pixels, mask: ArrayLike<number>, value: number): Uint32Array {
  if (mask.length !== pixels.length) throw new Error(`the mask (${mask.length} pixels) does not fit the labelmap (${pixels.length})`);
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] && pixels[i] === 0) n++;
  const painted = new Uint32Array(n);
  let k = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i] || pixels[i] !== 0) continue;
    pixels[i] = value;
    painted[k++] = i;
  }
  return painted;
}

/**
 * Takes a painted proposal off: its pixels that still hold `value` become 0 again. What other
 * tools did meanwhile stays: a brush stroke or an eraser, an undo of the viewer's own, a pixel
 * another segment (or the proposal's own segment, painted by hand) took over.
 */
export function unpaint(pixels: Pixels, painted: Uint32Array, value: number): void {
  for (let k = 0; k < painted.length; k++) {
    const i = painted[k]!;
    if (i < pixels.length && pixels[i] === value) pixels[i] = 0;
  }
}

/**
 * Accepts a painted proposal: its pixels that still hold the preview's `from` become the segment
 * `to`. Returns the change as the undo history keeps it (each such pixel was 0 before the proposal,
 * since the proposal paints only free pixels), or null when no pixel of it is left.
 */
export function promote(pixels: Pixels, painted: Uint32Array, from: number, to: number): LabelmapEdit | null {
  const kept: number[] = [];
  for (let k = 0; k < painted.length; k++) {
    const i = painted[k]!;
    if (i < pixels.length && pixels[i] === from) {
      pixels[i] = to;
      kept.push(i);
    }
  }
  if (kept.length === 0) return null;
  return { indices: Uint32Array.from(kept), before: new Float64Array(kept.length), after: new Float64Array(kept.length).fill(to) };
}

/** The segment index a proposal is painted with until it is accepted (Cornerstone's preview index). */
export const PREVIEW_SEGMENT_INDEX = 255;
/** The preview index for a proposal of `segmentIndex` (another one where the segment itself is 255). */
export function previewIndexFor(segmentIndex: number): number {
  return segmentIndex === PREVIEW_SEGMENT_INDEX ? PREVIEW_SEGMENT_INDEX - 1 : PREVIEW_SEGMENT_INDEX;
}

/** A lighter shade of an RGBA colour (each channel half way to white, alpha kept). */
export function lighter(color: readonly number[]): number[] {
  return color.map((c, i) => (i < 3 ? Math.round(c + (255 - c) * 0.5) : c));
}

/** Row-major run lengths (background first) of the pixels `member` accepts: the API's rle-row-major. */
export function runsOf(pixels: ArrayLike<number>, member: (v: number) => boolean): { counts: number[]; area: number } {
  const counts: number[] = [];
  let inside = false;
  let run = 0;
  let area = 0;
  for (let i = 0; i < pixels.length; i++) {
    const m = member(pixels[i]!);
    if (m) area++;
    if (m === inside) {
      run++;
      continue;
    }
    counts.push(run);
    inside = m;
    run = 1;
  }
  counts.push(run);
  return { counts, area };
}
