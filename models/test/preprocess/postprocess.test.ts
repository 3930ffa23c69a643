/** Mask postprocessing against the parity fixtures, and the composed path against the two-step one. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/random.js';
import { float32 } from '../../src/tensor.js';
import { bilinearTaps, interpolateBilinear } from '../../src/preprocess/bilinear.js';
import {
  boundingBox,
  maskFromLogits,
  maskGeometry,
  postprocessMasks,
  upsampleLogitsToOriginal,
  type MaskGeometry,
} from '../../src/preprocess/postprocess.js';
import { FIXTURE_NAMES, get, loadFixture, parityDir } from './fixture-helpers.js';

const root = parityDir();

/** A seeded generator of uniform numbers in [0, 1). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('bilinearTaps: PyTorch align_corners=False, negative sources clamped', () => {
  // 2 -> 4: src = 0.5*(i+0.5)-0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1.25
  const t = bilinearTaps(2, 4);
  assert.deepEqual([...t.index], [0, 1, 0, 1, 0, 1, 1, 1]);
  assert.deepEqual([...t.weight], [1, 0, 0.75, 0.25, 0.25, 0.75, 0.75, 0.25]);
  const out = interpolateBilinear(new Float32Array([0, 10]), 1, 1, 2, 1, 4);
  assert.deepEqual([...out], [0, 2.5, 7.5, 10]);
  // 4 -> 2 (no antialias): src = 2*(i+0.5)-0.5 = 0.5, 2.5
  const d = interpolateBilinear(new Float32Array([0, 1, 2, 3]), 1, 1, 4, 1, 2);
  assert.deepEqual([...d], [0.5, 2.5]);
});

for (const name of FIXTURE_NAMES) {
  test(`${name}: postprocess of low_res_masks reproduces masks`, () => {
    const f = loadFixture(root, name);
    const geometry = maskGeometry(f.json.original_size_hw, f.json.model.img_size);
    assert.deepEqual(geometry.resizedSize, f.json.input_size_hw);
    for (const c of f.json.cases) {
      const low = get(f.io, `${c.name}.low_res_masks`, 'float32');
      const want = get(f.io, `${c.name}.masks`, 'float32');
      const ref = postprocessMasks(low, geometry);
      const fast = upsampleLogitsToOriginal(low, geometry);
      assert.deepEqual(ref.shape, want.shape);
      assert.deepEqual(fast.shape, want.shape);
      const dRef = maxAbsDiff(ref.data, want.data);
      const dFast = maxAbsDiff(fast.data, want.data);
      const dPaths = maxAbsDiff(ref.data, fast.data);
      let same = 0;
      const a = maskFromLogits(fast);
      const b = maskFromLogits(want);
      for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
      const agree = same / a.length;
      console.log(
        `${name}/${c.name}: two-step max |diff| ${dRef.toExponential(2)}, composed ${dFast.toExponential(2)}, ` +
          `paths ${dPaths.toExponential(2)}, sign agreement ${(agree * 100).toFixed(3)}%`,
      );
      assert.ok(dRef <= 1e-4, `two-step ${dRef}`);
      assert.ok(dFast <= 1e-4, `composed ${dFast}`);
      assert.ok(dPaths <= 1e-5, `paths ${dPaths}`);
      assert.ok(agree >= 0.999, `sign agreement ${agree}`);
    }
  });
}

test('upsampleLogitsToOriginal equals the two-step reference within 1e-5 on random logits', () => {
  const r = rng(7);
  const cases: Array<{ low: [number, number]; g: MaskGeometry }> = [
    { low: [16, 16], g: maskGeometry([37, 53], 64) }, // original smaller than S: the second step shrinks
    { low: [16, 16], g: maskGeometry([200, 90], 64) }, // original larger than S: the second step grows
    { low: [8, 8], g: maskGeometry([64, 64], 64) }, // no crop, same size
    { low: [8, 8], g: maskGeometry([10, 300], 32) }, // extreme aspect ratio: h' = 1
    { low: [64, 64], g: maskGeometry([480, 640], 256) },
    { low: [12, 20], g: { inputSize: 40, resizedSize: [30, 40], originalSize: [7, 9] } }, // non-square low-res
  ];
  for (const { low, g } of cases) {
    const m = 3;
    const t = float32([1, m, low[0], low[1]]);
    for (let i = 0; i < t.data.length; i++) t.data[i] = (r() - 0.5) * 40;
    const ref = postprocessMasks(t, g);
    const fast = upsampleLogitsToOriginal(t, g);
    assert.deepEqual(fast.shape, [1, m, g.originalSize[0], g.originalSize[1]]);
    const d = maxAbsDiff(ref.data, fast.data);
    assert.ok(d <= 1e-5, `${JSON.stringify(g)}: ${d}`);
  }
});

test('maskFromLogits thresholds with logit > threshold', () => {
  const logits = new Float32Array([-1, 0, 1e-7, 2, -0]);
  assert.deepEqual([...maskFromLogits(logits)], [0, 0, 1, 1, 0]);
  assert.deepEqual([...maskFromLogits(logits, 1)], [0, 0, 0, 1, 0]);
});

test('boundingBox is inclusive and null when empty', () => {
  const w = 5;
  const h = 4;
  const mask = new Uint8Array(w * h);
  assert.equal(boundingBox(mask, w, h), null);
  mask[1 * w + 3] = 1;
  assert.deepEqual(boundingBox(mask, w, h), { x1: 3, y1: 1, x2: 3, y2: 1 });
  mask[3 * w + 0] = 255;
  assert.deepEqual(boundingBox(mask, w, h), { x1: 0, y1: 1, x2: 3, y2: 3 });
  assert.deepEqual(boundingBox(new Uint8Array(w * h).fill(1), w, h), { x1: 0, y1: 0, x2: 4, y2: 3 });
  assert.throws(() => boundingBox(mask, 3, 3), /does not fit/);
});
