/**
 * The masks of a large image without its full-size logits. SAM's decoder upsamples its low-res
 * logits to the encoder's frame, crops the image's part (h x w) and upsamples that to the original
 * size (bilinear, align_corners=False); at 8192 x 8192 the last step is four float planes of 256 MB
 * in onnxruntime (whose arena keeps them) and again in the worker. For a large image the decoder is
 * asked for the cropped h x w logits only (its orig_im_size is the resized size, so its last resize
 * is the identity), and this module does the last step straight into the run lengths, bounding box
 * and area of the mask, one output row at a time.
 *
 * An output pixel is a weighted sum (non-negative weights) of four source logits. Output columns
 * come in spans that read the same two source columns; where all four source values of a span are
 * above 0 the whole span is foreground, where none is it is background, and only the spans across
 * the mask's edge are evaluated pixel by pixel: the work follows the source size and the edge's
 * length, not the output's area.
 */
import { bilinearTaps } from '@glmedsa/models';

interface MaskSummary {
  counts: number[];
  bbox: { x1: number; y1: number; x2: number; y2: number } | null;
  area: number;
}

/** Output columns [start, end) that read source columns c0 and c1. */
interface Span {
  start: number;
  end: number;
  c0: number;
  c1: number;
}

/** `logits` (h x w, row-major) upsampled to H x W, thresholded at > 0, run-length encoded row-major (background first). */
export function summarizeUpsampled(logits: Float32Array, h: number, w: number, H: number, W: number): MaskSummary {
  if (logits.length !== h * w) throw new Error(`${logits.length} logits do not fit ${w}x${h}`);
  const rows = bilinearTaps(h, H);
  const cols = bilinearTaps(w, W);
  const spans: Span[] = [];
  for (let x = 0; x < W; x++) {
    const c0 = cols.index[2 * x]!;
    const c1 = cols.index[2 * x + 1]!;
    const last = spans.at(-1);
    if (last && last.c0 === c0 && last.c1 === c1) last.end = x + 1;
    else spans.push({ start: x, end: x + 1, c0, c1 });
  }
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  let area = 0;
  let x1 = W;
  let y1 = H;
  let x2 = -1;
  let y2 = -1;
  /** Appends `n` pixels of value `v` at row `y`, columns [x, x + n). */
  const emit = (v: number, n: number, x: number, y: number) => {
    if (v !== current) {
      counts.push(run);
      current = v;
      run = 0;
    }
    run += n;
    if (v) {
      area += n;
      if (x < x1) x1 = x;
      if (x + n - 1 > x2) x2 = x + n - 1;
      if (y < y1) y1 = y;
      y2 = y;
    }
  };
  for (let y = 0; y < H; y++) {
    const w0 = rows.weight[2 * y]!;
    const w1 = rows.weight[2 * y + 1]!;
    const r0 = rows.index[2 * y]! * w;
    const r1 = rows.index[2 * y + 1]! * w;
    for (const s of spans) {
      const a0 = logits[r0 + s.c0]!;
      const a1 = logits[r0 + s.c1]!;
      const b0 = logits[r1 + s.c0]!;
      const b1 = logits[r1 + s.c1]!;
      if (a0 > 0 && a1 > 0 && b0 > 0 && b1 > 0) emit(1, s.end - s.start, s.start, y);
      else if (a0 <= 0 && a1 <= 0 && b0 <= 0 && b1 <= 0) emit(0, s.end - s.start, s.start, y);
      else {
        for (let x = s.start; x < s.end; x++) {
          const u = cols.weight[2 * x]!;
          const v = cols.weight[2 * x + 1]!;
          emit(w0 * (u * a0 + v * a1) + w1 * (u * b0 + v * b1) > 0 ? 1 : 0, 1, x, y);
        }
      }
    }
  }
  counts.push(run);
  return { counts, bbox: area ? { x1, y1, x2, y2 } : null, area };
}
