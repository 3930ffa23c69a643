/** Reductions (axes given as a constant input, opset >= 18) and ArgMax. */
import { getInt } from '../attrs.js';
import { constInts } from '../const-util.js';
import type { Dim } from '../graph.js';
import { defineOp, type InferContext } from '../registry.js';
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

for (const type of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSumSquare']) {
  defineOp({ type, infer: reduceInfer });
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
