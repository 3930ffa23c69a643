/** Run-length and bit-packed mask encodings: round trips and the documented conventions. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/random.js';
import { base64ToBytes, bytesToBase64 } from '../../src/preprocess/base64.js';
import { decodeRle, encodeRle, packBits, unpackBits, type RleOrder } from '../../src/preprocess/mask-encoding.js';

/** A seeded generator of uniform numbers in [0, 1). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Random masks with blobs and noise, plus empty and full ones, in odd sizes. */
function masks(): Array<{ w: number; h: number; m: Uint8Array; label: string }> {
  const r = rng(3);
  const out: Array<{ w: number; h: number; m: Uint8Array; label: string }> = [];
  for (const [w, h] of [[1, 1], [1, 7], [7, 1], [3, 5], [13, 11], [64, 48], [101, 37]] as const) {
    out.push({ w, h, m: new Uint8Array(w * h), label: `empty ${w}x${h}` });
    out.push({ w, h, m: new Uint8Array(w * h).fill(1), label: `full ${w}x${h}` });
    const density = r();
    out.push({ w, h, m: Uint8Array.from({ length: w * h }, () => (r() < density ? 1 : 0)), label: `noise ${w}x${h}` });
    const cx = r() * w;
    const cy = r() * h;
    const rad = r() * Math.max(w, h);
    const blob = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) blob[y * w + x] = (x - cx) ** 2 + (y - cy) ** 2 < rad * rad ? 255 : 0;
    out.push({ w, h, m: blob, label: `blob ${w}x${h}` });
  }
  return out;
}

const binary = (m: Uint8Array): number[] => [...m].map((v) => (v ? 1 : 0));

for (const order of ['row-major', 'column-major'] as RleOrder[]) {
  test(`RLE ${order} round trips, starts with a background run, sums to w*h`, () => {
    for (const { w, h, m, label } of masks()) {
      const rle = encodeRle(m, w, h, order);
      assert.equal(rle.order, order);
      assert.deepEqual(rle.size, [h, w]);
      assert.equal(rle.counts.reduce((a, b) => a + b, 0), w * h, label);
      rle.counts.slice(1).forEach((c) => assert.ok(c > 0, `${label}: only the first run may be 0`));
      if (m[0]) assert.equal(rle.counts[0], 0, label);
      assert.deepEqual([...decodeRle(rle)], binary(m), label);
    }
  });
}

test('RLE conventions on a small example', () => {
  // 3 wide, 2 high:  row 0: 0 1 1 / row 1: 1 0 0
  const m = new Uint8Array([0, 1, 1, 1, 0, 0]);
  assert.deepEqual(encodeRle(m, 3, 2).counts, [1, 3, 2]);
  // column-major (COCO): columns (0,1), (1,0), (1,0) -> 0 1 1 0 1 0
  assert.deepEqual(encodeRle(m, 3, 2, 'column-major').counts, [1, 2, 1, 1, 1]);
  assert.deepEqual(encodeRle(new Uint8Array([1, 1]), 2, 1).counts, [0, 2]);
  assert.deepEqual(encodeRle(new Uint8Array([0, 0]), 2, 1).counts, [2]);
  assert.throws(() => decodeRle({ size: [2, 3], counts: [1, 3], order: 'row-major' }), /add up to 4/);
  assert.throws(() => decodeRle({ size: [1, 2], counts: [1, 3], order: 'row-major' }), /more than/);
  assert.throws(() => encodeRle(m, 2, 2), /does not fit/);
});

test('packBits / unpackBits round trip (MSB first, base64)', () => {
  for (const { w, h, m, label } of masks()) {
    const b64 = packBits(m);
    assert.equal(base64ToBytes(b64).length, Math.ceil((w * h) / 8), label);
    assert.deepEqual([...unpackBits(b64, w * h)], binary(m), label);
  }
  // 1 0 0 0 0 0 0 1 | 1 -> 0x81, 0x80
  assert.equal(packBits(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 1, 1])), Buffer.from([0x81, 0x80]).toString('base64'));
  assert.throws(() => unpackBits(packBits(new Uint8Array(9)), 20), /do not hold/);
});

test('base64 matches Node Buffer for all lengths mod 3', () => {
  const r = rng(9);
  for (let n = 0; n < 40; n++) {
    const bytes = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
    const expected = Buffer.from(bytes).toString('base64');
    assert.equal(bytesToBase64(bytes), expected);
    assert.deepEqual(base64ToBytes(expected), bytes);
  }
  const big = Uint8Array.from({ length: 50000 }, (_, i) => (i * 7919) & 255);
  assert.equal(bytesToBase64(big), Buffer.from(big).toString('base64'));
  assert.throws(() => base64ToBytes('ab$d'), /invalid base64/);
});

test('summarizeLogits agrees with thresholding, encodeRle and boundingBox', async () => {
  const { summarizeLogits, encodeRle, boundingBox, maskFromLogits } = await import('../../src/preprocess/index.js');
  for (const [w, h] of [
    [7, 5],
    [1, 1],
    [16, 9],
  ] as const) {
    const logits = Float32Array.from({ length: w * h }, (_, i) => Math.sin(i * 1.7) * 3);
    const mask = maskFromLogits(logits);
    const s = summarizeLogits(logits, w, h);
    assert.deepEqual(s.counts, encodeRle(mask, w, h).counts);
    assert.deepEqual(s.bbox, boundingBox(mask, w, h));
    assert.equal(s.area, mask.reduce((a, b) => a + b, 0));
  }
  const empty = summarizeLogits(new Float32Array(6).fill(-1), 3, 2);
  assert.deepEqual(empty, { counts: [6], bbox: null, area: 0 });
});
