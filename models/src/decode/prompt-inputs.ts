/**
 * SAM's prompt rules for one image, producing the `point_coords` / `point_labels` inputs of SAM's
 * official ONNX decoder (`segment_anything/utils/onnx.py`, `notebooks/onnx_model_example.ipynb`):
 *
 * - coordinates are given as (x, y) in original-image pixels and scaled into the resized frame,
 *   `x * (newW / oldW)`, `y * (newH / oldH)` (float64, then stored as float32), where (newH, newW)
 *   is the resize-longest-side size (`ResizeLongestSide.apply_coords` / `apply_boxes`);
 * - the clicked points come first with labels 1 (foreground) or 0 (background);
 * - a box (x1, y1, x2, y2) follows as two corner points labelled 2 (top-left) and 3 (bottom-right);
 * - when there is no box, one padding point (0, 0) labelled -1 is appended (the prompt encoder pads
 *   exactly when `boxes is None`), and it is not scaled (0 stays 0).
 *
 * Part of the decode core (`@glmedsa/models/decode`): no Node.js, no DOM.
 */

/** Label of a foreground click. */
export const LABEL_POSITIVE = 1;
/** Label of a background click. */
export const LABEL_NEGATIVE = 0;
/** Label of a box's top-left corner. */
export const LABEL_BOX_TOP_LEFT = 2;
/** Label of a box's bottom-right corner. */
export const LABEL_BOX_BOTTOM_RIGHT = 3;
/** Label of the padding point appended when there is no box. */
export const LABEL_PADDING = -1;

/** Height and width in pixels, in that order (SAM's `(H, W)` convention). */
export type SizeHW = readonly [height: number, width: number];

/** A point as (x, y) in original-image pixels. */
export type Point = readonly [x: number, y: number];
/** A box as (x1, y1, x2, y2) in original-image pixels, x1 <= x2 and y1 <= y2. */
export type Box = readonly [x1: number, y1: number, x2: number, y2: number];

/** The prompts for one image, in original-image pixels. */
export interface Prompts {
  /** Clicks, each (x, y). */
  readonly points?: readonly Point[] | null;
  /** One label per point: 1 foreground, 0 background. */
  readonly labels?: readonly number[] | null;
  /** An optional box. */
  readonly box?: Box | null;
}

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

function checkFinite(what: string, values: readonly number[]): void {
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} must be finite numbers, got ${String(v)}`);
  }
}

/** Checks prompts against SAM's rules; throws an Error that says what is wrong. */
export function validatePrompts(prompts: Prompts): void {
  const points = prompts.points ?? [];
  const labels = prompts.labels ?? [];
  if (points.length !== labels.length) {
    throw new Error(`got ${points.length} points but ${labels.length} labels; give one label per point`);
  }
  points.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new Error(`point ${i} must be [x, y]`);
    checkFinite(`point ${i} coordinates`, p);
  });
  labels.forEach((l, i) => {
    if (l !== LABEL_POSITIVE && l !== LABEL_NEGATIVE) {
      throw new Error(`label ${i} must be 1 (foreground) or 0 (background), got ${String(l)}`);
    }
  });
  const box = prompts.box ?? null;
  if (box !== null) {
    if (!Array.isArray(box) || box.length !== 4) throw new Error('box must be [x1, y1, x2, y2]');
    checkFinite('box coordinates', box);
    const [x1, y1, x2, y2] = box;
    if (x1 > x2 || y1 > y2) throw new Error(`box must have x1 <= x2 and y1 <= y2, got [${box.join(', ')}]`);
  }
  if (points.length === 0 && box === null) throw new Error('at least one prompt is needed: a point or a box');
}

/** The decoder's sparse prompt inputs as flat float32 arrays: coords `[1, n, 2]`, labels `[1, n]`. */
export interface PromptInputs {
  coords: Float32Array;
  labels: Float32Array;
  /** Points in the set, padding point or box corners included. */
  n: number;
}

/**
 * Encodes the prompts for one image of `originalSize` (H, W) whose long side is resized to
 * `longSide`, as SAM's ONNX decoder expects them (see the module comment). Validates them first.
 */
export function promptInputs(prompts: Prompts, originalSize: SizeHW, longSide: number): PromptInputs {
  validatePrompts(prompts);
  const [oldH, oldW] = originalSize;
  const [newH, newW] = preprocessShape(oldH, oldW, longSide);
  const sx = newW / oldW;
  const sy = newH / oldH;
  const coords: number[] = [];
  const labels: number[] = [];
  const points = prompts.points ?? [];
  points.forEach(([x, y], i) => {
    coords.push(x * sx, y * sy);
    labels.push(prompts.labels![i]!);
  });
  if (prompts.box) {
    const [x1, y1, x2, y2] = prompts.box;
    coords.push(x1 * sx, y1 * sy, x2 * sx, y2 * sy);
    labels.push(LABEL_BOX_TOP_LEFT, LABEL_BOX_BOTTOM_RIGHT);
  } else {
    coords.push(0, 0);
    labels.push(LABEL_PADDING);
  }
  return { coords: Float32Array.from(coords), labels: Float32Array.from(labels), n: labels.length };
}
