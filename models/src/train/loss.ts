/**
 * The fine-tuning loss of DESIGN.md, in-graph: BCE-with-logits (pos_weight 2, mean over pixels)
 * plus soft Dice, per image, averaged over the batch.
 */
import type { Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';

/** log(1 + exp(z)) without overflow: relu(z) + log(1 + exp(-|z|)). */
function softplus(z: Value): Value {
  return op.add(op.relu(z), op.log(op.addScalar(op.exp(op.neg(op.abs(z))), 1)));
}

export interface LossOptions {
  posWeight?: number;
  /** Weight of the Dice term (default 1). */
  diceWeight?: number;
}

export interface SegmentationLoss {
  /** Scalar mean over images. */
  loss: Value;
  /** [B] loss per image. */
  perImage: Value;
}

/** logits and targets [B, 1, H, W] (targets in {0, 1}). */
export function segmentationLoss(logits: Value, targets: Value, o: LossOptions = {}): SegmentationLoss {
  const pw = o.posWeight ?? 2;
  const pixelAxes = [1, 2, 3];
  // PyTorch's BCEWithLogits with pos_weight: (1 - y) x + (1 + (pw - 1) y) softplus(-x).
  const logWeight = op.addScalar(op.mulScalar(targets, pw - 1), 1);
  const bce = op.add(op.mul(op.rsubScalar(1, targets), logits), op.mul(logWeight, softplus(op.neg(logits))));
  const bceMean = op.reduceMean(bce, pixelAxes, false);
  const p = op.sigmoid(logits);
  const inter = op.reduceSum(op.mul(p, targets), pixelAxes, false);
  const denom = op.addScalar(op.add(op.reduceSum(p, pixelAxes, false), op.reduceSum(targets, pixelAxes, false)), 1);
  const dice = op.rsubScalar(1, op.div(op.addScalar(op.mulScalar(inter, 2), 1), denom));
  const perImage = op.add(bceMean, op.mulScalar(dice, o.diceWeight ?? 1));
  return { loss: op.reduceMean(perImage, [0], false), perImage };
}
