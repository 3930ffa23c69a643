/** Measures of run-length masks against the same measures taken pixel by pixel on the decoded masks. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRle, encodeRle } from '../../src/preprocess/mask-encoding.js';
import { cropRuns, runIntersection, runStats } from '../../src/propagate/runs.js';
import { Rng } from '../../src/util/random.js';

/** Random blobs, lines and single pixels, some touching the borders. */
function randomMask(rng: Rng, w: number, h: number): Uint8Array {
  const m = new Uint8Array(w * h);
  const blobs = rng.int(0, 4);
  for (let b = 0; b < blobs; b++) {
    const cx = rng.uniform(-2, w + 2);
    const cy = rng.uniform(-2, h + 2);
    const r = rng.uniform(0.5, Math.min(w, h) / 2);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) m[y * w + x] = 1;
  }
  for (let k = rng.int(0, 5); k > 0; k--) m[rng.int(0, w * h)] = 1;
  if (rng.next() < 0.3) m.fill(1, rng.int(0, w * h), w * h); // a run that wraps over rows to the end
  return m;
}

test('area, centroid, bounding box, intersection and crops from runs equal the pixel-wise ones', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 300; trial++) {
    const w = rng.int(1, 40);
    const h = rng.int(1, 30);
    const a = randomMask(rng, w, h);
    const b = randomMask(rng, w, h);
    const ra = encodeRle(a, w, h).counts;
    const rb = encodeRle(b, w, h).counts;
    let area = 0;
    let sx = 0;
    let sy = 0;
    let inter = 0;
    let x1 = w;
    let y1 = h;
    let x2 = -1;
    let y2 = -1;
    for (let i = 0; i < w * h; i++) {
      if (a[i] && b[i]) inter++;
      if (!a[i]) continue;
      const x = i % w;
      const y = Math.floor(i / w);
      area++;
      sx += x;
      sy += y;
      x1 = Math.min(x1, x);
      x2 = Math.max(x2, x);
      y1 = Math.min(y1, y);
      y2 = Math.max(y2, y);
    }
    const s = runStats(ra, w);
    assert.equal(s.area, area);
    assert.equal(runIntersection(ra, rb), inter);
    assert.equal(runIntersection(rb, ra), inter);
    if (!area) {
      assert.equal(s.bbox, null);
      assert.equal(s.centroid, null);
      continue;
    }
    assert.deepEqual(s.bbox, { x1, y1, x2, y2 });
    assert.ok(Math.abs(s.centroid!.x - sx / area) < 1e-9 && Math.abs(s.centroid!.y - sy / area) < 1e-9);
    const box = { x1: rng.int(0, w), y1: rng.int(0, h), x2: 0, y2: 0 };
    box.x2 = rng.int(box.x1, w);
    box.y2 = rng.int(box.y1, h);
    const crop = cropRuns(ra, w, box);
    const cw = box.x2 - box.x1 + 1;
    for (let y = box.y1; y <= box.y2; y++) for (let x = box.x1; x <= box.x2; x++) assert.equal(crop[(y - box.y1) * cw + (x - box.x1)], a[y * w + x]);
    assert.deepEqual(decodeRle({ size: [h, w], counts: ra, order: 'row-major' }), a);
  }
});
