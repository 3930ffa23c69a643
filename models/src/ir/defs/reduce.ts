/** Reductions (axes given as a constant input, opset >= 18) and ArgMax. */
import { getInt } from '../attrs.js';
import { constInts } from '../const-util.js';
import type { Dim, Value } from '../graph.js';
import * as op from '../ops.js';
import { type GradContext, defineOp, type InferContext } from '../registry.js';
import { normalizeAxis } from '../shape-util.js';
import { requireInput as req } from './elementwise.js';

function reduceInfer(ctx: InferContext) {
  const x = req(ctx, 0);
  const keep = getInt(ctx.attrs, 'keepdims', 1) === 1;
  const given = constInts(ctx.graph, ctx.inputs[1]);
  if (ctx.inputs[1] && !given) throw new Error('reduction axes must be constant');
  const axes = (given ?? [...Array(x.rank).keys()]).map((a) => normalizeAxis(a, x.rank));
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype: x.dtype, shape }];
}

function reducedAxes(node: GradContext['node']): number[] {
  const x = node.inputs[0]!;
  const given = constInts(node.graph, node.inputs[1]);
  return (given ?? [...Array(x.rank).keys()]).map((a) => normalizeAxis(a, x.rank));
}

/** Broadcasts the gradient of a reduction back over the reduced axes. */
function spread(node: GradContext['node'], g: Value): Value {
  const x = node.inputs[0]!;
  const axes = reducedAxes(node);
  const kept = x.staticShape().map((d, i) => (axes.includes(i) ? 1 : d));
  return op.expand(op.reshape(g, kept), x.staticShape());
}

const REDUCE_GRADS: Record<string, (ctx: GradContext) => (Value | null)[]> = {
  ReduceSum: ({ node, grads, wants }) => [wants[0] ? spread(node, grads[0]!) : null, null],
  ReduceMean: ({ node, grads, wants }) => {
    if (!wants[0]) return [null, null];
    const shape = node.inputs[0]!.staticShape();
    const count = reducedAxes(node).reduce((n, a) => n * shape[a]!, 1);
    return [op.mulScalar(spread(node, grads[0]!), 1 / count), null];
  },
  ReduceSumSquare: ({ node, grads, wants }) => [
    wants[0] ? op.mul(spread(node, grads[0]!), op.mulScalar(node.inputs[0]!, 2)) : null,
    null,
  ],
};

for (const type of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSumSquare']) {
  defineOp({ type, infer: reduceInfer, grad: REDUCE_GRADS[type] });
}

defineOp({
  type: 'ArgMax',
  nonDifferentiable: true,
  infer(ctx) {
    const x = req(ctx, 0);
    const axis = normalizeAxis(getInt(ctx.attrs, 'axis', 0), x.rank);
    const keep = getInt(ctx.attrs, 'keepdims', 1) === 1;
    const shape = x.shape.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : []));
    return [{ dtype: 'int64', shape }];
  },
});
