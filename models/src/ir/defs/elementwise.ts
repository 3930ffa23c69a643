/** Elementwise operators: numpy broadcasting binaries, comparisons, unaries, Softmax, Cast. */
import { getInt } from '../attrs.js';
import { dtypeFromOnnx } from '../dtype-codes.js';
import type { Value, ValueType } from '../graph.js';
import { unbroadcast } from '../grad-util.js';
import * as op from '../ops.js';
import { type GradContext, defineOp, type InferContext } from '../registry.js';
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

const BINARY_OPS = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min'] as const;
const COMPARE_OPS = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or'] as const;
const UNARY_OPS = [
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

type Grad = (ctx: GradContext) => (Value | null)[];

/** dL/dA, dL/dB of a broadcasting binary op from local derivatives, summed back to each shape. */
function binaryGrad(local: (a: Value, b: Value, y: Value, g: Value) => [Value | null, Value | null]): Grad {
  return ({ node, grads, wants }) => {
    const [a, b] = node.inputs as [Value, Value];
    const g = grads[0]!;
    const [da, db] = local(a, b, node.outputs[0]!, g);
    return [wants[0] && da ? unbroadcast(da, a.shape) : null, wants[1] && db ? unbroadcast(db, b.shape) : null];
  };
}

const BINARY_GRADS: Partial<Record<(typeof BINARY_OPS)[number], Grad>> = {
  Add: binaryGrad((_a, _b, _y, g) => [g, g]),
  Sub: binaryGrad((_a, _b, _y, g) => [g, op.neg(g)]),
  Mul: binaryGrad((a, b, _y, g) => [op.mul(g, b), op.mul(g, a)]),
  Div: binaryGrad((_a, b, y, g) => [op.div(g, b), op.neg(op.div(op.mul(g, y), b))]),
  // d(a^b)/da = b a^(b-1); d/db = a^b ln a.
  Pow: binaryGrad((a, b, y, g) => [op.mul(g, op.mul(b, op.pow(a, op.subScalar(b, 1)))), op.mul(g, op.mul(y, op.log(a)))]),
  // Ties send the gradient to the first operand.
  Max: binaryGrad((a, b, _y, g) => {
    const first = op.cast(op.not(op.less(a, b)), g.dtype);
    return [op.mul(g, first), op.mul(g, op.rsubScalar(1, first))];
  }),
  Min: binaryGrad((a, b, _y, g) => {
    const first = op.cast(op.not(op.greater(a, b)), g.dtype);
    return [op.mul(g, first), op.mul(g, op.rsubScalar(1, first))];
  }),
};

for (const type of BINARY_OPS) defineOp({ type, infer: broadcastInfer, grad: BINARY_GRADS[type] });
for (const type of COMPARE_OPS) defineOp({ type, infer: compareInfer, nonDifferentiable: true });
/** dL/dX of y = f(x) from f'(x) expressed with x, y and the incoming gradient. */
function unaryGrad(local: (x: Value, y: Value, g: Value) => Value): Grad {
  return ({ node, grads, wants }) => (wants[0] ? [local(node.inputs[0]!, node.outputs[0]!, grads[0]!)] : [null]);
}

const SQRT_2_OVER_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const UNARY_GRADS: Partial<Record<(typeof UNARY_OPS)[number], Grad>> = {
  Identity: unaryGrad((_x, _y, g) => g),
  Neg: unaryGrad((_x, _y, g) => op.neg(g)),
  Exp: unaryGrad((_x, y, g) => op.mul(g, y)),
  Log: unaryGrad((x, _y, g) => op.div(g, x)),
  Sqrt: unaryGrad((_x, y, g) => op.div(op.mulScalar(g, 0.5), y)),
  Reciprocal: unaryGrad((_x, y, g) => op.neg(op.mul(g, op.mul(y, y)))),
  Abs: unaryGrad((x, _y, g) => op.mul(g, op.sign(x))),
  Relu: unaryGrad((x, _y, g) => op.mul(g, op.cast(op.greater(x, op.scalar(x.graph, 0)), g.dtype))),
  Sigmoid: unaryGrad((_x, y, g) => op.mul(g, op.mul(y, op.rsubScalar(1, y)))),
  Tanh: unaryGrad((_x, y, g) => op.mul(g, op.rsubScalar(1, op.mul(y, y)))),
  Erf: unaryGrad((x, _y, g) => op.mul(g, op.mulScalar(op.exp(op.neg(op.mul(x, x))), SQRT_2_OVER_PI))),
  Sin: unaryGrad((x, _y, g) => op.mul(g, op.cos(x))),
  Cos: unaryGrad((x, _y, g) => op.neg(op.mul(g, op.sin(x)))),
  Softplus: unaryGrad((x, _y, g) => op.mul(g, op.sigmoid(x))),
  // Exact GELU: d/dx [x Phi(x)] = Phi(x) + x phi(x).
  Gelu: unaryGrad((x, _y, g) => {
    const cdf = op.mulScalar(op.addScalar(op.erf(op.mulScalar(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = op.mulScalar(op.exp(op.mulScalar(op.mul(x, x), -0.5)), INV_SQRT_2PI);
    return op.mul(g, op.add(cdf, op.mul(x, pdf)));
  }),
};

for (const type of UNARY_OPS) {
  const nonDifferentiable = ['Floor', 'Ceil', 'Round', 'Sign', 'Not'].includes(type);
  defineOp({ type, infer: sameInfer, nonDifferentiable, grad: UNARY_GRADS[type] });
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
  grad({ node, grads, wants }) {
    const [c, x, y] = node.inputs as [Value, Value, Value];
    const g = grads[0]!;
    const zero = op.scalar(g.graph, 0);
    return [
      null,
      wants[1] ? unbroadcast(op.where(c, g, zero), x.shape) : null,
      wants[2] ? unbroadcast(op.where(c, zero, g), y.shape) : null,
    ];
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
    grad({ node, grads, wants }) {
      if (!wants[0]) return [null];
      const y = node.outputs[0]!;
      const g = grads[0]!;
      const axis = getInt(node.attrs, 'axis', -1);
      if (type === 'Softmax') {
        // dX = Y * (dY - sum(dY * Y))
        return [op.mul(y, op.sub(g, op.reduceSum(op.mul(g, y), [axis], true)))];
      }
      // LogSoftmax: dX = dY - softmax(X) * sum(dY)
      return [op.sub(g, op.mul(op.exp(y), op.reduceSum(g, [axis], true)))];
    },
  });
}

const FLOAT_TYPES = new Set(['float32', 'float16', 'float64', 'bfloat16']);

defineOp({
  type: 'Cast',
  infer(ctx) {
    const x = req(ctx, 0);
    return [{ dtype: dtypeFromOnnx(getInt(ctx.attrs, 'to')), shape: [...x.shape] }];
  },
  grad({ node, grads, wants }) {
    const x = node.inputs[0]!;
    const y = node.outputs[0]!;
    if (!wants[0] || !FLOAT_TYPES.has(x.dtype) || !FLOAT_TYPES.has(y.dtype)) return [null];
    return [x.dtype === y.dtype ? grads[0]! : op.cast(grads[0]!, x.dtype)];
  },
});


export { req as requireInput };
