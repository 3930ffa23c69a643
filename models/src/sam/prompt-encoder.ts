/**
 * SAM's prompt encoder in the form of its official ONNX export: points (box corners as labels
 * 2/3, padding points as -1) embedded with random Fourier features, and the dense mask embedding
 * switched by has_mask_input.
 */
import type { Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import { float32 } from '../tensor.js';
import type { ModelConfig } from './config.js';
import { type ModuleContext, layerNorm2d } from './layers.js';

const PE = 'prompt_encoder';

/** Fourier features of coordinates normalised to [0, 1]: [..., 2] -> [..., prompt_dim]. */
function peEncoding(m: ModuleContext, coords01: Value): Value {
  const centered = op.subScalar(op.mulScalar(coords01, 2), 1);
  const proj = op.mulScalar(op.matmul(centered, m.p(`${PE}.pe_layer.positional_encoding_gaussian_matrix`)), 2 * Math.PI);
  return op.concat([op.sin(proj), op.cos(proj)], -1);
}

/**
 * Sparse embeddings: coords [B, N, 2] in the encoder's input frame (pixels), labels [B, N]
 * float (-1 padding, 0 negative, 1 positive, 2/3 box corners) -> [B, N, C].
 */
export function embedPoints(m: ModuleContext, inputSize: number, coords: Value, labels: Value): Value {
  const g = m.g;
  const pe = peEncoding(m, op.divScalar(op.addScalar(coords, 0.5), inputSize));
  const lab = op.unsqueeze(labels, [-1]);
  const is = (v: number) => op.cast(op.equal(lab, op.scalar(g, v)), 'float32');
  let emb = op.mul(pe, op.rsubScalar(1, is(-1)));
  emb = op.add(emb, op.mul(m.p(`${PE}.not_a_point_embed.weight`), is(-1)));
  for (let i = 0; i < 4; i++) emb = op.add(emb, op.mul(m.p(`${PE}.point_embeddings.${i}.weight`), is(i)));
  return emb;
}

/** Dense embedding [B, C, E, E]: the downscaled mask prompt when has_mask_input is 1, else no_mask_embed. */
export function embedMask(m: ModuleContext, c: ModelConfig, maskInput: Value, hasMaskInput: Value): Value {
  const md = `${PE}.mask_downscaling`;
  let h = op.conv(maskInput, m.p(`${md}.0.weight`), m.p(`${md}.0.bias`), { strides: [2, 2] });
  h = op.gelu(layerNorm2d(m, `${md}.1`, h));
  h = op.conv(h, m.p(`${md}.3.weight`), m.p(`${md}.3.bias`), { strides: [2, 2] });
  h = op.gelu(layerNorm2d(m, `${md}.4`, h));
  h = op.conv(h, m.p(`${md}.6.weight`), m.p(`${md}.6.bias`));
  const has = op.reshape(hasMaskInput, [-1, 1, 1, 1]);
  const noMask = op.reshape(m.p(`${PE}.no_mask_embed.weight`), [1, c.prompt_dim, 1, 1]);
  return op.add(op.mul(has, h), op.mul(op.rsubScalar(1, has), noMask));
}

/** Positional encoding of the embedding grid, [1, C, E, E] (a constant once weights are fixed). */
export function denseImagePe(m: ModuleContext, E: number): Value {
  const grid = float32([E, E, 2]);
  for (let y = 0; y < E; y++) {
    for (let x = 0; x < E; x++) {
      grid.data[(y * E + x) * 2] = (x + 0.5) / E;
      grid.data[(y * E + x) * 2 + 1] = (y + 0.5) / E;
    }
  }
  const pe = peEncoding(m, op.constant(m.g, grid, 'pe_grid')); // [E, E, C]
  return op.unsqueeze(op.transpose(pe, [2, 0, 1]), [0]);
}
