/**
 * The parameter inventory of a model, derived from its config: every checkpoint key with its
 * shape, grouped. Used to validate checkpoints, to create fresh weights, and to count parameters.
 */
import { type ModelConfig, adapterDim, embedGrid, hasGlobalAdapter, hasLocalAdapters } from './config.js';

export type ParamGroup = 'encoder' | 'local_adapter' | 'global_adapter' | 'prompt_encoder' | 'decoder';

export interface ParamSpec {
  name: string;
  shape: number[];
  group: ParamGroup;
  /** How fresh weights start (checkpoints normally provide them). */
  init: 'zeros' | 'ones' | 'normal' | 'linear' | 'conv' | 'trunc_normal';
  /** A registered buffer (in the state dict, never trained, not counted as a parameter). */
  buffer?: boolean;
}

export const ADAPTER_NAMES = { space: 'Space_Adapter', mlp: 'MLP_Adapter', global: 'Global_Adapter' } as const;

export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], group: ParamGroup, init: ParamSpec['init'], buffer = false) =>
    specs.push({ name, shape, group, init, ...(buffer ? { buffer } : {}) });
  const linear = (prefix: string, out: number, inp: number, group: ParamGroup, bias = true) => {
    add(`${prefix}.weight`, [out, inp], group, 'linear');
    if (bias) add(`${prefix}.bias`, [out], group, 'linear');
  };
  const norm = (prefix: string, n: number, group: ParamGroup) => {
    add(`${prefix}.weight`, [n], group, 'ones');
    add(`${prefix}.bias`, [n], group, 'zeros');
  };

  // Image encoder.
  const D = c.embed_dim;
  const E0 = embedGrid(c);
  const hd = D / c.heads;
  const mlp = Math.floor(D * c.mlp_ratio);
  const ad = adapterDim(c);
  add('image_encoder.patch_embed.proj.weight', [D, 3, c.patch_size, c.patch_size], 'encoder', 'conv');
  add('image_encoder.patch_embed.proj.bias', [D], 'encoder', 'conv');
  add('image_encoder.pos_embed', [1, E0, E0, D], 'encoder', 'trunc_normal');
  for (let i = 0; i < c.depth; i++) {
    const b = `image_encoder.blocks.${i}`;
    const size = c.global_attn_indexes.includes(i) || c.window === 0 ? E0 : c.window;
    norm(`${b}.norm1`, D, 'encoder');
    linear(`${b}.attn.qkv`, 3 * D, D, 'encoder');
    linear(`${b}.attn.proj`, D, D, 'encoder');
    add(`${b}.attn.rel_pos_h`, [2 * size - 1, hd], 'encoder', 'trunc_normal');
    add(`${b}.attn.rel_pos_w`, [2 * size - 1, hd], 'encoder', 'trunc_normal');
    norm(`${b}.norm2`, D, 'encoder');
    linear(`${b}.mlp.lin1`, mlp, D, 'encoder');
    linear(`${b}.mlp.lin2`, D, mlp, 'encoder');
    const adapter = (kind: keyof typeof ADAPTER_NAMES, group: ParamGroup) => {
      const p = `${b}.${ADAPTER_NAMES[kind]}`;
      linear(`${p}.D_fc1`, ad, D, group);
      add(`${p}.D_fc2.weight`, [D, ad], group, 'zeros');
      add(`${p}.D_fc2.bias`, [D], group, 'zeros');
    };
    if (hasLocalAdapters(c.variant)) {
      adapter('space', 'local_adapter');
      adapter('mlp', 'local_adapter');
    }
    if (hasGlobalAdapter(c.variant)) adapter('global', 'global_adapter');
  }
  const C = c.prompt_dim;
  add('image_encoder.neck.0.weight', [C, D, 1, 1], 'encoder', 'conv');
  norm('image_encoder.neck.1', C, 'encoder');
  add('image_encoder.neck.2.weight', [C, C, 3, 3], 'encoder', 'conv');
  norm('image_encoder.neck.3', C, 'encoder');

  // Prompt encoder.
  const mic = c.mask_in_chans;
  add('prompt_encoder.pe_layer.positional_encoding_gaussian_matrix', [2, C / 2], 'prompt_encoder', 'normal', true);
  for (let i = 0; i < 4; i++) add(`prompt_encoder.point_embeddings.${i}.weight`, [1, C], 'prompt_encoder', 'normal');
  add('prompt_encoder.not_a_point_embed.weight', [1, C], 'prompt_encoder', 'normal');
  add('prompt_encoder.mask_downscaling.0.weight', [mic / 4, 1, 2, 2], 'prompt_encoder', 'conv');
  add('prompt_encoder.mask_downscaling.0.bias', [mic / 4], 'prompt_encoder', 'conv');
  norm('prompt_encoder.mask_downscaling.1', mic / 4, 'prompt_encoder');
  add('prompt_encoder.mask_downscaling.3.weight', [mic, mic / 4, 2, 2], 'prompt_encoder', 'conv');
  add('prompt_encoder.mask_downscaling.3.bias', [mic], 'prompt_encoder', 'conv');
  norm('prompt_encoder.mask_downscaling.4', mic, 'prompt_encoder');
  add('prompt_encoder.mask_downscaling.6.weight', [C, mic, 1, 1], 'prompt_encoder', 'conv');
  add('prompt_encoder.mask_downscaling.6.bias', [C], 'prompt_encoder', 'conv');
  add('prompt_encoder.no_mask_embed.weight', [1, C], 'prompt_encoder', 'normal');

  // Mask decoder.
  const internal = C / c.attention_downsample_rate;
  const attention = (p: string, inner: number) => {
    linear(`${p}.q_proj`, inner, C, 'decoder');
    linear(`${p}.k_proj`, inner, C, 'decoder');
    linear(`${p}.v_proj`, inner, C, 'decoder');
    linear(`${p}.out_proj`, C, inner, 'decoder');
  };
  const t = 'mask_decoder.transformer';
  for (let i = 0; i < c.decoder_depth; i++) {
    const l = `${t}.layers.${i}`;
    attention(`${l}.self_attn`, C);
    norm(`${l}.norm1`, C, 'decoder');
    attention(`${l}.cross_attn_token_to_image`, internal);
    norm(`${l}.norm2`, C, 'decoder');
    linear(`${l}.mlp.lin1`, c.decoder_mlp_dim, C, 'decoder');
    linear(`${l}.mlp.lin2`, C, c.decoder_mlp_dim, 'decoder');
    norm(`${l}.norm3`, C, 'decoder');
    norm(`${l}.norm4`, C, 'decoder');
    attention(`${l}.cross_attn_image_to_token`, internal);
  }
  attention(`${t}.final_attn_token_to_image`, internal);
  norm(`${t}.norm_final_attn`, C, 'decoder');
  const nmt = c.num_multimask_outputs + 1;
  add('mask_decoder.iou_token.weight', [1, C], 'decoder', 'normal');
  add('mask_decoder.mask_tokens.weight', [nmt, C], 'decoder', 'normal');
  add('mask_decoder.output_upscaling.0.weight', [C, C / 4, 2, 2], 'decoder', 'conv');
  add('mask_decoder.output_upscaling.0.bias', [C / 4], 'decoder', 'conv');
  norm('mask_decoder.output_upscaling.1', C / 4, 'decoder');
  add('mask_decoder.output_upscaling.3.weight', [C / 4, C / 8, 2, 2], 'decoder', 'conv');
  add('mask_decoder.output_upscaling.3.bias', [C / 8], 'decoder', 'conv');
  const mlpHead = (p: string, hidden: number, out: number, layers: number) => {
    for (let j = 0; j < layers; j++) {
      linear(`${p}.layers.${j}`, j === layers - 1 ? out : hidden, j === 0 ? C : hidden, 'decoder');
    }
  };
  for (let i = 0; i < nmt; i++) mlpHead(`mask_decoder.output_hypernetworks_mlps.${i}`, C, C / 8, 3);
  mlpHead('mask_decoder.iou_prediction_head', c.iou_head_hidden_dim, nmt, c.iou_head_depth);
  return specs;
}

export interface ParameterCounts {
  total: number;
  encoder: number;
  local_adapter: number;
  global_adapter: number;
  prompt_encoder: number;
  decoder: number;
}

export function countParameters(c: ModelConfig): ParameterCounts {
  const counts: ParameterCounts = { total: 0, encoder: 0, local_adapter: 0, global_adapter: 0, prompt_encoder: 0, decoder: 0 };
  for (const s of parameterSpecs(c)) {
    if (s.buffer) continue;
    const n = s.shape.reduce((a, b) => a * b, 1);
    counts[s.group] += n;
    counts.total += n;
  }
  return counts;
}
