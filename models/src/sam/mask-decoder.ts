/**
 * SAM's mask decoder: a two-way transformer between prompt tokens and image tokens, transposed-
 * convolution upscaling, per-mask hypernetwork MLPs and the IoU head.
 */
import type { Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import type { ModelConfig } from './config.js';
import { type ModuleContext, layerNorm, linear } from './layers.js';

const MD = 'mask_decoder';
const TF = `${MD}.transformer`;
const DECODER_LN_EPS = 1e-5;

/** Attention with optional downscaled internal width; q [B, Nq, C], k/v [B, Nk, C]. */
function attention(m: ModuleContext, c: ModelConfig, prefix: string, q: Value, k: Value, v: Value): Value {
  const heads = c.decoder_heads;
  const separate = (x: Value) => {
    const inner = x.dim(-1) as number;
    return op.transpose(op.reshape(x, [0, 0, heads, inner / heads]), [0, 2, 1, 3]);
  };
  const qh = separate(linear(m, `${prefix}.q_proj`, q));
  const kh = separate(linear(m, `${prefix}.k_proj`, k));
  const vh = separate(linear(m, `${prefix}.v_proj`, v));
  const d = qh.dim(-1) as number;
  const attn = op.softmax(op.divScalar(op.matmul(qh, op.transpose(kh, [0, 1, 3, 2])), Math.sqrt(d)), -1);
  const out = op.transpose(op.matmul(attn, vh), [0, 2, 1, 3]);
  return linear(m, `${prefix}.out_proj`, op.reshape(out, [0, 0, d * heads]));
}

function twoWayBlock(
  m: ModuleContext,
  c: ModelConfig,
  i: number,
  queries: Value,
  keys: Value,
  queryPe: Value,
  keyPe: Value,
): [Value, Value] {
  const l = `${TF}.layers.${i}`;
  if (i === 0) {
    queries = attention(m, c, `${l}.self_attn`, queries, queries, queries);
  } else {
    const q = op.add(queries, queryPe);
    queries = op.add(queries, attention(m, c, `${l}.self_attn`, q, q, queries));
  }
  queries = layerNorm(m, `${l}.norm1`, queries, DECODER_LN_EPS);

  let q = op.add(queries, queryPe);
  let k = op.add(keys, keyPe);
  queries = op.add(queries, attention(m, c, `${l}.cross_attn_token_to_image`, q, k, keys));
  queries = layerNorm(m, `${l}.norm2`, queries, DECODER_LN_EPS);

  const mlp = linear(m, `${l}.mlp.lin2`, op.relu(linear(m, `${l}.mlp.lin1`, queries)));
  queries = layerNorm(m, `${l}.norm3`, op.add(queries, mlp), DECODER_LN_EPS);

  q = op.add(queries, queryPe);
  k = op.add(keys, keyPe);
  keys = op.add(keys, attention(m, c, `${l}.cross_attn_image_to_token`, k, q, queries));
  keys = layerNorm(m, `${l}.norm4`, keys, DECODER_LN_EPS);
  return [queries, keys];
}

/** Two-way transformer: image [B, C, E, E], pe [1, C, E, E], tokens [B, T, C] -> (tokens, image tokens). */
function twoWayTransformer(m: ModuleContext, c: ModelConfig, image: Value, imagePe: Value, tokens: Value): [Value, Value] {
  const C = c.prompt_dim;
  const flat = (x: Value) => op.transpose(op.reshape(x, [0, C, -1]), [0, 2, 1]);
  const keyPe = flat(imagePe);
  let queries = tokens;
  let keys = flat(image);
  for (let i = 0; i < c.decoder_depth; i++) {
    [queries, keys] = m.g.scoped(`twoway${i}`, () => twoWayBlock(m, c, i, queries, keys, tokens, keyPe));
  }
  const q = op.add(queries, tokens);
  const k = op.add(keys, keyPe);
  queries = op.add(queries, attention(m, c, `${TF}.final_attn_token_to_image`, q, k, keys));
  return [layerNorm(m, `${TF}.norm_final_attn`, queries, DECODER_LN_EPS), keys];
}

/**
 * ConvTranspose2d with kernel 2, stride 2 (SAM's output_upscaling) on channels-last input
 * [B, H, W, Cin] -> [B, 2H, 2W, Cout]. The kernel does not overlap itself, so it is one MatMul
 * against the weight laid out [Cin, (i, j, Cout)] followed by a pixel shuffle; MatMul is much
 * faster than ConvTranspose on onnxruntime's CPU provider.
 */
function upsample2x(m: ModuleContext, prefix: string, x: Value): Value {
  const w = m.p(`${prefix}.weight`);
  const [cin, cout, kh, kw] = w.staticShape() as [number, number, number, number];
  if (kh !== 2 || kw !== 2) throw new Error(`${prefix}: expected a 2x2 transposed convolution, found ${kh}x${kw}`);
  const [H, W] = [x.dim(1), x.dim(2)] as [number, number];
  const wr = op.reshape(op.transpose(w, [0, 2, 3, 1]), [cin, 4 * cout]);
  const y = op.add(op.matmul(x, wr), op.tile(m.p(`${prefix}.bias`), [4])); // [B, H, W, (i, j, o)]
  const shuffled = op.transpose(op.reshape(y, [0, H, W, 2, 2, cout]), [0, 1, 3, 2, 4, 5]);
  return op.reshape(shuffled, [0, 2 * H, 2 * W, cout]);
}

function mlpHead(m: ModuleContext, prefix: string, x: Value, layers: number): Value {
  for (let j = 0; j < layers; j++) {
    x = linear(m, `${prefix}.layers.${j}`, x);
    if (j < layers - 1) x = op.relu(x);
  }
  return x;
}

export interface DecoderOutputs {
  /** Low-resolution mask logits for every mask token, [B, 1 + num_multimask_outputs, 4E, 4E]. */
  masks: Value;
  /** Predicted IoU per mask token, [B, 1 + num_multimask_outputs]. */
  iou: Value;
}

/**
 * predict_masks: image embeddings [B, C, E, E] (one prompt set per image), image_pe [1, C, E, E],
 * sparse [B, N, C], dense [B, C, E, E].
 */
export function maskDecoder(
  m: ModuleContext,
  c: ModelConfig,
  image: Value,
  imagePe: Value,
  sparse: Value,
  dense: Value,
  E: number,
): DecoderOutputs {
  const C = c.prompt_dim;
  const nmt = c.num_multimask_outputs + 1;
  const outputTokens = op.concat([m.p(`${MD}.iou_token.weight`), m.p(`${MD}.mask_tokens.weight`)], 0); // [1+nmt, C]
  const batch = sparse.dim(0);
  if (typeof batch !== 'number') throw new Error('the mask decoder needs a static batch size');
  const expanded = op.expand(op.unsqueeze(outputTokens, [0]), [batch, 1, 1]);
  const tokens = op.concat([expanded, sparse], 1);
  const src = op.add(image, dense);
  const [hs, keys] = twoWayTransformer(m, c, src, imagePe, tokens);

  const iouToken = op.squeeze(op.slice(hs, [1], [0], [1]), [1]); // [B, C]
  const maskTokens = op.slice(hs, [1], [1], [1 + nmt]); // [B, nmt, C]

  // Upscaling stays channels-last: the image tokens are already [B, E*E, C].
  const up = `${MD}.output_upscaling`;
  let img = op.reshape(keys, [0, E, E, C]);
  img = op.gelu(layerNorm(m, `${up}.1`, upsample2x(m, `${up}.0`, img), 1e-6));
  img = op.gelu(upsample2x(m, `${up}.3`, img)); // [B, 4E, 4E, C/8]

  const perToken = op.split(maskTokens, Array(nmt).fill(1), 1);
  const hyper = op.concat(
    perToken.map((t, i) => mlpHead(m, `${MD}.output_hypernetworks_mlps.${i}`, t, 3)),
    1,
  ); // [B, nmt, C/8]
  const side = 4 * E;
  const flatImg = op.reshape(img, [0, side * side, C / 8]);
  const perPixel = op.matmul(flatImg, op.transpose(hyper, [0, 2, 1])); // [B, side*side, nmt]
  const masks = op.reshape(op.transpose(perPixel, [0, 2, 1]), [0, nmt, side, side]);
  const iou = mlpHead(m, `${MD}.iou_prediction_head`, iouToken, c.iou_head_depth);
  return { masks, iou };
}
