/**
 * A decoded mask straight from its logits: row-major run-length encoding, bounding box and area in
 * one pass. `counts` alternates background and foreground run lengths and always starts with a
 * background run (0 when the first pixel is foreground); the counts add up to `width * height`
 * (the same convention as `encodeRle` in preprocess/mask-encoding.ts).
 *
 * Part of the decode core (`@glmedsa/models/decode`): no Node.js, no DOM.
 */

/** A mask straight from logits: row-major runs, bounding box and area in one pass. */
export interface LogitMaskSummary {
  counts: number[];
  /** Inclusive bounds of the foreground, or null when empty. */
  bbox: { x1: number; y1: number; x2: number; y2: number } | null;
  area: number;
}

/**
 * Thresholds logits (foreground where logit > threshold) and run-length encodes the result in
 * row-major order, without building the mask.
 */
export function summarizeLogits(logits: Float32Array, width: number, height: number, threshold = 0): LogitMaskSummary {
  if (logits.length !== width * height) throw new Error(`${logits.length} logits do not fit ${width}x${height}`);
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  let area = 0;
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const v = logits[i]! > threshold ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        current = v;
        run = 0;
      }
      run++;
      if (v) {
        area++;
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        y2 = y;
      }
    }
  }
  counts.push(run);
  return { counts, bbox: area ? { x1, y1, x2, y2 } : null, area };
}
