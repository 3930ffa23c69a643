/** Normalisation and padding against the parity fixtures' `input`. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PIXEL_MEAN, PIXEL_STD, toModelInput, toModelInputBatch } from '../../src/preprocess/normalize.js';
import { FIXTURE_NAMES, get, loadFixture, parityDir } from './fixture-helpers.js';

const root = parityDir();

for (const name of FIXTURE_NAMES) {
  test(`${name}: toModelInput(image_resized) matches input`, () => {
    const f = loadFixture(root, name);
    const resized = get(f.io, 'image_resized', 'uint8');
    const expected = get(f.io, 'input', 'float32');
    const [h, w] = resized.shape as [number, number, number];
    const s = f.json.model.img_size;
    const out = toModelInput({ width: w, height: h, data: resized.data }, s);
    assert.deepEqual(out.shape, expected.shape);
    assert.deepEqual(out.shape, [1, 3, s, s]);
    let maxDiff = 0;
    for (let i = 0; i < out.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out.data[i]! - expected.data[i]!));
    console.log(`${name}: input max |diff| ${maxDiff}`);
    assert.ok(maxDiff <= 1e-5, `max diff ${maxDiff}`);
  });
}

test('toModelInput normalises per channel and zero-pads bottom/right', () => {
  const img = { width: 2, height: 1, data: new Uint8Array([0, 128, 255, 10, 20, 30]) };
  const t = toModelInput(img, 3);
  assert.deepEqual(t.shape, [1, 3, 3, 3]);
  for (let c = 0; c < 3; c++) {
    const plane = t.data.subarray(c * 9, c * 9 + 9);
    for (let x = 0; x < 2; x++) {
      const want = (img.data[x * 3 + c]! - PIXEL_MEAN[c]!) / PIXEL_STD[c]!;
      assert.ok(Math.abs(plane[x]! - want) < 1e-6);
    }
    assert.deepEqual([...plane.subarray(2)], [0, 0, 0, 0, 0, 0, 0]);
  }
});

test('toModelInputBatch stacks images of different sizes', () => {
  const a = { width: 2, height: 2, data: new Uint8Array(12).fill(100) };
  const b = { width: 1, height: 2, data: new Uint8Array(6).fill(200) };
  const t = toModelInputBatch([a, b], 2);
  assert.deepEqual(t.shape, [2, 3, 2, 2]);
  const one = toModelInput(b, 2);
  assert.deepEqual(t.data.subarray(12), one.data);
  assert.throws(() => toModelInput({ width: 3, height: 1, data: new Uint8Array(9) }, 2), /does not fit/);
  assert.throws(() => toModelInputBatch([], 2), /at least one/);
});
