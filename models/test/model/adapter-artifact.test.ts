import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { weightsFingerprint } from '../../src/model/fingerprint.js';
import { parseModelConfig } from '../../src/sam/config.js';
import { randomWeights } from '../../src/sam/weights.js';
import { type Tensor, float32 } from '../../src/tensor.js';
import { type AdapterManifest, applyAdapter, readAdapter, writeAdapter } from '../../src/model/adapter-artifact.js';
import { trainableNames } from '../../src/train/trainable.js';
import { tempDir } from '../helpers/paths.js';

const tiny = parseModelConfig({
  img_size: 64, patch_size: 16, embed_dim: 32, depth: 2, heads: 2, window: 2, global_attn_indexes: [1],
  prompt_dim: 32, decoder_heads: 2, decoder_mlp_dim: 64, iou_head_hidden_dim: 32,
});

function manifest(over: Partial<AdapterManifest>, tensors: number): AdapterManifest {
  return {
    format: 'glmedsa-adapter', format_version: 1, name: 'a', variant: 'glmedsa', trainable: 'adapters',
    base: { name: 'base', weights_sha256: 'x' }, tensors, parameters: 0,
    data: { description: 'd', fingerprint: 'f', count: 1 },
    training: { steps: 1, batch: 1, lr: 1e-4, seed: 0, clicks: 1, seconds: 1, final_loss: 0.5, images_per_second: 1 },
    metrics: {}, created_at: new Date().toISOString(), ...over,
  };
}

test('trainable sets follow Med-SA: adapters of the variant plus the whole mask decoder', () => {
  const glm = parseModelConfig({ ...tiny, variant: 'glmedsa' });
  const adapters = trainableNames(glm, 'adapters');
  assert.ok(adapters.every((n) => n.startsWith('mask_decoder.') || /_Adapter\./.test(n)));
  assert.ok(adapters.some((n) => n.includes('Global_Adapter')) && adapters.some((n) => n.includes('Space_Adapter')));
  assert.ok(trainableNames(glm, 'decoder').every((n) => n.startsWith('mask_decoder.')));
  const all = trainableNames(glm, 'all');
  assert.ok(all.includes('image_encoder.pos_embed') && !all.includes('prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'));
});

test('an adapter round-trips and applies only to its own base model', async () => {
  const dir = tempDir();
  const base = randomWeights(tiny, 1);
  const fp = weightsFingerprint(base);
  const glm = parseModelConfig({ ...tiny, variant: 'glmedsa' });
  const trained = randomWeights(glm, 2, { adapterFc2: 'random' });
  const names = trainableNames(glm, 'adapters');
  const tensors = new Map<string, Tensor<'float32'>>(names.map((n) => [n, trained.get(n)!]));
  await writeAdapter(dir, tensors, manifest({ base: { name: 'base', weights_sha256: fp } }, tensors.size));
  const adapter = await readAdapter(dir);
  const { config, weights } = applyAdapter(tiny, base, fp, adapter);
  assert.equal(config.variant, 'glmedsa');
  for (const n of names) assert.deepEqual(weights.get(n)!.data, trained.get(n)!.data);
  assert.deepEqual(weights.get('image_encoder.blocks.0.attn.qkv.weight')!.data, base.get('image_encoder.blocks.0.attn.qkv.weight')!.data);
  assert.throws(() => applyAdapter(tiny, base, 'another', adapter), /was trained on base model base/);
});

test('a damaged adapter folder is refused with a reason', async () => {
  const dir = tempDir();
  const tensors = new Map([['mask_decoder.iou_token.weight', float32([1, 32])]]);
  await writeAdapter(dir, tensors, manifest({}, 1));
  const file = path.join(dir, 'adapter.json');
  const json = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  await fs.writeFile(file, JSON.stringify({ ...json, tensors: 2 }));
  await assert.rejects(readAdapter(dir), /holds 1 tensors, the manifest says 2/);
  await fs.writeFile(file, JSON.stringify({ ...json, variant: 'nope' }));
  await assert.rejects(readAdapter(dir), /not a valid adapter manifest: variant/);
  await assert.rejects(readAdapter(path.join(dir, 'missing')), /is not an adapter folder/);
});
