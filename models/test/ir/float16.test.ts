import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FLOAT32_OPS, convertToFloat16 } from '../../src/ir/float16.js';
import { Graph, type Value } from '../../src/ir/graph.js';
import * as op from '../../src/ir/ops.js';
import { decoderGraph, encoderGraph } from '../../src/model/inference-graphs.js';
import { serializeModel } from '../../src/onnx/serialize.js';
import { openSession, runSession } from '../../src/runtime/session.js';
import { parseModelConfig } from '../../src/sam/config.js';
import { randomWeights } from '../../src/sam/weights.js';
import { float32, toFloat32 } from '../../src/tensor.js';
import { halfBits, toFloat16 } from '../../src/util/half-float.js';
import { Rng } from '../../src/util/random.js';
import { fixtureDir } from '../helpers/paths.js';

/** Every finite half, the midpoints between neighbours (ties), points just off them, and random floats. */
function probeValues(): Float32Array {
  const values: number[] = [];
  const halves = new Uint16Array(1);
  const asFloat = (h: number) => {
    halves[0] = h;
    return toFloat32({ dtype: 'float16', shape: [1], data: halves }).data[0]!;
  };
  for (let h = 0; h < 0x7bff; h++) {
    const a = asFloat(h);
    const b = asFloat(h + 1);
    const mid = (a + b) / 2;
    values.push(a, -a, mid, -mid, mid + (b - a) / 8, mid - (b - a) / 8);
  }
  const rng = new Rng(3);
  for (let i = 0; i < 20000; i++) values.push((rng.next() * 2 - 1) * 2 ** Math.floor(rng.next() * 40 - 26));
  return Float32Array.from(values);
}

describe('float32 -> float16 conversion', () => {
  test('rounds exactly as onnxruntime Cast does, ties to even, subnormals included', async () => {
    const values = probeValues();
    const g = new Graph();
    g.output(op.cast(g.input('x', 'float32', [values.length]), 'float16'), 'y');
    const s = await openSession(serializeModel(g), { device: 'cpu' });
    const ort = (await runSession(s, { x: float32([values.length], values) }))['y']!;
    assert.equal(ort.dtype, 'float16');
    const ours = toFloat16(float32([values.length], values)).data;
    const ref = ort.data as Uint16Array;
    let mismatches = 0;
    let first = -1;
    for (let i = 0; i < values.length; i++) {
      if (ours[i] !== ref[i]) {
        mismatches++;
        if (first < 0) first = i;
      }
    }
    assert.equal(mismatches, 0, `first mismatch at ${values[first]}: ours 0x${ours[first]?.toString(16)}, onnxruntime 0x${ref[first]?.toString(16)}`);
  });

  test('finite values beyond the half range saturate; infinities and NaN stay what they are', () => {
    assert.equal(halfBits(65504), 0x7bff);
    assert.equal(halfBits(1e6), 0x7bff);
    assert.equal(halfBits(-7e4), 0xfbff);
    assert.equal(halfBits(Infinity), 0x7c00);
    assert.equal(halfBits(-Infinity), 0xfc00);
    assert.ok(Number.isNaN(toFloat32({ dtype: 'float16', shape: [1], data: Uint16Array.of(halfBits(NaN)) }).data[0]));
  });
});

const tinyConfig = () =>
  parseModelConfig((JSON.parse(readFileSync(path.join(fixtureDir('glmedsa_tiny'), 'fixture.json'), 'utf8')) as { model: unknown }).model);

/** The dtypes of a node's floating-point inputs. */
const floatInputs = (inputs: (Value | null)[]) => inputs.filter((v): v is Value => !!v && (v.dtype === 'float32' || v.dtype === 'float16'));

describe('the float16 pass', () => {
  const config = tinyConfig();
  const weights = randomWeights(config, 5);
  const S = config.img_size;

  test('the encoder keeps float32 edges and computes in float16, with normalisation and softmax in float32', () => {
    const g = encoderGraph(config, weights, { inputSize: S, dtype: 'float16' });
    assert.deepEqual(g.inputs.map((v) => [v.name, v.dtype]), [['image', 'float32']]);
    assert.deepEqual(g.outputs.map((v) => [v.name, v.dtype]), [['image_embeddings', 'float32']]);
    const byType = (t: string) => g.nodes.filter((n) => n.opType === t);
    for (const t of ['MatMul', 'Conv', 'Gelu']) {
      const nodes = byType(t);
      assert.ok(nodes.length > 0, t);
      // MatMuls of weight-only arithmetic (position tables resized by constant matrices) may stay float32.
      const half = nodes.filter((n) => n.outputs[0]!.dtype === 'float16').length;
      assert.ok(half >= (t === 'MatMul' ? 0.9 : 1) * nodes.length, `${t}: ${half} of ${nodes.length} in float16`);
    }
    for (const t of FLOAT32_OPS) {
      for (const n of byType(t)) assert.ok(floatInputs(n.inputs).every((v) => v.dtype === 'float32'), `${n.name} computes in float32`);
    }
    assert.ok(byType('LayerNormalization').length > 0 && byType('Softmax').length > 0);
    // Weights feeding float16 nodes are stored in float16; LayerNorm's own scale and bias stay float32.
    for (const n of byType('MatMul').filter((m) => m.outputs[0]!.dtype === 'float16')) {
      for (const v of n.inputs) if (v && g.params.has(v.name)) assert.equal(v.dtype, 'float16', v.name);
    }
    for (const n of byType('LayerNormalization')) assert.equal(n.inputs[1]!.dtype, 'float32');
  });

  test('the decoder keeps float32 edges, and the image-size arithmetic that becomes crop sizes stays float32', () => {
    const g32 = decoderGraph(config, weights, { inputSize: S });
    const g = decoderGraph(config, weights, { inputSize: S, dtype: 'float16' });
    assert.deepEqual(g.inputs.map((v) => [v.name, v.dtype]), g32.inputs.map((v) => [v.name, v.dtype]));
    assert.deepEqual(g.outputs.map((v) => [v.name, v.dtype]), g32.outputs.map((v) => [v.name, v.dtype]));
    for (const n of g.nodes.filter((m) => m.opType === 'Floor' || m.opType === 'ReduceMax')) {
      assert.ok(floatInputs(n.inputs).every((v) => v.dtype === 'float32'), n.name);
    }
    const resizes = g.nodes.filter((n) => n.opType === 'Resize');
    assert.ok(resizes.length > 0 && resizes.every((n) => n.outputs[0]!.dtype === 'float16'), 'mask upsampling in float16');
    const halfMatMuls = g.nodes.filter((n) => n.opType === 'MatMul' && n.outputs[0]!.dtype === 'float16');
    assert.ok(halfMatMuls.length > g.nodes.filter((n) => n.opType === 'MatMul').length / 2);
  });

  test('a float16 graph loads in onnxruntime and answers float32, close to the float32 graph', async () => {
    const image = float32([1, 3, S, S]);
    for (let i = 0; i < image.data.length; i++) image.data[i] = Math.sin(i * 0.01) * 2;
    const run = async (dtype: 'float32' | 'float16') => {
      const s = await openSession(serializeModel(encoderGraph(config, weights, { inputSize: S, dtype })), { device: 'cpu' });
      return (await runSession(s, { image }))['image_embeddings']!;
    };
    const [a, b] = [await run('float32'), await run('float16')];
    assert.equal(b.dtype, 'float32');
    assert.deepEqual(b.shape, a.shape);
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < a.data.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((a.data[i] as number) - (b.data[i] as number)));
      maxAbs = Math.max(maxAbs, Math.abs(a.data[i] as number));
    }
    assert.ok(maxDiff > 0, 'the float16 graph rounds (it is not the float32 graph)');
    assert.ok(maxDiff < 1e-2 * maxAbs, `max difference ${maxDiff} against values up to ${maxAbs}`);
  });

  test('refuses a half input the graph does not have', () => {
    const g = encoderGraph(config, weights, { inputSize: S });
    assert.throws(() => convertToFloat16(g, { halfInputs: ['pixels'] }), /'pixels' is not a float32 input/);
  });
});
