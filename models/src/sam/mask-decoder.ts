/**
 * SAM's mask decoder: a two-way transformer between prompt tokens and image tokens, transposed-
 * convolution upscaling, per-mask hypernetwork MLPs and the IoU head.
 */
import type { Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import type { ModelConfig } from './config.js';
import { type Forward, embedding, layerNorm, linear, mlp } from './layers.js';
import type { ParamScope } from './param-scope.js';

const DECODER_LN_EPS = 1e-5;
/** Layers of each per-mask hypernetwork MLP (fixed in SAM's MaskDecoder). */
const HYPERNETWORK_DEPTH = 3;

type Attention = (q: Value, k: Value, v: Value) => Value;

/** Attention at `s` with internal width `inner` (downscaled for cross attention); q [B, Nq, C], k/v [B, Nk, C]. */
function attention(s: ParamScope, c: ModelConfig, inner: number): Attention {
  const C = c.prompt_dim;
  const heads = c.decoder_heads;
  const qProj = linear(s, 'q_proj', C, inner);
  const kProj = linear(s, 'k_proj', C, inner);
  const vProj = linear(s, 'v_proj', C, inner);
  const outProj = linear(s, 'out_proj', inner, C);
  const separate = (x: Value) => {
    const width = x.dim(-1) as number;
    return op.transpose(op.reshape(x, [0, 0, heads, width / heads]), [0, 2, 1, 3]);
  };
  return (q, k, v) => {
    const qh = separate(qProj(q));
    const kh = separate(kProj(k));
    const vh = separate(vProj(v));
    const d = qh.dim(-1) as number;
    const attn = op.softmax(op.divScalar(op.matmul(qh, op.transpose(kh, [0, 1, 3, 2])), Math.sqrt(d)), -1);
    const out = op.transpose(op.matmul(attn, vh), [0, 2, 1, 3]);
    return outProj(op.reshape(out, [0, 0, d * heads]));
  };
}

type TwoWayBlock = (queries: Value, keys: Value, queryPe: Value, keyPe: Value) => [Value, Value];

/** One two-way attention block at `s` (transformer.layers.i). */
function twoWayBlock(s: ParamScope, c: ModelConfig, i: number): TwoWayBlock {
  const C = c.prompt_dim;
  const internal = C / c.attention_downsample_rate;
  const selfAttn = attention(s.child('self_attn'), c, C);
  const norm1 = layerNorm(s, 'norm1', C, DECODER_LN_EPS);
  const tokenToImage = attention(s.child('cross_attn_token_to_image'), c, internal);
  const norm2 = layerNorm(s, 'norm2', C, DECODER_LN_EPS);
  const lin1 = linear(s, 'mlp.lin1', C, c.decoder_mlp_dim);
  const lin2 = linear(s, 'mlp.lin2', c.decoder_mlp_dim, C);
  const norm3 = layerNorm(s, 'norm3', C, DECODER_LN_EPS);
  const norm4 = layerNorm(s, 'norm4', C, DECODER_LN_EPS);
  const imageToToken = attention(s.child('cross_attn_image_to_token'), c, internal);

  return (queries, keys, queryPe, keyPe) => {
    if (i === 0) {
      queries = selfAttn(queries, queries, queries);
    } else {
      const q = op.add(queries, queryPe);
      queries = op.add(queries, selfAttn(q, q, queries));
    }
    queries = norm1(queries);

    let q = op.add(queries, queryPe);
    let k = op.add(keys, keyPe);
    queries = op.add(queries, tokenToImage(q, k, keys));
    queries = norm2(queries);

    const hidden = lin2(op.relu(lin1(queries)));
    queries = norm3(op.add(queries, hidden));

    q = op.add(queries, queryPe);
    k = op.add(keys, keyPe);
    keys = op.add(keys, imageToToken(k, q, queries));
    keys = norm4(keys);
    return [queries, keys];
  };
}

/** Two-way transformer at `s`: image [B, C, E, E], pe [1, C, E, E], tokens [B, T, C] -> (tokens, image tokens). */
function twoWayTransformer(s: ParamScope, c: ModelConfig): (image: Value, imagePe: Value, tokens: Value) => [Value, Value] {
  const C = c.prompt_dim;
  const blocks = Array.from({ length: c.decoder_depth }, (_, i) => twoWayBlock(s.child(`layers.${i}`), c, i));
  const finalAttn = attention(s.child('final_attn_token_to_image'), c, C / c.attention_downsample_rate);
  const normFinal = layerNorm(s, 'norm_final_attn', C, DECODER_LN_EPS);

  return (image, imagePe, tokens) => {
    const flat = (x: Value) => op.transpose(op.reshape(x, [0, C, -1]), [0, 2, 1]);
    const keyPe = flat(imagePe);
    let queries = tokens;
    let keys = flat(image);
    blocks.forEach((block, i) => {
      [queries, keys] = image.graph.scoped(`twoway${i}`, () => block(queries, keys, tokens, keyPe));
    });
    const q = op.add(queries, tokens);
    const k = op.add(keys, keyPe);
    queries = op.add(queries, finalAttn(q, k, keys));
    return [normFinal(queries), keys];
  };
}

/**
 * ConvTranspose2d with kernel 2, stride 2 (SAM's output_upscaling) at `name`, on channels-last
 * input [B, H, W, Cin] -> [B, 2H, 2W, Cout]. The kernel does not overlap itself, so it is one
 * MatMul against the weight laid out [Cin, (i, j, Cout)] followed by a pixel shuffle; MatMul is
 * much faster than ConvTranspose on onnxruntime's CPU provider.
 */
function upsample2x(s: ParamScope, name: string, cin: number, cout: number): Forward {
  const fanIn = cout * 2 * 2; // PyTorch's fan-in of a [Cin, Cout, kh, kw] transposed-convolution weight
  const weight = s.param(`${name}.weight`, [cin, cout, 2, 2], 'conv', { fanIn });
  const bias = s.param(`${name}.bias`, [cout], 'conv', { fanIn });
  return (x) => {
    const w = weight.value();
    const [H, W] = [x.dim(1), x.dim(2)] as [number, number];
    const wr = op.reshape(op.transpose(w, [0, 2, 3, 1]), [cin, 4 * cout]);
    const y = op.add(op.matmul(x, wr), op.tile(bias.value(), [4])); // [B, H, W, (i, j, o)]
    const shuffled = op.transpose(op.reshape(y, [0, H, W, 2, 2, cout]), [0, 1, 3, 2, 4, 5]);
    return op.reshape(shuffled, [0, 2 * H, 2 * W, cout]);
  };
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
type MaskDecoder = (image: Value, imagePe: Value, sparse: Value, dense: Value, E: number) => DecoderOutputs;

/** The mask decoder at `s` (mask_decoder). */
export function maskDecoder(s: ParamScope, c: ModelConfig): MaskDecoder {
  const C = c.prompt_dim;
  const nmt = c.num_multimask_outputs + 1;
  const transformer = twoWayTransformer(s.child('transformer'), c);
  const iouTokenEmbed = embedding(s, 'iou_token', 1, C);
  const maskTokensEmbed = embedding(s, 'mask_tokens', nmt, C);
  const up0 = upsample2x(s, 'output_upscaling.0', C, C / 4);
  const upNorm = layerNorm(s, 'output_upscaling.1', C / 4, 1e-6);
  const up3 = upsample2x(s, 'output_upscaling.3', C / 4, C / 8);
  const hypernetworks = Array.from({ length: nmt }, (_, i) =>
    mlp(s.child(`output_hypernetworks_mlps.${i}`), C, C, C / 8, HYPERNETWORK_DEPTH),
  );
  const iouHead = mlp(s.child('iou_prediction_head'), C, c.iou_head_hidden_dim, nmt, c.iou_head_depth);

  return (image, imagePe, sparse, dense, E) => {
    const outputTokens = op.concat([iouTokenEmbed.value(), maskTokensEmbed.value()], 0); // [1+nmt, C]
    const batch = sparse.dim(0);
    if (typeof batch !== 'number') throw new Error('the mask decoder needs a static batch size');
    const expanded = op.expand(op.unsqueeze(outputTokens, [0]), [batch, 1, 1]);
    const tokens = op.concat([expanded, sparse], 1);
    const src = op.add(image, dense);
    const [hs, keys] = transformer(src, imagePe, tokens);

    const iouToken = op.squeeze(op.slice(hs, [1], [0], [1]), [1]); // [B, C]
    const maskTokens = op.slice(hs, [1], [1], [1 + nmt]); // [B, nmt, C]

    // Upscaling stays channels-last: the image tokens are already [B, E*E, C].
    let img = op.reshape(keys, [0, E, E, C]);
    img = op.gelu(upNorm(up0(img)));
    img = op.gelu(up3(img)); // [B, 4E, 4E, C/8]

    const perToken = op.split(maskTokens, Array(nmt).fill(1), 1);
    const hyper = op.concat(
      perToken.map((t, i) => hypernetworks[i]!(t)),
      1,
    ); // [B, nmt, C/8]
    const side = 4 * E;
    const flatImg = op.reshape(img, [0, side * side, C / 8]);
    const perPixel = op.matmul(flatImg, op.transpose(hyper, [0, 2, 1])); // [B, side*side, nmt]
    const masks = op.reshape(op.transpose(perPixel, [0, 2, 1]), [0, nmt, side, side]);
    const iou = iouHead(iouToken);
    return { masks, iou };
  };
}
