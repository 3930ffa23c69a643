import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/ir/graph.js';
import * as op from '../../src/ir/ops.js';
import { serializeModel } from '../../src/onnx/serialize.js';
import { openSession, runSession } from '../../src/runtime/session.js';
import { float32 } from '../../src/tensor.js';

test('a built graph loads and runs in onnxruntime', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 4]);
  const w = g.param('w', float32([4, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]));
  const y = op.gelu(op.matmul(x, w));
  const ln = op.layerNorm(y, g.param('s', float32([3], [1, 1, 1])), g.param('b', float32([3], [0, 0, 0])), 1e-5);
  g.output(ln, 'y');
  g.output(op.resizeBilinear(op.reshape(y, [1, 1, -1, 3]), [1, 1, 4, 6]), 'r');
  const s = await openSession(serializeModel(g), { device: 'cpu' });
  const out = await runSession(s, { x: float32([2, 4], [1, 2, 3, 4, 0, 0, 0, 0]) });
  assert.deepEqual(out['y']!.shape, [2, 3]);
  assert.deepEqual(out['r']!.shape, [1, 1, 4, 6]);
});

test('sessions whose threads sleep between runs (spinning off) give the same outputs as spinning ones', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['B', 4]);
  g.output(op.gelu(op.matmul(x, g.param('w', float32([4, 2], [1, 2, 3, 4, 5, 6, 7, 8])))), 'y');
  const bytes = serializeModel(g);
  const feeds = { x: float32([2, 4], [1, -2, 3, 0.5, 0, 1, 0, -1]) };
  // The binding checks the option's form (it refuses config entries that are not strings).
  const asleep = await openSession(bytes, { device: 'cpu', threads: 2, spinning: false });
  const spinning = await openSession(bytes, { device: 'cpu', threads: 2 });
  const a = (await runSession(asleep, feeds))['y']!;
  const b = (await runSession(spinning, feeds))['y']!;
  assert.deepEqual(Array.from(a.data as Float32Array), Array.from(b.data as Float32Array));
});
