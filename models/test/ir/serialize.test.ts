import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Graph } from '../../src/ir/graph.js';
import * as op from '../../src/ir/ops.js';
import { serializeModel, writeModel } from '../../src/onnx/serialize.js';
import { openSession, runSession } from '../../src/runtime/session.js';
import { float32 } from '../../src/tensor.js';
import { tempDir } from '../helpers/paths.js';

function smallModel(): Graph {
  const g = new Graph();
  const x = g.input('x', 'float32', ['batch', 64]);
  const w = float32([64, 64]);
  for (let i = 0; i < 64; i++) w.data[i * 64 + ((i * 7) % 64)] = 1 + i / 64;
  g.output(op.relu(op.matmul(x, g.param('w', w))), 'y');
  return g;
}

test('external data: tensors go to model.onnx.data and onnxruntime maps them back', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'm.onnx');
  const written = await writeModel(smallModel(), file, { externalData: 'always' });
  assert.ok(written.externalData);
  assert.ok(existsSync(`${file}.data`));
  assert.ok(statSync(file).size < 4096, 'the model file holds no tensor bytes');
  const x = float32([2, 64], Array.from({ length: 128 }, (_, i) => (i % 5) - 2));
  const ext = await runSession(await openSession(file, { device: 'cpu' }), { x });
  const inline = await runSession(await openSession(serializeModel(smallModel()), { device: 'cpu' }), { x });
  assert.deepEqual(ext['y']!.data, inline['y']!.data);
});

test('writing a model without external data removes a stale data file', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'm.onnx');
  await writeModel(smallModel(), file, { externalData: 'always' });
  await writeModel(smallModel(), file, { externalData: 'never' });
  assert.ok(!existsSync(`${file}.data`));
});

test('shape inference follows symbolic batch dimensions through reshapes', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 8, 8, 48]);
  const heads = op.reshape(x, [-1, 64, 3, 16]);
  assert.deepEqual(heads.shape, ['B', 64, 3, 16]);
  const merged = op.reshape(op.transpose(heads, [0, 2, 1, 3]), [-1, 64, 16]);
  assert.deepEqual(merged.shape, ['3*B', 64, 16]);
  assert.deepEqual(op.reshape(merged, [-1, 8, 8, 48]).shape, ['B', 8, 8, 48]);
});

test('shape errors name the operands', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 5]);
  assert.throws(() => op.matmul(a, b), /MatMul: inner dimensions differ: a:float32\[2, 3\] x b:float32\[4, 5\]/);
  assert.throws(() => op.add(a, b), /shapes \[2, 3\] and \[4, 5\] do not broadcast/);
  assert.throws(() => op.reshape(a, [4, 2]), /cannot reshape \[2, 3\]/);
});
