/**
 * Training losses, in-graph. The per-mask loss is the recipe's (docs/architecture.md, "Training
 * recipe"): BCE-with-logits (pos_weight 2, mean over pixels) plus soft Dice. Two recipes use it:
 * - 'medsa': the single-mask output (token 0) only, as Med-SA trains (and as the parity
 *   fixture's gradients are defined);
 * - 'sam': as SAM trains its decoder. With one click (ambiguous) the best of the three
 *   multimask outputs takes the loss (and the single-mask output too); with more clicks the
 *   single-mask output does; and the IoU head learns the actual IoU of every output (MSE), so its
 *   scores can choose among candidates.
 */
import type { Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import type { LOSS_KINDS } from '../model/adapter-artifact.js';

type LossKind = (typeof LOSS_KINDS)[number];

export interface LossOptions {
  kind?: LossKind;
  posWeight?: number;
  /** Weight of the IoU-prediction MSE ('sam' only, default 1). */
  iouWeight?: number;
  /**
   * 'sam' with one click: the single-mask output learns the click's target too (default true, so
   * fine-tuning runs with single clicks train it). Pre-training turns it off, as SAM trains: an
   * ambiguous click trains only the best of the three candidates.
   */
  singleOutputOnClicks?: boolean;
}

interface SegmentationLoss {
  /** Scalar mean over images. */
  loss: Value;
  /** [B] loss per image. */
  perImage: Value;
}

/** log(1 + exp(z)) without overflow: relu(z) + log(1 + exp(-|z|)). */
function softplus(z: Value): Value {
  return op.add(op.relu(z), op.log(op.addScalar(op.exp(op.neg(op.abs(z))), 1)));
}

/** BCE + soft Dice of logits [B, M, H, W] against targets [B, 1, H, W] in {0, 1}: [B, M]. */
function maskLoss(logits: Value, targets: Value, posWeight = 2): Value {
  const pixelAxes = [2, 3];
  // PyTorch's BCEWithLogits with pos_weight: (1 - y) x + (1 + (pw - 1) y) softplus(-x).
  const logWeight = op.addScalar(op.mulScalar(targets, posWeight - 1), 1);
  const bce = op.add(op.mul(op.rsubScalar(1, targets), logits), op.mul(logWeight, softplus(op.neg(logits))));
  const p = op.sigmoid(logits);
  const inter = op.reduceSum(op.mul(p, targets), pixelAxes, false);
  const denom = op.addScalar(op.add(op.reduceSum(p, pixelAxes, false), op.reduceSum(targets, pixelAxes, false)), 1);
  const dice = op.rsubScalar(1, op.div(op.addScalar(op.mulScalar(inter, 2), 1), denom));
  return op.add(op.reduceMean(bce, pixelAxes, false), dice);
}

/** IoU of thresholded logits (> 0) with the targets: [B, M], outside the gradient. */
function actualIou(logits: Value, targets: Value): Value {
  const pred = op.cast(op.greater(logits, op.scalar(logits.graph, 0)), 'float32');
  const inter = op.reduceSum(op.mul(pred, targets), [2, 3], false);
  const union = op.sub(op.add(op.reduceSum(pred, [2, 3], false), op.reduceSum(targets, [2, 3], false)), inter);
  return op.div(op.addScalar(inter, 1e-6), op.addScalar(union, 1e-6));
}

/**
 * masks [B, M, H, W] (all decoder outputs), iou [B, M], targets [B, 1, H, W]. `multimask`: the
 * prompt is one click, so the best multimask output is trained ('sam' recipe).
 */
export function trainingLoss(masks: Value, iou: Value, targets: Value, multimask: boolean, o: LossOptions = {}): SegmentationLoss {
  const M = masks.dim(1) as number;
  const perToken = maskLoss(masks, targets, o.posWeight ?? 2); // [B, M]
  let perImage: Value;
  if ((o.kind ?? 'sam') === 'medsa' || !multimask || M < 2) {
    perImage = op.squeeze(op.slice(perToken, [1], [0], [1]), [1]);
  } else {
    // min over the candidates, as a product with a (gradient-free) one-hot of the argmin; the
    // single-mask output learns single clicks too, so runs with one click per prompt train it.
    const candidates = op.slice(perToken, [1], [1], [M]);
    const best = op.cast(op.equal(candidates, op.reduceMin(candidates, [1], true)), 'float32');
    const weights = op.div(best, op.reduceSum(best, [1], true));
    const single = op.squeeze(op.slice(perToken, [1], [0], [1]), [1]);
    const best3 = op.reduceSum(op.mul(candidates, weights), [1], false);
    perImage = o.singleOutputOnClicks === false ? best3 : op.add(best3, single);
  }
  if ((o.kind ?? 'sam') === 'sam') {
    const err = op.sub(iou, actualIou(masks, targets));
    perImage = op.add(perImage, op.mulScalar(op.reduceMean(op.mul(err, err), [1], false), o.iouWeight ?? 1));
  }
  return { loss: op.reduceMean(perImage, [0], false), perImage };
}
