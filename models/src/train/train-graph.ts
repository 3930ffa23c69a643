/**
 * The fused train-step graph: forward (encoder with adapters when any encoder weight trains,
 * prompt encoder, mask decoder), the loss, and the backward pass. Trainable parameters are graph
 * inputs, frozen weights initializers; outputs are the loss, every decoder output (low-res masks and
 * predicted IoUs) and one gradient per trainable parameter. With gradients off it is the matching forward graph, used to
 * simulate clicks and to evaluate with the current (not yet exported) parameters.
 */
import { gradients } from '../autodiff/backprop.js';
import { Graph, type Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import { type ModelConfig, embedGrid } from '../sam/config.js';
import { decodeMasks } from '../sam/graphs.js';
import { bindModel } from '../sam/model.js';
import type { Weights } from '../sam/weights.js';
import { type LossOptions, trainingLoss } from './loss.js';

interface TrainGraphOptions {
  config: ModelConfig;
  weights: Weights;
  /** Parameter names to differentiate (inputs of the graph). */
  trainable: string[];
  batch: number;
  /** Prompt points per image, padding point included. */
  points: number;
  inputSize?: number;
  /** Feed a previous low-res mask as a mask prompt. */
  maskInput?: boolean;
  withGradients?: boolean;
  loss?: LossOptions;
  /** The prompts are single clicks: the 'sam' loss trains the best multimask output. */
  multimask?: boolean;
  /**
   * Prompts per image (default 1): the batch holds `batch` images and `batch * targetsPerImage`
   * prompt sets, image b's embedding serving prompts b*T .. b*T+T-1 (as SAM trains several masks
   * per image for one pass of its encoder).
   */
  targetsPerImage?: number;
}

export const GRAD_PREFIX = 'grad.';

/** True when some trainable parameter lives in the image encoder (so the graph needs images). */
export function trainsEncoder(trainable: string[]): boolean {
  return trainable.some((n) => n.startsWith('image_encoder.'));
}

export function buildTrainGraph(o: TrainGraphOptions): Graph {
  const { config: c, batch: B, points: N } = o;
  const S = o.inputSize ?? c.img_size;
  const E = embedGrid(c, S);
  const T = o.targetsPerImage ?? 1;
  if (!Number.isInteger(T) || T < 1) throw new Error(`targetsPerImage must be a positive integer, got ${T}`);
  const P = B * T;
  const g = new Graph({ name: o.withGradients === false ? 'glmedsa_forward' : 'glmedsa_train_step' });
  const model = bindModel(g, c, o.weights);
  const encoderTrains = trainsEncoder(o.trainable);
  // Frozen encoders are run once per image outside the step; their embeddings are the input.
  const imageEmbeddings = encoderTrains
    ? model.imageEncoder(g.input('image', 'float32', [B, 3, S, S]), S)
    : g.input('image_embeddings', 'float32', [B, c.prompt_dim, E, E]);
  const emb =
    T === 1
      ? imageEmbeddings
      : op.reshape(op.expand(op.unsqueeze(imageEmbeddings, [1]), [B, T, c.prompt_dim, E, E]), [P, c.prompt_dim, E, E]);
  const coords = g.input('point_coords', 'float32', [P, N, 2]);
  const labels = g.input('point_labels', 'float32', [P, N]);
  const maskInput = o.maskInput ? g.input('mask_input', 'float32', [P, 1, 4 * E, 4 * E]) : null;
  const hasMask = o.maskInput ? g.input('has_mask_input', 'float32', [P]) : null;
  const { masks, iou } = decodeMasks(model, c, S, emb, coords, labels, maskInput, hasMask);
  g.output(masks, 'low_res_masks');
  g.output(iou, 'iou_predictions');
  const params: Value[] = o.trainable.map((name) => {
    if (g.value(name)) return g.promoteToInput(name);
    // A parameter the forward pass never touches still gets an input (and a zero gradient).
    const t = o.weights.get(name);
    if (!t) throw new Error(`unknown trainable parameter '${name}'`);
    return g.input(name, 'float32', t.shape);
  });
  if (o.withGradients === false) {
    g.prune();
    return g;
  }
  const targets = g.input('targets', 'float32', [P, 1, 4 * E, 4 * E]);
  const { loss, perImage } = trainingLoss(masks, iou, targets, o.multimask ?? false, o.loss);
  g.output(loss, 'loss');
  g.output(perImage, 'loss_per_image');
  gradients(loss, params).forEach((grad, i) => g.output(grad, `${GRAD_PREFIX}${o.trainable[i]}`));
  g.prune();
  return g;
}
