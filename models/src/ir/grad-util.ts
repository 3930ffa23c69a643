/**
 * Helpers shared by gradient rules: undoing broadcasting, zeros, and the extra outputs some ops
 * expose for their backward pass (LayerNormalization's Mean/InvStdDev).
 */
import { shapeString } from '../tensor.js';
import type { Dim, Node, Value } from './graph.js';
import * as op from './ops.js';

/** Sums `grad` over the axes that broadcasting added or stretched, to the shape `target`. */
export function unbroadcast(grad: Value, target: Dim[]): Value {
  const g = grad.shape;
  if (g.length === target.length && g.every((d, i) => d === target[i])) return grad;
  const lead = g.length - target.length;
  if (lead < 0) throw new Error(`cannot unbroadcast ${shapeString(g)} to ${shapeString(target)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.length; i++) {
    if (i < lead) axes.push(i);
    else if (target[i - lead] === 1 && g[i] !== 1) axes.push(i);
  }
  const summed = axes.length ? op.reduceSum(grad, axes, true) : grad;
  return op.reshape(summed, staticTarget(target));
}

function staticTarget(shape: Dim[]): number[] {
  return shape.map((d) => {
    if (typeof d !== 'number') throw new Error(`gradients need static shapes, found ${shapeString(shape)}`);
    return d;
  });
}

/** Zeros with the shape and dtype of `like` (a broadcast scalar: no large initializer). */
export function zerosLike(like: Value): Value {
  const zero = op.scalar(like.graph, 0, like.dtype === 'int64' ? 'int64' : 'float32');
  return like.rank === 0 ? zero : op.expand(zero, staticTarget(like.shape));
}

/** Makes a node expose `count` outputs (e.g. LayerNormalization's statistics) and returns them. */
export function ensureOutputs(node: Node, count: number): Value[] {
  if (node.outputs.length < count) node.graph.extendOutputs(node, count);
  return node.outputs;
}

/** Inverse of a permutation. */
export function invertPerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}
