/**
 * The parameter inventory (the builders' declarations) and the forward graphs agree: every
 * declared parameter feeds the encoder or decoder graph, the graphs use no other, and the
 * inventory is exactly the official checkpoints' layout.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCheckpoint } from '../../src/checkpoint/index.js';
import { readFixture } from '../../src/fixture/fixture-format.js';
import type { Graph } from '../../src/ir/graph.js';
import { inferConfigExtras } from '../../src/model/load-checkpoint.js';
import { type ModelConfig, PRESETS, type PresetName, VARIANTS, adapterDim, parseModelConfig, presetConfig } from '../../src/sam/config.js';
import { buildDecoderGraph, buildEncoderGraph } from '../../src/sam/graphs.js';
import { ParamScope } from '../../src/sam/param-scope.js';
import { type ParamSpec, countParameters, parameterSpecs } from '../../src/sam/parameters.js';
import { type Weights, bindWeights } from '../../src/sam/weights.js';
import type { Tensor } from '../../src/tensor.js';
import { fixtureDir } from '../helpers/paths.js';

/**
 * Stand-ins with the declared shapes and no data: graph building reads only shapes, so full-size
 * graphs (vit_h) can be built and inspected without allocating their weights. Never serialised.
 */
function shapeOnlyWeights(specs: ParamSpec[]): Weights {
  return new Map(specs.map((s): [string, Tensor<'float32'>] => [s.name, { dtype: 'float32', shape: s.shape, data: new Float32Array(0) }]));
}

/** The parameters a graph's outputs depend on, with their shapes. */
function usedParameters(g: Graph): Map<string, number[]> {
  g.prune();
  return new Map([...g.params].map((name) => [name, g.value(name)!.staticShape()]));
}

function assertGraphsMatchInventory(config: ModelConfig, weights: Weights, label: string): void {
  const specs = parameterSpecs(config);
  const declared = new Map(specs.map((s) => [s.name, s.shape]));
  assert.equal(declared.size, specs.length, `${label}: a name is declared twice`);
  const encoder = usedParameters(buildEncoderGraph(config, weights));
  const decoder = usedParameters(buildDecoderGraph(config, weights));
  const used = new Map([...encoder, ...decoder]);
  const undeclared = [...used.keys()].filter((k) => !declared.has(k));
  const unused = [...declared.keys()].filter((k) => !used.has(k));
  assert.deepEqual(undeclared, [], `${label}: the graphs use undeclared parameters`);
  assert.deepEqual(unused, [], `${label}: declared parameters that no graph uses`);
  for (const [name, shape] of used) assert.deepEqual(shape, declared.get(name), `${label}: ${name}`);
  // The two graphs split the model: the encoder has the image encoder (and its adapters) alone.
  for (const name of encoder.keys()) assert.ok(name.startsWith('image_encoder.'), `${label}: ${name} in the encoder graph`);
  for (const name of decoder.keys()) assert.ok(!name.startsWith('image_encoder.'), `${label}: ${name} in the decoder graph`);
}

describe('every variant of every preset', () => {
  for (const preset of Object.keys(PRESETS) as PresetName[]) {
    for (const variant of VARIANTS) {
      test(`${preset} ${variant}: the encoder and decoder graphs use exactly the declared parameters`, () => {
        const config = presetConfig(preset, variant);
        assertGraphsMatchInventory(config, shapeOnlyWeights(parameterSpecs(config)), `${preset} ${variant}`);
      });
    }
  }
});

describe('the parity fixtures (checkpoints written by the official PyTorch code)', () => {
  for (const name of ['sam_tiny', 'glmedsa_tiny'] as const) {
    test(`${name}: the inventory is the checkpoint's keys and shapes, and its graphs use all of them`, async () => {
      const dir = fixtureDir(name);
      const dict = await readCheckpoint(path.join(dir, 'weights.safetensors'));
      const config = parseModelConfig(inferConfigExtras((await readFixture(dir)).model, dict));
      const inventory = new Map(parameterSpecs(config).map((s) => [s.name, s.shape]));
      assert.deepEqual([...inventory.keys()].sort(), [...dict.keys()].sort());
      for (const [key, t] of dict) assert.deepEqual(inventory.get(key), t.shape, key);
      const { weights } = bindWeights(config, dict, { initMissingAdapters: false });
      assertGraphsMatchInventory(config, weights, name);
      for (const variant of VARIANTS) {
        const other = parseModelConfig({ ...config, variant });
        assertGraphsMatchInventory(other, shapeOnlyWeights(parameterSpecs(other)), `${name} as ${variant}`);
      }
    });
  }
});

describe('parameter counts', () => {
  test('the presets have the official checkpoints\' parameter counts', () => {
    // sum(p.numel() for p in sam.parameters()) of the released sam_vit_{b,l,h} checkpoints.
    assert.equal(countParameters(presetConfig('vit_b')).total, 93_735_472);
    assert.equal(countParameters(presetConfig('vit_l')).total, 312_342_832);
    assert.equal(countParameters(presetConfig('vit_h')).total, 641_090_608);
  });

  test('adapters add what their definition says, and nothing else changes', () => {
    for (const preset of Object.keys(PRESETS) as PresetName[]) {
      const sam = countParameters(presetConfig(preset, 'sam'));
      for (const variant of VARIANTS) {
        const c = presetConfig(preset, variant);
        const D = c.embed_dim;
        const a = adapterDim(c);
        const perAdapter = D * a + a + a * D + D; // fc1 D -> a, fc2 a -> D, with biases
        const counts = countParameters(c);
        const local = variant === 'medsa' || variant === 'glmedsa' ? 2 * c.depth * perAdapter : 0;
        const global = variant === 'gmedsa' || variant === 'glmedsa' ? c.depth * perAdapter : 0;
        assert.equal(counts.local_adapter, local, `${preset} ${variant} local`);
        assert.equal(counts.global_adapter, global, `${preset} ${variant} global`);
        assert.equal(counts.total, sam.total + local + global, `${preset} ${variant} total`);
        assert.deepEqual([counts.encoder, counts.prompt_encoder, counts.decoder], [sam.encoder, sam.prompt_encoder, sam.decoder]);
      }
    }
  });
});

describe('declaring parameters', () => {
  test('a name declared twice, a layer init without its fan-in, and a parameter outside a group are refused', () => {
    const { scope } = ParamScope.recording();
    const s = scope.child('m', { group: 'decoder' });
    s.param('w', [2], 'ones');
    assert.throws(() => s.param('w', [2], 'ones'), /'m\.w' is declared twice/);
    assert.throws(() => s.param('v', [2, 2], 'linear'), /'m\.v': a linear init needs its fan-in/);
    assert.throws(() => scope.param('x', [1], 'zeros'), /'x' is declared outside a group/);
  });

  test('a recorded parameter has no graph value, and adapters are marked with their prefix', () => {
    const { scope, specs } = ParamScope.recording();
    const a = scope.child('enc', { group: 'encoder' }).child('A', { group: 'local_adapter', adapter: true });
    const p = a.child('fc').param('weight', [3, 2], 'zeros', { fanIn: 2 });
    assert.throws(() => p.value(), /declared for an inventory/);
    assert.deepEqual(specs, [{ name: 'enc.A.fc.weight', shape: [3, 2], group: 'local_adapter', init: 'zeros', fanIn: 2, adapter: 'enc.A' }]);
  });
});
