/** Resize-longest-side against the parity fixtures' `image_resized` (Pillow BILINEAR via torchvision). */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preprocessShape, resizeGray, resizeLongestSide, resizeRgb } from '../../src/preprocess/resize-longest-side.js';
import { bilinearCoefficients } from '../../src/preprocess/pil-resample.js';
import { FIXTURE_NAMES, get, loadFixture, parityDir } from './fixture-helpers.js';

const root = parityDir();

test('preprocessShape follows SAM get_preprocess_shape', () => {
  assert.deepEqual(preprocessShape(96, 150, 128), [82, 128]); // 96 * 128/150 = 81.92
  assert.deepEqual(preprocessShape(140, 100, 128), [128, 91]); // 100 * 128/140 = 91.43
  assert.deepEqual(preprocessShape(480, 640, 1024), [768, 1024]);
  assert.deepEqual(preprocessShape(1000, 1000, 1024), [1024, 1024]);
  assert.deepEqual(preprocessShape(2, 5, 1024), [410, 1024]); // 409.6 -> 410
  assert.deepEqual(preprocessShape(3, 8, 4), [2, 4]); // 1.5 + 0.5 = 2
  assert.throws(() => preprocessShape(0, 5, 1024));
  assert.throws(() => preprocessShape(1, 300, 32), /too elongated/); // 0.107 + 0.5 -> 0
});

test('Pillow bilinear coefficients: identity at scale 1, sums to 1.0 in fixed point', () => {
  const id = bilinearCoefficients(5, 5);
  for (let i = 0; i < 5; i++) {
    const xmin = id.bounds[i * 2]!;
    const len = id.bounds[i * 2 + 1]!;
    let one = -1;
    for (let k = 0; k < len; k++) if (id.weights[i * id.ksize + k] === 1 << 22) one = xmin + k;
    assert.equal(one, i);
  }
  const down = bilinearCoefficients(150, 128);
  for (let i = 0; i < 128; i++) {
    let s = 0;
    for (let k = 0; k < down.ksize; k++) s += down.weights[i * down.ksize + k]!;
    assert.ok(Math.abs(s - (1 << 22)) <= down.ksize, `row ${i} sums to ${s}`);
  }
});

test('resizeRgb of a constant image stays constant; same size is a copy', () => {
  const data = new Uint8Array(7 * 5 * 3).fill(200);
  const img = { width: 7, height: 5, data };
  const up = resizeRgb(img, 13, 11);
  assert.ok(up.data.every((v) => v === 200));
  const down = resizeRgb(img, 2, 3);
  assert.ok(down.data.every((v) => v === 200));
  const same = resizeRgb(img, 5, 7);
  assert.deepEqual(same.data, data);
  assert.notEqual(same.data, data);
});

test('Pillow 2x shrink averages with the stretched triangle (weights 3/7, 3/7, 1/7)', () => {
  // centre 1.0, support 2: taps 0,1,2 with triangle(-0.25), triangle(0.25), triangle(0.75) -> 0.75, 0.75, 0.25
  const out = resizeGray({ width: 4, height: 1, data: new Uint8Array([0, 70, 140, 210]) }, 1, 2);
  assert.deepEqual([...out.data], [50, 160]);
  // enlarging interpolates without antialiasing: 2 -> 4 gives src -0.25, 0.25, 0.75, 1.25 (edges clamp)
  const up = resizeGray({ width: 2, height: 1, data: new Uint8Array([0, 100]) }, 1, 4);
  assert.deepEqual([...up.data], [0, 25, 75, 100]);
});

test('very tall images (height > 100 x width) take the vertical-first path', () => {
  // two identical columns: shrinking them to one column is exact, so the result is the vertical
  // resize of one column (which, being 1 wide, only needs the vertical pass)
  const img = { width: 2, height: 250, data: new Uint8Array(2 * 250 * 3) };
  const col = { width: 1, height: 250, data: new Uint8Array(250 * 3) };
  for (let y = 0; y < 250; y++) {
    for (let i = 0; i < 3; i++) {
      const v = (y * 37 + i * 11) % 256;
      img.data[y * 6 + i] = v;
      img.data[y * 6 + 3 + i] = v;
      col.data[y * 3 + i] = v;
    }
  }
  const out = resizeRgb(img, 25, 1);
  assert.deepEqual([out.height, out.width], [25, 1]);
  assert.deepEqual(out.data, resizeRgb(col, 25, 1).data);
});

for (const name of FIXTURE_NAMES) {
  test(`${name}: resize-longest-side reproduces image_resized`, () => {
    const f = loadFixture(root, name);
    const image = get(f.io, 'image', 'uint8');
    const expected = get(f.io, 'image_resized', 'uint8');
    const [h, w] = image.shape as [number, number, number];
    const out = resizeLongestSide({ width: w, height: h, data: image.data }, f.json.model.img_size);
    assert.deepEqual([out.height, out.width, 3], expected.shape);
    assert.deepEqual([out.height, out.width], f.json.input_size_hw);
    let maxDiff = 0;
    let differing = 0;
    for (let i = 0; i < out.data.length; i++) {
      const d = Math.abs(out.data[i]! - expected.data[i]!);
      if (d > 0) differing++;
      if (d > maxDiff) maxDiff = d;
    }
    console.log(`${name}: image ${h}x${w} -> ${out.height}x${out.width}: max |diff| ${maxDiff}, ${differing}/${out.data.length} values differ`);
    assert.equal(maxDiff, 0, 'bit-exact with Pillow');
    assert.equal(differing, 0);
  });
}
