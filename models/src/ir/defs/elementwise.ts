/** Elementwise operators: numpy broadcasting binaries, comparisons, unaries, Softmax, Cast. */
import { getInt } from '../attrs.js';
import { dtypeFromOnnx } from '../dtype-codes.js';
import type { Value, ValueType } from '../graph.js';
import { defineOp, type InferContext } from '../registry.js';
import { broadcastShapes, normalizeAxis } from '../shape-util.js';

function req(ctx: InferContext, i: number): Value {
  const v = ctx.inputs[i];
  if (!v) throw new Error(`input ${i} is required`);
  return v;
}

function broadcastInfer(ctx: InferContext): ValueType[] {
  const a = req(ctx, 0);
  const b = req(ctx, 1);
  if (a.dtype !== b.dtype) throw new Error(`dtype mismatch: ${a} vs ${b}`);
  return [{ dtype: a.dtype, shape: broadcastShapes(a.shape, b.shape) }];
}

function compareInfer(ctx: InferContext): ValueType[] {
  const [t] = broadcastInfer(ctx);
  return [{ dtype: 'bool', shape: t!.shape }];
}

function sameInfer(ctx: InferContext): ValueType[] {
  const x = req(ctx, 0);
  return [{ dtype: x.dtype, shape: [...x.shape] }];
}

export const BINARY_OPS = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min'] as const;
export const COMPARE_OPS = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or'] as const;
export const UNARY_OPS = [
  'Identity',
  'Neg',
  'Exp',
  'Log',
  'Sqrt',
  'Reciprocal',
  'Abs',
  'Relu',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Sin',
  'Cos',
  'Gelu',
  'Softplus',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Not',
] as const;

for (const type of BINARY_OPS) defineOp({ type, infer: broadcastInfer });
for (const type of COMPARE_OPS) defineOp({ type, infer: compareInfer, nonDifferentiable: true });
for (const type of UNARY_OPS) {
  const nonDifferentiable = ['Floor', 'Ceil', 'Round', 'Sign', 'Not'].includes(type);
  defineOp({ type, infer: sameInfer, nonDifferentiable });
}

defineOp({
  type: 'Where',
  infer(ctx) {
    const c = req(ctx, 0);
    const x = req(ctx, 1);
    const y = req(ctx, 2);
    if (x.dtype !== y.dtype) throw new Error(`Where: dtype mismatch ${x} vs ${y}`);
    return [{ dtype: x.dtype, shape: broadcastShapes(broadcastShapes(c.shape, x.shape), y.shape) }];
  },
});

for (const type of ['Softmax', 'LogSoftmax']) {
  defineOp({
    type,
    infer(ctx) {
      const x = req(ctx, 0);
      normalizeAxis(getInt(ctx.attrs, 'axis', -1), x.rank);
      return [{ dtype: x.dtype, shape: [...x.shape] }];
    },
  });
}

defineOp({
  type: 'Cast',
  infer(ctx) {
    const x = req(ctx, 0);
    return [{ dtype: dtypeFromOnnx(getInt(ctx.attrs, 'to')), shape: [...x.shape] }];
  },
});

export { req as requireInput };
