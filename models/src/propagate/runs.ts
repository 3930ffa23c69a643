/**
 * Measures of masks kept as row-major run lengths (the `counts` of `summarizeLogits`: alternating
 * background and foreground runs, starting with background), computed from the runs alone, so a
 * propagation through a long series keeps no full-size mask of any slice.
 */

/** Inclusive pixel bounds of a mask's foreground. */
export interface RunBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Foreground pixels, their centroid (pixel centres) and bounds; null centroid and box when empty. */
export interface RunStats {
  area: number;
  centroid: { x: number; y: number } | null;
  bbox: RunBox | null;
}

/**
 * Calls `segment(y, x1, x2)` for each row piece of the foreground (inclusive columns), in order: a
 * foreground run may wrap over several rows.
 */
function forEachSegment(counts: ArrayLike<number>, width: number, segment: (y: number, x1: number, x2: number) => void): void {
  let pos = 0;
  for (let k = 0; k < counts.length; k++) {
    const n = counts[k]!;
    if (k % 2 === 1) {
      for (let start = pos, end = pos + n; start < end; ) {
        const y = Math.floor(start / width);
        const rowEnd = Math.min(end, (y + 1) * width);
        segment(y, start - y * width, rowEnd - 1 - y * width);
        start = rowEnd;
      }
    }
    pos += n;
  }
}

/** Area, centroid and bounding box of a row-major run-length mask `width` pixels wide. */
export function runStats(counts: ArrayLike<number>, width: number): RunStats {
  let area = 0;
  let sx = 0;
  let sy = 0;
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -1;
  let y2 = -1;
  forEachSegment(counts, width, (y, a, b) => {
    const len = b - a + 1;
    area += len;
    sx += ((a + b) / 2) * len;
    sy += y * len;
    if (a < x1) x1 = a;
    if (b > x2) x2 = b;
    if (y < y1) y1 = y;
    if (y > y2) y2 = y;
  });
  if (area === 0) return { area: 0, centroid: null, bbox: null };
  return { area, centroid: { x: sx / area, y: sy / area }, bbox: { x1, y1, x2, y2 } };
}

/** Pixels that are foreground in both masks (same pixel order and size), from the runs. */
export function runIntersection(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ia = 0;
  let ib = 0;
  // Current run of each: [start, end) and whether it is foreground.
  let aStart = 0;
  let aEnd = a.length ? a[0]! : 0;
  let bStart = 0;
  let bEnd = b.length ? b[0]! : 0;
  let inter = 0;
  while (ia < a.length && ib < b.length) {
    if (ia % 2 === 1 && ib % 2 === 1) {
      const lo = Math.max(aStart, bStart);
      const hi = Math.min(aEnd, bEnd);
      if (hi > lo) inter += hi - lo;
    }
    if (aEnd <= bEnd) {
      ia++;
      aStart = aEnd;
      aEnd += ia < a.length ? a[ia]! : 0;
    } else {
      ib++;
      bStart = bEnd;
      bEnd += ib < b.length ? b[ib]! : 0;
    }
  }
  return inter;
}

/**
 * The part of a run-length mask inside `box` (inclusive bounds) as 0/1 bytes, row-major
 * `(x2 - x1 + 1) x (y2 - y1 + 1)`.
 */
export function cropRuns(counts: ArrayLike<number>, width: number, box: RunBox): Uint8Array {
  const w = box.x2 - box.x1 + 1;
  const h = box.y2 - box.y1 + 1;
  const out = new Uint8Array(w * h);
  forEachSegment(counts, width, (y, a, b) => {
    if (y < box.y1 || y > box.y2) return;
    const from = Math.max(a, box.x1);
    const to = Math.min(b, box.x2);
    if (to >= from) out.fill(1, (y - box.y1) * w + (from - box.x1), (y - box.y1) * w + (to - box.x1) + 1);
  });
  return out;
}
