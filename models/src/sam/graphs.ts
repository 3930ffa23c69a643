/**
 * The inference graphs: encoder.onnx (normalised image -> embeddings) and decoder.onnx with the
 * inputs and outputs of SAM's official ONNX decoder export (SamOnnxModel), so tools that know
 * that interface can use ours.
 */
import { Graph, type Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import { type ModelConfig } from './config.js';
import type { DecoderOutputs } from './mask-decoder.js';
import { type SamModel, bindModel } from './model.js';
import type { Weights } from './weights.js';

interface GraphSizeOptions {
  /** Encoder input size in pixels (default: the checkpoint's img_size). */
  inputSize?: number;
}

export const ENCODER_INPUT = 'image';
const ENCODER_OUTPUT = 'image_embeddings';

/** image [B, 3, S, S] (SAM-normalised, zero-padded) -> image_embeddings [B, C, S/p, S/p]. */
export function buildEncoderGraph(c: ModelConfig, weights: Weights, o: GraphSizeOptions = {}): Graph {
  const S = o.inputSize ?? c.img_size;
  const g = new Graph({ name: `glmedsa_${c.variant}_encoder` });
  const model = bindModel(g, c, weights);
  const x = g.input(ENCODER_INPUT, 'float32', ['batch', 3, S, S]);
  g.output(model.imageEncoder(x, S), ENCODER_OUTPUT);
  return g;
}

/**
 * Mask postprocessing as SAM's ONNX export does it: upsample the low-res logits to S x S, crop
 * the resized-image region, resize to orig_im_size (bilinear, align_corners=False throughout).
 */
function postprocessMasks(lowRes: Value, origImSize: Value, S: number): Value {
  const g = lowRes.graph;
  const [n, m] = [lowRes.dim(0), lowRes.dim(1)] as [number, number];
  const up = op.resizeBilinear(lowRes, [n, m, S, S]);
  const scale = op.div(op.scalar(g, S), op.reduceMax(origImSize, [0], true));
  const prepadded = op.cast(op.floor(op.addScalar(op.mul(origImSize, scale), 0.5)), 'int64');
  const cropped = op.dynamicSlice(up, [2, 3], op.ints(g, [0, 0]), prepadded);
  const sizes = op.concat([op.ints(g, [n, m]), op.cast(origImSize, 'int64')], 0);
  return op.resizeBilinear(cropped, sizes);
}

/**
 * decoder.onnx: image_embeddings [1, C, E, E], point_coords [1, N, 2] (encoder-input pixels,
 * padding point included), point_labels [1, N], mask_input [1, 1, 4E, 4E], has_mask_input [1],
 * orig_im_size [2] (h, w) -> masks [1, M, h, w], iou_predictions [1, M], low_res_masks [1, M, 4E, 4E]
 * with M = 1 + num_multimask_outputs (token 0 is the single-mask output, 1.. the multimask ones).
 */
export function buildDecoderGraph(c: ModelConfig, weights: Weights, o: GraphSizeOptions = {}): Graph {
  const S = o.inputSize ?? c.img_size;
  const E = S / c.patch_size;
  const g = new Graph({ name: `glmedsa_${c.variant}_decoder` });
  const model = bindModel(g, c, weights);
  const emb = g.input('image_embeddings', 'float32', [1, c.prompt_dim, E, E]);
  const coords = g.input('point_coords', 'float32', [1, 'num_points', 2]);
  const labels = g.input('point_labels', 'float32', [1, 'num_points']);
  const maskInput = g.input('mask_input', 'float32', [1, 1, 4 * E, 4 * E]);
  const hasMask = g.input('has_mask_input', 'float32', [1]);
  const origSize = g.input('orig_im_size', 'float32', [2]);
  const { masks, iou } = decodeMasks(model, c, S, emb, coords, labels, maskInput, hasMask);
  g.output(postprocessMasks(masks, origSize, S), 'masks');
  g.output(iou, 'iou_predictions');
  g.output(masks, 'low_res_masks');
  return g;
}

/** Prompt encoder + mask decoder on one prompt set per image (shared by inference and training). */
export function decodeMasks(
  model: SamModel,
  c: ModelConfig,
  S: number,
  embeddings: Value,
  coords: Value,
  labels: Value,
  maskInput: Value | null,
  hasMask: Value | null,
): DecoderOutputs {
  const g = coords.graph;
  const E = S / c.patch_size;
  const { promptEncoder, maskDecoder } = model;
  const sparse = g.scoped('prompt', () => promptEncoder.embedPoints(S, coords, labels));
  const batch = coords.dim(0) as number;
  const dense = g.scoped('prompt', () =>
    maskInput && hasMask ? promptEncoder.embedMask(maskInput, hasMask) : promptEncoder.noMask(batch, E),
  );
  const pe = g.scoped('prompt', () => promptEncoder.denseImagePe(g, E));
  return g.scoped('decoder', () => maskDecoder(embeddings, pe, sparse, dense, E));
}
