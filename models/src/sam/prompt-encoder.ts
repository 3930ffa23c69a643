/**
 * SAM's prompt encoder in the form of its official ONNX export: points (box corners as labels
 * 2/3, padding points as -1) embedded with random Fourier features, and the dense mask embedding
 * switched by has_mask_input.
 */
import type { Graph, Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import { float32 } from '../tensor.js';
import type { ModelConfig } from './config.js';
import { conv2d, embedding, layerNorm2d } from './layers.js';
import type { Param, ParamScope } from './param-scope.js';

export interface PromptEncoder {
  /**
   * Sparse embeddings: coords [B, N, 2] in the encoder's input frame (pixels), labels [B, N]
   * float (-1 padding, 0 negative, 1 positive, 2/3 box corners) -> [B, N, C].
   */
  embedPoints(inputSize: number, coords: Value, labels: Value): Value;
  /** Dense embedding [B, C, E, E]: the downscaled mask prompt when has_mask_input is 1, else no_mask_embed. */
  embedMask(maskInput: Value, hasMaskInput: Value): Value;
  /** The dense embedding without a mask prompt: no_mask_embed on every cell, [batch, C, E, E]. */
  noMask(batch: number, E: number): Value;
  /** Positional encoding of the embedding grid, [1, C, E, E] (a constant once weights are fixed). */
  denseImagePe(g: Graph, E: number): Value;
}

/** The prompt encoder at `s` (prompt_encoder). */
export function promptEncoder(s: ParamScope, c: ModelConfig): PromptEncoder {
  const C = c.prompt_dim;
  const mic = c.mask_in_chans;
  const gaussian = s.param('pe_layer.positional_encoding_gaussian_matrix', [2, C / 2], 'normal', { buffer: true });
  const pointEmbeddings = Array.from({ length: 4 }, (_, i) => embedding(s, `point_embeddings.${i}`, 1, C));
  const notAPoint = embedding(s, 'not_a_point_embed', 1, C);
  const md = 'mask_downscaling';
  const down0 = conv2d(s, `${md}.0`, 1, mic / 4, 2, { strides: [2, 2] });
  const down1 = layerNorm2d(s, `${md}.1`, mic / 4);
  const down3 = conv2d(s, `${md}.3`, mic / 4, mic, 2, { strides: [2, 2] });
  const down4 = layerNorm2d(s, `${md}.4`, mic);
  const down6 = conv2d(s, `${md}.6`, mic, C, 1);
  const noMaskEmbed = embedding(s, 'no_mask_embed', 1, C);

  return {
    embedPoints(inputSize, coords, labels) {
      const g = coords.graph;
      const pe = peEncoding(gaussian, op.divScalar(op.addScalar(coords, 0.5), inputSize));
      const lab = op.unsqueeze(labels, [-1]);
      const is = (v: number) => op.cast(op.equal(lab, op.scalar(g, v)), 'float32');
      let emb = op.mul(pe, op.rsubScalar(1, is(-1)));
      emb = op.add(emb, op.mul(notAPoint.value(), is(-1)));
      pointEmbeddings.forEach((p, i) => {
        emb = op.add(emb, op.mul(p.value(), is(i)));
      });
      return emb;
    },
    embedMask(maskInput, hasMaskInput) {
      let h = down0(maskInput);
      h = op.gelu(down1(h));
      h = down3(h);
      h = op.gelu(down4(h));
      h = down6(h);
      const has = op.reshape(hasMaskInput, [-1, 1, 1, 1]);
      const noMask = op.reshape(noMaskEmbed.value(), [1, C, 1, 1]);
      return op.add(op.mul(has, h), op.mul(op.rsubScalar(1, has), noMask));
    },
    noMask(batch, E) {
      return op.expand(op.reshape(noMaskEmbed.value(), [1, C, 1, 1]), [batch, 1, E, E]);
    },
    denseImagePe(g, E) {
      const grid = float32([E, E, 2]);
      for (let y = 0; y < E; y++) {
        for (let x = 0; x < E; x++) {
          grid.data[(y * E + x) * 2] = (x + 0.5) / E;
          grid.data[(y * E + x) * 2 + 1] = (y + 0.5) / E;
        }
      }
      const pe = peEncoding(gaussian, op.constant(g, grid, 'pe_grid')); // [E, E, C]
      return op.unsqueeze(op.transpose(pe, [2, 0, 1]), [0]);
    },
  };
}

/** Fourier features of coordinates normalised to [0, 1]: [..., 2] -> [..., prompt_dim]. */
function peEncoding(gaussian: Param, coords01: Value): Value {
  const centered = op.subScalar(op.mulScalar(coords01, 2), 1);
  const proj = op.mulScalar(op.matmul(centered, gaussian.value()), 2 * Math.PI);
  return op.concat([op.sin(proj), op.cos(proj)], -1);
}
