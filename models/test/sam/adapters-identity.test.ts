import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { readCheckpoint } from '../../src/checkpoint/index.js';
import { serializeModel } from '../../src/onnx/serialize.js';
import { openSession, runSession } from '../../src/runtime/session.js';
import { VARIANTS, parseModelConfig } from '../../src/sam/config.js';
import { buildDecoderGraph, buildEncoderGraph } from '../../src/sam/graphs.js';
import { bindWeights } from '../../src/sam/weights.js';
import { float32 } from '../../src/tensor.js';
import { fixtureDir } from '../helpers/paths.js';
import { readFixture } from '../../src/fixture/fixture-format.js';

/** Encoder + decoder outputs of a variant built on the plain SAM fixture weights. */
async function outputs(variant: (typeof VARIANTS)[number], fc2 = 0) {
  const dict = await readCheckpoint(path.join(fixtureDir('sam_tiny'), 'weights.safetensors'));
  const fixture = await readFixture(fixtureDir('sam_tiny'));
  const config = parseModelConfig({ ...fixture.model, variant });
  const { weights, initialized } = bindWeights(config, dict, { seed: 5 });
  if (fc2) for (const k of initialized) if (k.includes('D_fc2')) weights.get(k)!.data.fill(fc2);
  const io = await readCheckpoint(path.join(fixtureDir('sam_tiny'), 'io.safetensors'));
  const enc = await openSession(serializeModel(buildEncoderGraph(config, weights)), { device: 'cpu' });
  const emb = (await runSession(enc, { image: io.get('input')! }))['image_embeddings']!;
  const dec = await openSession(serializeModel(buildDecoderGraph(config, weights)), { device: 'cpu' });
  const out = await runSession(dec, {
    image_embeddings: emb,
    point_coords: float32([1, 2, 2], [40, 30, 0, 0]),
    point_labels: float32([1, 2], [1, -1]),
    mask_input: float32([1, 1, 32, 32]),
    has_mask_input: float32([1], [0]),
    orig_im_size: float32([2], [96, 150]),
  });
  return { emb: emb.data as Float32Array, low: out['low_res_masks']!.data as Float32Array, initialized };
}

test('adapted variants with zero fc2 give the base SAM output exactly', async () => {
  const base = await outputs('sam');
  for (const variant of ['medsa', 'gmedsa', 'glmedsa'] as const) {
    const adapted = await outputs(variant);
    assert.ok(adapted.initialized.length > 0, `${variant} should have created adapters`);
    assert.deepEqual(adapted.emb, base.emb, `${variant} embeddings differ from SAM`);
    assert.deepEqual(adapted.low, base.low, `${variant} masks differ from SAM`);
  }
});

test('non-zero adapters change the output (the comparison above can fail)', async () => {
  const base = await outputs('sam');
  const adapted = await outputs('glmedsa', 0.01);
  assert.notDeepEqual(adapted.emb, base.emb);
});
