/** Prompt encoding against SAM's rules, for every case of the parity fixtures. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePrompts, validatePrompts } from '../../src/preprocess/prompts.js';
import { FIXTURE_NAMES, get, loadFixture, parityDir } from './fixture-helpers.js';

const root = parityDir();

for (const name of FIXTURE_NAMES) {
  test(`${name}: every case gives SAM's ONNX point_coords/point_labels`, () => {
    const f = loadFixture(root, name);
    const [oldH, oldW] = f.json.original_size_hw;
    const [newH, newW] = f.json.input_size_hw; // from the fixture, not from our preprocessShape
    for (const c of f.json.cases) {
      // the fixture's io tensors hold the same prompts in original pixels
      if (c.points) {
        const pc = get(f.io, `${c.name}.point_coords`, 'float32');
        const pl = get(f.io, `${c.name}.point_labels`, 'int64');
        assert.deepEqual(pc.shape, [c.points.length, 2]);
        c.points.flat().forEach((v, i) => assert.equal(pc.data[i], Math.fround(v)));
        c.labels!.forEach((l, i) => assert.equal(pl.data[i], BigInt(l)));
      }
      if (c.box) {
        const bx = get(f.io, `${c.name}.box`, 'float32');
        c.box.forEach((v, i) => assert.equal(bx.data[i], Math.fround(v)));
      }

      const enc = encodePrompts({ points: c.points, labels: c.labels, box: c.box }, [oldH, oldW], f.json.model.img_size);
      // Expected, from the rules: clicks first, then box corners (2, 3); padding (0,0,-1) only without a box.
      const coords: number[] = [];
      const labels: number[] = [];
      for (const [x, y] of c.points ?? []) coords.push(x * (newW / oldW), y * (newH / oldH));
      labels.push(...(c.labels ?? []));
      if (c.box) {
        const [x1, y1, x2, y2] = c.box;
        coords.push(x1 * (newW / oldW), y1 * (newH / oldH), x2 * (newW / oldW), y2 * (newH / oldH));
        labels.push(2, 3);
      } else {
        coords.push(0, 0);
        labels.push(-1);
      }
      const n = labels.length;
      assert.equal(n, (c.points?.length ?? 0) + (c.box ? 2 : 1), c.name);
      assert.deepEqual(enc.pointCoords.shape, [1, n, 2], c.name);
      assert.deepEqual(enc.pointLabels.shape, [1, n], c.name);
      assert.deepEqual([...enc.pointCoords.data], coords.map((v) => Math.fround(v)), c.name);
      assert.deepEqual([...enc.pointLabels.data], labels, c.name);
    }
  });
}

test('sam_tiny one_point scaled by the known factors', () => {
  // 96x150 -> 82x128: x * 128/150, y * 82/96
  const enc = encodePrompts({ points: [[67.5, 52.8]], labels: [1] }, [96, 150], 128);
  assert.ok(Math.abs(enc.pointCoords.data[0]! - 57.6) < 1e-5);
  assert.ok(Math.abs(enc.pointCoords.data[1]! - 45.1) < 1e-5);
  assert.deepEqual([...enc.pointLabels.data], [1, -1]);
});

test('prompt validation gives clear errors', () => {
  assert.throws(() => validatePrompts({}), /at least one prompt/);
  assert.throws(() => validatePrompts({ points: [], labels: [] }), /at least one prompt/);
  assert.throws(() => validatePrompts({ points: [[1, 2]], labels: [] }), /1 points but 0 labels/);
  assert.throws(() => validatePrompts({ points: [[1, NaN]], labels: [1] }), /finite/);
  assert.throws(() => validatePrompts({ points: [[1, Infinity]], labels: [1] }), /finite/);
  assert.throws(() => validatePrompts({ points: [[1, 2]], labels: [2] }), /label 0 must be 1/);
  assert.throws(() => validatePrompts({ box: [5, 0, 4, 1] }), /x1 <= x2/);
  assert.throws(() => validatePrompts({ box: [0, 5, 4, 1] }), /y1 <= y2/);
  assert.throws(() => validatePrompts({ box: [0, 0, 4, NaN] }), /finite/);
  assert.doesNotThrow(() => validatePrompts({ box: [3, 3, 3, 3] }));
  assert.doesNotThrow(() => validatePrompts({ points: [[0, 0]], labels: [0], box: null }));
});
