/** Neural-network operators: MatMul, Conv, ConvTranspose, LayerNormalization, Resize. */
import { shapeString } from '../../tensor.js';
import { type Attrs, getInt, getInts } from '../attrs.js';
import { constFloats, constInts } from '../const-util.js';
import type { Dim, Value } from '../graph.js';
import { ensureOutputs, unbroadcast } from '../grad-util.js';
import * as op from '../ops.js';
import { defineOp } from '../registry.js';
import { linearMatrix } from '../../util/interpolation.js';
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
  grad({ node, grads, wants }) {
    const [a, b] = node.inputs as [Value, Value];
    const g = grads[0]!;
    const t = (v: Value) => op.transpose(v, [...Array(v.rank - 2).keys(), v.rank - 1, v.rank - 2]);
    let da: Value | null = null;
    let db: Value | null = null;
    if (wants[0]) da = unbroadcast(op.matmul(g, t(b)), a.shape);
    if (wants[1]) {
      if (b.rank === 2 && a.rank > 2) {
        // A weight shared across batch axes: fold them into one product instead of summing copies.
        const k = a.dim(-1) as number;
        const n = g.dim(-1) as number;
        db = op.matmul(op.transpose(op.reshape(a, [-1, k]), [1, 0]), op.reshape(g, [-1, n]));
      } else {
        db = unbroadcast(op.matmul(t(a), g), b.shape);
      }
    }
    return [da, db];
  },
});

type SpatialRule = (inSize: number, k: number, stride: number, padBegin: number, padEnd: number, dilation: number, outputPadding: number) => number;

/** Output spatial sizes of a (transposed) convolution from its attributes and weight shape. */
function convSpatial(attrs: Attrs, inDims: Dim[], weightShape: number[], rule: SpatialRule): Dim[] {
  const kernel = getInts(attrs, 'kernel_shape', weightShape.slice(2));
  const r = kernel.length;
  const strides = getInts(attrs, 'strides', []);
  const pads = getInts(attrs, 'pads', Array(2 * r).fill(0));
  const dilations = getInts(attrs, 'dilations', []);
  const outputPadding = getInts(attrs, 'output_padding', []);
  return inDims.map((d, i) =>
    typeof d === 'number'
      ? rule(d, kernel[i]!, strides[i] ?? 1, pads[i] ?? 0, pads[i + r] ?? 0, dilations[i] ?? 1, outputPadding[i] ?? 0)
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
    const spatial = convSpatial(ctx.attrs, x.shape.slice(2), ws, (i, k, s, pb, pe, d) => Math.floor((i + pb + pe - d * (k - 1) - 1) / s) + 1);
    return [{ dtype: x.dtype, shape: [x.dim(0), ws[0]!, ...spatial] }];
  },
  grad({ node, grads, wants }) {
    const [x, w, b] = node.inputs as [Value, Value, Value | undefined];
    const g = grads[0]!;
    const group = getInt(node.attrs, 'group', 1);
    if (group !== 1) throw new Error('Conv gradient is implemented for group = 1');
    const ws = w.staticShape();
    const xs = x.staticShape();
    const k = ws.slice(2);
    const n = k.length;
    const strides = getInts(node.attrs, 'strides', Array(n).fill(1));
    const pads = getInts(node.attrs, 'pads', Array(2 * n).fill(0));
    const dil = getInts(node.attrs, 'dilations', Array(n).fill(1));
    const spatialAxes = [...Array(n).keys()].map((i) => i + 2);
    let dx: Value | null = null;
    if (wants[0]) {
      // dX is a transposed convolution of dY with the same kernel; output_padding restores sizes
      // that the forward stride rounded down.
      const gs = g.staticShape().slice(2);
      const outPad = xs.slice(2).map((d, i) => d + pads[i]! + pads[i + n]! - (strides[i]! * (gs[i]! - 1) + dil[i]! * (k[i]! - 1) + 1));
      dx = op.convTranspose(g, w, null, { strides, pads, dilations: dil, outputPadding: outPad });
    }
    let dw: Value | null = null;
    if (wants[1]) {
      // dW is a convolution of X (batch as channels) with dY (as kernel), the stride becoming
      // the dilation: dW[o,c,k] = sum_{n,y} dY[n,o,y] X[n,c,y*s + k*d - p].
      const xT = op.transpose(x, [1, 0, ...spatialAxes]); // [C, N, ...]
      const gT = op.transpose(g, [1, 0, ...spatialAxes]); // [O, N, ...]
      const full = op.conv(xT, gT, null, { strides: dil, pads, dilations: strides }); // [C, O, k'...]
      const cropped = op.slice(full, spatialAxes, Array(n).fill(0), k);
      dw = op.transpose(cropped, [1, 0, ...spatialAxes]);
    }
    const db = b && wants[2] ? op.reduceSum(g, [0, ...spatialAxes], false) : null;
    return [dx, dw, db];
  },
});

defineOp({
  type: 'ConvTranspose',
  infer(ctx) {
    const x = req(ctx, 0);
    const w = req(ctx, 1);
    const ws = w.staticShape();
    const group = getInt(ctx.attrs, 'group', 1);
    const spatial = convSpatial(ctx.attrs, x.shape.slice(2), ws, (i, k, s, pb, pe, d, op) => s * (i - 1) + op + (k - 1) * d + 1 - pb - pe);
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
  grad({ node, grads, wants }) {
    const [x, scale, bias] = node.inputs as [Value, Value, Value];
    const [, mean, invStd] = ensureOutputs(node, 3) as [Value, Value, Value];
    const g = grads[0]!;
    const axis = normalizeAxis(getInt(node.attrs, 'axis', -1), x.rank);
    const normAxes = [...Array(x.rank - axis).keys()].map((i) => i + axis);
    const outerAxes = [...Array(axis).keys()];
    const xhat = op.mul(op.sub(x, mean), invStd);
    let dx: Value | null = null;
    if (wants[0]) {
      // dX = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dY * scale.
      const dxhat = op.mul(g, scale);
      const m1 = op.reduceMean(dxhat, normAxes, true);
      const m2 = op.reduceMean(op.mul(dxhat, xhat), normAxes, true);
      dx = op.mul(invStd, op.sub(op.sub(dxhat, m1), op.mul(xhat, m2)));
    }
    const sumOuter = (v: Value) => (outerAxes.length ? op.reduceSum(v, outerAxes, false) : v);
    const dscale = wants[1] ? op.reshape(sumOuter(op.mul(g, xhat)), scale.staticShape()) : null;
    const dbias = wants[2] ? op.reshape(sumOuter(g), bias.staticShape()) : null;
    return [dx, dscale, dbias];
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
  grad({ node, grads, wants }) {
    if (!wants[0]) return node.inputs.map(() => null);
    const x = node.inputs[0]!;
    const mode = node.attrs['mode'];
    const ctm = node.attrs['coordinate_transformation_mode'];
    if (mode?.value !== 'linear' || ctm?.value !== 'half_pixel' || x.rank !== 4) {
      throw new Error('Resize gradient is implemented for 4-D linear half_pixel resizes');
    }
    // A linear resize is Y = Mh X Mw^T per image, so dX = Mh^T dY Mw.
    const [, , hi, wi] = x.staticShape() as [number, number, number, number];
    const [, , ho, wo] = node.outputs[0]!.staticShape() as [number, number, number, number];
    const g = node.graph;
    const mhT = op.transpose(op.constant(g, linearMatrix(hi, ho), 'resize_h'), [1, 0]);
    const mw = op.constant(g, linearMatrix(wi, wo), 'resize_w');
    return [op.matmul(op.matmul(mhT, grads[0]!), mw), ...node.inputs.slice(1).map(() => null)];
  },
});
