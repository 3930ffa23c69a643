import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseModelConfig } from '../../src/sam/config.js';
import { CheckpointMismatchError, bindWeights, randomWeights } from '../../src/sam/weights.js';
import { type Tensor, float32 } from '../../src/tensor.js';

const tiny = parseModelConfig({
  img_size: 64, patch_size: 16, embed_dim: 32, depth: 2, heads: 2, window: 2, global_attn_indexes: [1],
  prompt_dim: 32, decoder_heads: 2, decoder_mlp_dim: 64, iou_head_hidden_dim: 32,
});

test('extra keys are named, with a hint when they are another variant\'s adapters', () => {
  const dict = new Map<string, Tensor>(randomWeights(parseModelConfig({ ...tiny, variant: 'medsa' }), 1));
  dict.set('image_encoder.blocks.0.Depth_Adapter.D_fc1.weight', float32([8, 32]));
  assert.throws(
    () => bindWeights(tiny, dict, { source: 'medsa.pth' }),
    (e: Error) =>
      e instanceof CheckpointMismatchError &&
      /^medsa\.pth does not fit the sam model/.test(e.message) &&
      /unexpected keys: .*Space_Adapter/.test(e.message) &&
      /choose a variant with those adapters/.test(e.message),
  );
});

test('an adapter with some of its tensors missing is an error, not a fresh adapter', () => {
  const glm = parseModelConfig({ ...tiny, variant: 'glmedsa' });
  const dict = new Map<string, Tensor>(randomWeights(glm, 1));
  dict.delete('image_encoder.blocks.1.Global_Adapter.D_fc2.weight');
  assert.throws(() => bindWeights(glm, dict), /missing keys: image_encoder\.blocks\.1\.Global_Adapter\.D_fc2\.weight/);
});

test('float16 and bfloat16 checkpoints are converted; other dtypes are refused by key', () => {
  const dict = new Map<string, Tensor>(randomWeights(tiny, 1));
  dict.set('mask_decoder.iou_token.weight', { dtype: 'float16', shape: [1, 32], data: new Uint16Array(32).fill(0x3c00) });
  const { weights } = bindWeights(tiny, dict);
  assert.equal(weights.get('mask_decoder.iou_token.weight')!.data[0], 1);
  dict.set('mask_decoder.iou_token.weight', { dtype: 'int64', shape: [1, 32], data: new BigInt64Array(32) });
  assert.throws(() => bindWeights(tiny, dict), /mask_decoder\.iou_token\.weight: cannot convert a int64 tensor/);
});
