/**
 * From a checkpoint file and a (possibly partial) config to validated float32 weights. Optional
 * config keys that a fixture or config file leaves out are read off the checkpoint's shapes.
 */
import { type StateDict, readCheckpoint } from '../checkpoint/index.js';
import { type ModelConfig, type ModelConfigInput, parseModelConfig } from '../sam/config.js';
import { type BoundWeights, bindWeights } from '../sam/weights.js';

const count = (dict: StateDict, re: RegExp) => new Set([...dict.keys()].map((k) => re.exec(k)?.[1]).filter(Boolean)).size;

/** Fills optional config keys that `raw` does not set from the tensor shapes in `dict`. */
export function inferConfigExtras(raw: Record<string, unknown>, dict: StateDict): Record<string, unknown> {
  const out = { ...raw };
  const shape = (k: string) => dict.get(k)?.shape;
  const setIfAbsent = (key: string, value: number | undefined) => {
    if (out[key] === undefined && value !== undefined && Number.isFinite(value) && value > 0) out[key] = value;
  };
  setIfAbsent('mask_in_chans', shape('prompt_encoder.mask_downscaling.3.weight')?.[0]);
  setIfAbsent('decoder_depth', count(dict, /^mask_decoder\.transformer\.layers\.(\d+)\./) || undefined);
  const tokens = shape('mask_decoder.mask_tokens.weight')?.[0];
  setIfAbsent('num_multimask_outputs', tokens !== undefined ? tokens - 1 : undefined);
  setIfAbsent('iou_head_depth', count(dict, /^mask_decoder\.iou_prediction_head\.layers\.(\d+)\./) || undefined);
  const lin1 = shape('image_encoder.blocks.0.mlp.lin1.weight');
  if (lin1 && out['mlp_ratio'] === undefined) out['mlp_ratio'] = lin1[0]! / lin1[1]!;
  const k = shape('mask_decoder.transformer.layers.0.cross_attn_token_to_image.k_proj.weight');
  if (k) setIfAbsent('attention_downsample_rate', k[1]! / k[0]!);
  return out;
}

export interface LoadedCheckpoint extends BoundWeights {
  config: ModelConfig;
}

/** Reads a .pth or .safetensors checkpoint and binds it to the config. */
export async function loadCheckpoint(
  file: string,
  rawConfig: ModelConfigInput | Record<string, unknown>,
  options: { seed?: number } = {},
): Promise<LoadedCheckpoint> {
  const dict = await readCheckpoint(file);
  const config = parseModelConfig(inferConfigExtras(rawConfig as Record<string, unknown>, dict));
  const bound = bindWeights(config, dict, { source: file, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  return { config, ...bound };
}
