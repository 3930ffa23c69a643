import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectedComponents, distanceInside, nextErrorClick, randomClickInside, regionCentre } from '../../src/train/clicks.js';
import { overlap } from '../../src/train/metrics.js';
import { Rng } from '../../src/util/random.js';

function rect(w: number, h: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return m;
}

test('distanceInside equals the brute-force distance to the nearest outside pixel', () => {
  const w = 23;
  const h = 17;
  const rng = new Rng(4);
  const m = new Uint8Array(w * h).map(() => (rng.next() < 0.7 ? 1 : 0));
  const d = distanceInside(m, w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let best = Infinity;
      // Outside pixels, including a virtual ring around the image.
      for (let v = -1; v <= h; v++) {
        for (let u = -1; u <= w; u++) {
          const outside = u < 0 || v < 0 || u >= w || v >= h || !m[v * w + u];
          if (outside) best = Math.min(best, (u - x) ** 2 + (v - y) ** 2);
        }
      }
      assert.equal(d[y * w + x], m[y * w + x] ? best : 0, `(${x}, ${y})`);
    }
  }
});

test('the centre of a rectangle is its middle', () => {
  assert.deepEqual(regionCentre(rect(20, 20, 4, 6, 13, 15), 20, 20), { x: 8, y: 10 });
  assert.equal(regionCentre(new Uint8Array(9), 3, 3), null);
});

test('components are 4-connected', () => {
  const m = Uint8Array.from([1, 0, 1, 0, 1, 0, 1, 0, 1]);
  const { sizes } = connectedComponents(m, 3, 3);
  assert.deepEqual(sizes.slice(1).sort(), [1, 1, 1, 1, 1]);
});

test('the next click goes to the largest error, positive for a miss, negative for a leak', () => {
  const w = 40;
  const gt = rect(w, w, 5, 5, 25, 25);
  const missed = rect(w, w, 5, 5, 25, 12); // the bottom part is missing
  const c = nextErrorClick(missed, gt, w, w)!;
  assert.equal(c.label, 1);
  assert.ok(c.y >= 12 && c.y < 25 && c.x >= 5 && c.x < 25);
  const leaked = gt.slice();
  for (let y = 5; y < 25; y++) for (let x = 25; x < 38; x++) leaked[y * w + x] = 1;
  const d = nextErrorClick(leaked, gt, w, w)!;
  assert.equal(d.label, 0);
  assert.ok(d.x >= 25);
  assert.equal(nextErrorClick(gt, gt, w, w), null);
});

test('random clicks land inside the object', () => {
  const m = rect(30, 30, 10, 10, 12, 20);
  const rng = new Rng(1);
  for (let i = 0; i < 50; i++) {
    const c = randomClickInside(m, 30, 30, rng)!;
    assert.equal(m[c.y * 30 + c.x], 1);
  }
  assert.equal(randomClickInside(new Uint8Array(4), 2, 2, rng), null);
});

test('Dice and IoU', () => {
  const a = Uint8Array.from([1, 1, 0, 0]);
  const b = Uint8Array.from([1, 0, 1, 0]);
  assert.deepEqual(overlap(a, b), { dice: 0.5, iou: 1 / 3 });
  assert.deepEqual(overlap(new Uint8Array(4), new Uint8Array(4)), { dice: 1, iou: 1 });
});
