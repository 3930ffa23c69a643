/** Neural-network operators: MatMul, Conv, ConvTranspose, LayerNormalization, Resize. */
import { shapeString } from '../../tensor.js';
import { getInt, getInts } from '../attrs.js';
import { constFloats, constInts } from '../const-util.js';
import type { Dim } from '../graph.js';
import { defineOp } from '../registry.js';
import { broadcastShapes, normalizeAxis, unknownDim } from '../shape-util.js';
import { requireInput as req } from './elementwise.js';

defineOp({
  type: 'MatMul',
  infer(ctx) {
    const a = req(ctx, 0);
    const b = req(ctx, 1);
    if (a.dtype !== b.dtype) throw new Error(`MatMul: dtype mismatch ${a} vs ${b}`);
    if (a.rank < 2 || b.rank < 2) throw new Error(`MatMul: operands must have rank >= 2 (${a}, ${b})`);
    const k1 = a.dim(-1);
    const k2 = b.dim(-2);
    if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
      throw new Error(`MatMul: inner dimensions differ: ${a} x ${b}`);
    }
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [{ dtype: a.dtype, shape: [...batch, a.dim(-2), b.dim(-1)] }];
  },
});

function spatialOut(
  inDims: Dim[],
  kernel: number[],
  strides: number[],
  pads: number[],
  dilations: number[],
  f: (i: number, k: number, s: number, pb: number, pe: number, d: number, op: number) => number,
  outputPadding: number[] = [],
): Dim[] {
  const r = inDims.length;
  return inDims.map((d, i) =>
    typeof d === 'number'
      ? f(d, kernel[i]!, strides[i] ?? 1, pads[i] ?? 0, pads[i + r] ?? 0, dilations[i] ?? 1, outputPadding[i] ?? 0)
      : unknownDim('conv'),
  );
}

defineOp({
  type: 'Conv',
  infer(ctx) {
    const x = req(ctx, 0);
    const w = req(ctx, 1);
    const ws = w.staticShape();
    const group = getInt(ctx.attrs, 'group', 1);
    const cin = x.dim(1);
    if (typeof cin === 'number' && cin !== ws[1]! * group) {
      throw new Error(`Conv: ${x} has ${cin} channels but the weight ${shapeString(ws)} expects ${ws[1]! * group}`);
    }
    const kernel = getInts(ctx.attrs, 'kernel_shape', ws.slice(2));
    const n = kernel.length;
    const spatial = spatialOut(
      x.shape.slice(2),
      kernel,
      getInts(ctx.attrs, 'strides', []),
      getInts(ctx.attrs, 'pads', Array(2 * n).fill(0)),
      getInts(ctx.attrs, 'dilations', []),
      (i, k, s, pb, pe, d) => Math.floor((i + pb + pe - d * (k - 1) - 1) / s) + 1,
    );
    return [{ dtype: x.dtype, shape: [x.dim(0), ws[0]!, ...spatial] }];
  },
});

defineOp({
  type: 'ConvTranspose',
  infer(ctx) {
    const x = req(ctx, 0);
    const w = req(ctx, 1);
    const ws = w.staticShape();
    const group = getInt(ctx.attrs, 'group', 1);
    const kernel = getInts(ctx.attrs, 'kernel_shape', ws.slice(2));
    const n = kernel.length;
    const spatial = spatialOut(
      x.shape.slice(2),
      kernel,
      getInts(ctx.attrs, 'strides', []),
      getInts(ctx.attrs, 'pads', Array(2 * n).fill(0)),
      getInts(ctx.attrs, 'dilations', []),
      (i, k, s, pb, pe, d, op) => s * (i - 1) + op + (k - 1) * d + 1 - pb - pe,
      getInts(ctx.attrs, 'output_padding', []),
    );
    return [{ dtype: x.dtype, shape: [x.dim(0), ws[1]! * group, ...spatial] }];
  },
});

defineOp({
  type: 'LayerNormalization',
  infer(ctx) {
    const x = req(ctx, 0);
    const axis = normalizeAxis(getInt(ctx.attrs, 'axis', -1), x.rank);
    const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
    const outs = [
      { dtype: x.dtype, shape: [...x.shape] },
      { dtype: 'float32' as const, shape: statShape },
      { dtype: 'float32' as const, shape: [...statShape] },
    ];
    return outs.slice(0, ctx.outputs);
  },
});

defineOp({
  type: 'Resize',
  infer(ctx) {
    const x = req(ctx, 0);
    const sizes = constInts(ctx.graph, ctx.inputs[3]);
    const scales = constFloats(ctx.graph, ctx.inputs[2]);
    let shape: Dim[];
    if (sizes) shape = sizes;
    else if (scales && scales.length) {
      shape = x.shape.map((d, i) => (typeof d === 'number' ? Math.floor(d * scales[i]!) : unknownDim('resize')));
    } else {
      // Dynamic sizes: leading (batch, channel) dims keep theirs when the sizes input is built from them.
      shape = x.shape.map((d, i) => (i < 2 ? d : unknownDim('resize')));
    }
    return [{ dtype: x.dtype, shape }];
  },
});
