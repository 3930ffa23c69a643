import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS, parseModelConfig, presetConfig } from '../../src/sam/config.js';
import { countParameters, parameterSpecs } from '../../src/sam/parameters.js';

test('presets reproduce the published parameter counts', () => {
  // Segment Anything (Kirillov et al.) and Med-SA (Wu et al.): vit_b 93.7M, vit_h 641M; Med-SA
  // adapters 7.1M on vit_b and 52.5M on vit_h; the mask decoder 4.06M.
  const b = countParameters(presetConfig('vit_b', 'medsa'));
  const h = countParameters(presetConfig('vit_h', 'medsa'));
  assert.equal(Math.round((b.total - b.local_adapter) / 1e5) / 10, 93.7);
  assert.equal(Math.round((h.total - h.local_adapter) / 1e6), 641);
  assert.equal(Math.round(b.local_adapter / 1e5) / 10, 7.1);
  assert.equal(Math.round(h.local_adapter / 1e5) / 10, 52.5);
  assert.equal(Math.round(b.decoder / 1e4) / 100, 4.06);
  assert.equal(b.global_adapter, 0);
});

test('vit_l follows the official layout', () => {
  const specs = new Map(parameterSpecs(presetConfig('vit_l')).map((s) => [s.name, s.shape]));
  assert.deepEqual(specs.get('image_encoder.blocks.5.attn.rel_pos_h'), [127, 64]);
  assert.deepEqual(specs.get('image_encoder.blocks.4.attn.rel_pos_h'), [27, 64]);
  assert.deepEqual(specs.get('image_encoder.blocks.23.mlp.lin1.weight'), [4096, 1024]);
  assert.equal(specs.has('image_encoder.blocks.24.norm1.weight'), false);
  assert.equal(Object.keys(PRESETS).length, 3);
});

test('invalid configs list every problem', () => {
  assert.throws(
    () => parseModelConfig({ ...PRESETS.vit_b, heads: 7, img_size: 1000 }),
    (err: Error) => /img_size must be a multiple of patch_size/.test(err.message) && /divisible by heads/.test(err.message),
  );
  assert.throws(() => parseModelConfig({ ...PRESETS.vit_b, variant: 'foo' }), /variant/);
  assert.throws(() => parseModelConfig({ img_size: 128 }), /embed_dim/);
});
