/** Operators that move data without arithmetic: reshapes, permutations, slicing, gathering. */
import { shapeString } from '../../tensor.js';
import { getInt, getInts } from '../attrs.js';
import { constInts } from '../const-util.js';
import type { Dim, Shape, Value } from '../graph.js';
import { invertPerm, unbroadcast, zerosLike } from '../grad-util.js';
import * as op from '../ops.js';
import { type GradContext, defineOp, type InferContext } from '../registry.js';
import { divideDims, isStatic, normalizeAxis, product, unknownDim } from '../shape-util.js';
import { requireInput as req } from './elementwise.js';

/** The gradient of a pure relayout with the same elements: reshape the gradient back. */
function reshapeBack({ node, grads, wants }: GradContext): (Value | null)[] {
  const x = node.inputs[0]!;
  return [wants[0] ? op.reshape(grads[0]!, x.staticShape()) : null, ...node.inputs.slice(1).map(() => null)];
}

function mustConst(ctx: InferContext, i: number, what: string): number[] {
  const v = ctx.inputs[i];
  const c = constInts(ctx.graph, v);
  if (!c) throw new Error(`${what} must be a constant int64 tensor`);
  return c;
}

function sumDims(dims: Dim[]): Dim {
  let n = 0;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n += d;
    else syms.push(d);
  }
  if (!syms.length) return n;
  return n ? `${syms.join('+')}+${n}` : syms.join('+');
}

function reshapeShape(input: Shape, target: number[]): Shape {
  const out: Dim[] = target.map((t, i) => {
    if (t === 0) {
      const d = input[i];
      if (d === undefined) throw new Error(`Reshape: 0 at position ${i} but input has rank ${input.length}`);
      return d;
    }
    return t;
  });
  const inferred = out.indexOf(-1);
  if (inferred >= 0) {
    const rest = product(out.filter((_, i) => i !== inferred));
    const q = divideDims(product(input), rest);
    if (q === undefined) {
      if (isStatic(input) && typeof rest === 'number') {
        throw new Error(`Reshape: cannot reshape ${shapeString(input)} to ${shapeString(target)}`);
      }
      out[inferred] = unknownDim('reshape');
    } else {
      out[inferred] = q;
    }
  } else {
    const a = product(input);
    const b = product(out);
    if (typeof a === 'number' && typeof b === 'number' && a !== b) {
      throw new Error(`Reshape: cannot reshape ${shapeString(input)} (${a} elements) to ${shapeString(target)}`);
    }
  }
  return out;
}

defineOp({
  type: 'Reshape',
  infer(ctx) {
    const x = req(ctx, 0);
    return [{ dtype: x.dtype, shape: reshapeShape(x.shape, mustConst(ctx, 1, 'Reshape shape')) }];
  },
  grad: reshapeBack,
});

defineOp({
  type: 'Transpose',
  infer(ctx) {
    const x = req(ctx, 0);
    const perm = getInts(ctx.attrs, 'perm', [...Array(x.rank).keys()].reverse());
    if (perm.length !== x.rank) throw new Error(`Transpose: perm ${perm} does not fit ${x}`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
  },
  grad({ node, grads, wants }) {
    const x = node.inputs[0]!;
    const perm = getInts(node.attrs, 'perm', [...Array(x.rank).keys()].reverse());
    return [wants[0] ? op.transpose(grads[0]!, invertPerm(perm)) : null];
  },
});

defineOp({
  type: 'Unsqueeze',
  infer(ctx) {
    const x = req(ctx, 0);
    const rank = x.rank + mustConst(ctx, 1, 'Unsqueeze axes').length;
    const axes = mustConst(ctx, 1, 'Unsqueeze axes').map((a) => normalizeAxis(a, rank));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : x.shape[j++]!);
    return [{ dtype: x.dtype, shape: out }];
  },
  grad: reshapeBack,
});

defineOp({
  type: 'Squeeze',
  infer(ctx) {
    const x = req(ctx, 0);
    const axes = mustConst(ctx, 1, 'Squeeze axes').map((a) => normalizeAxis(a, x.rank));
    for (const a of axes) {
      if (x.shape[a] !== 1) throw new Error(`Squeeze: dimension ${a} of ${x} is not 1`);
    }
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
  },
  grad: reshapeBack,
});

defineOp({
  type: 'Concat',
  grad({ node, grads, wants }) {
    const axis = normalizeAxis(getInt(node.attrs, 'axis'), node.inputs[0]!.rank);
    const sizes = node.inputs.map((x) => x!.dim(axis));
    if (sizes.some((d) => typeof d !== 'number')) throw new Error('Concat gradient needs static sizes');
    const parts = op.split(grads[0]!, sizes as number[], axis);
    return parts.map((p, i) => (wants[i] ? p : null));
  },
  infer(ctx) {
    const xs = ctx.inputs.map((_, i) => req(ctx, i));
    const first = xs[0]!;
    const axis = normalizeAxis(getInt(ctx.attrs, 'axis'), first.rank);
    for (const x of xs) {
      if (x.rank !== first.rank || x.dtype !== first.dtype) throw new Error(`Concat: ${x} does not match ${first}`);
      x.shape.forEach((d, i) => {
        if (i !== axis && d !== first.shape[i] && typeof d === 'number' && typeof first.shape[i] === 'number') {
          throw new Error(`Concat: ${x} does not match ${first} outside axis ${axis}`);
        }
      });
    }
    const shape = [...first.shape];
    shape[axis] = sumDims(xs.map((x) => x.shape[axis]!));
    return [{ dtype: first.dtype, shape }];
  },
});

defineOp({
  type: 'Split',
  infer(ctx) {
    const x = req(ctx, 0);
    const axis = normalizeAxis(getInt(ctx.attrs, 'axis', 0), x.rank);
    const sizes = mustConst(ctx, 1, 'Split sizes');
    const dim = x.shape[axis]!;
    if (typeof dim === 'number' && sizes.reduce((a, b) => a + b, 0) !== dim) {
      throw new Error(`Split: sizes ${sizes} do not add up to dimension ${axis} of ${x}`);
    }
    return sizes.map((s) => {
      const shape = [...x.shape];
      shape[axis] = s;
      return { dtype: x.dtype, shape };
    });
  },
  grad({ node, grads, wants }) {
    if (!wants[0]) return [null, null];
    const axis = normalizeAxis(getInt(node.attrs, 'axis', 0), node.inputs[0]!.rank);
    const parts = node.outputs.map((o, i) => grads[i] ?? zerosLike(o));
    return [op.concat(parts, axis), null];
  },
});

/** Output length of Python-style slicing start:end:step over a static dimension. */
function sliceLength(dim: number, start: number, end: number, step: number): number {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  if (step > 0) {
    const s = clamp(start < 0 ? start + dim : start, 0, dim);
    const e = clamp(end < 0 ? end + dim : end, 0, dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  const s = clamp(start < 0 ? start + dim : start, -1, dim - 1);
  const e = clamp(end < 0 ? end + dim : end, -1, dim - 1);
  return Math.max(0, Math.ceil((e - s) / step));
}

defineOp({
  type: 'Slice',
  infer(ctx) {
    const x = req(ctx, 0);
    const axes = (constInts(ctx.graph, ctx.inputs[3]) ?? [...Array(x.rank).keys()]).map((a) =>
      normalizeAxis(a, x.rank),
    );
    const starts = constInts(ctx.graph, ctx.inputs[1]);
    const ends = constInts(ctx.graph, ctx.inputs[2]);
    const steps = constInts(ctx.graph, ctx.inputs[4]) ?? axes.map(() => 1);
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const d = x.shape[a]!;
      const [s0, e0, st] = [starts?.[i], ends?.[i], steps[i]!];
      if (s0 === undefined || e0 === undefined) shape[a] = unknownDim('slice');
      else if (typeof d === 'number') shape[a] = sliceLength(d, s0, e0, st);
      // A symbolic dimension sliced by a small non-negative window is assumed to contain it.
      else if (st === 1 && s0 >= 0 && e0 >= s0 && e0 < 2 ** 31) shape[a] = e0 - s0;
      else shape[a] = unknownDim('slice');
    });
    return [{ dtype: x.dtype, shape }];
  },
  grad({ node, grads, wants }) {
    if (!wants[0]) return node.inputs.map(() => null);
    const x = node.inputs[0]!;
    const shape = x.staticShape();
    const axes = (constInts(node.graph, node.inputs[3]) ?? [...Array(x.rank).keys()]).map((a) => normalizeAxis(a, x.rank));
    const starts = constInts(node.graph, node.inputs[1]);
    const ends = constInts(node.graph, node.inputs[2]);
    const steps = constInts(node.graph, node.inputs[4]) ?? axes.map(() => 1);
    if (!starts || !ends || steps.some((s) => s !== 1)) throw new Error('Slice gradient needs constant starts/ends and unit steps');
    // Slice and Pad are each other's gradient.
    const pads = new Array<number>(2 * x.rank).fill(0);
    axes.forEach((a, i) => {
      const d = shape[a]!;
      const s0 = Math.min(Math.max(starts[i]! < 0 ? starts[i]! + d : starts[i]!, 0), d);
      const e0 = Math.min(Math.max(ends[i]! < 0 ? ends[i]! + d : ends[i]!, s0), d);
      pads[a] = s0;
      pads[a + x.rank] = d - e0;
    });
    return [op.pad(grads[0]!, pads), ...node.inputs.slice(1).map(() => null)];
  },
});

defineOp({
  type: 'Pad',
  infer(ctx) {
    const x = req(ctx, 0);
    const pads = mustConst(ctx, 1, 'Pad pads');
    if (pads.length !== 2 * x.rank) throw new Error(`Pad: ${pads.length} pads for ${x}`);
    const shape = x.shape.map((d, i) =>
      typeof d === 'number' ? d + pads[i]! + pads[i + x.rank]! : pads[i]! || pads[i + x.rank]! ? unknownDim('pad') : d,
    );
    return [{ dtype: x.dtype, shape }];
  },
  grad({ node, grads, wants }) {
    if (!wants[0]) return node.inputs.map(() => null);
    const x = node.inputs[0]!;
    const pads = constInts(node.graph, node.inputs[1])!;
    const shape = x.staticShape();
    const axes = [...Array(x.rank).keys()];
    const g = op.slice(grads[0]!, axes, axes.map((a) => pads[a]!), axes.map((a) => pads[a]! + shape[a]!));
    return [g, ...node.inputs.slice(1).map(() => null)];
  },
});

function broadcastTo(input: Shape, target: Shape): Shape {
  const rank = Math.max(input.length, target.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const a = i < rank - input.length ? 1 : input[i - (rank - input.length)]!;
    const b = i < rank - target.length ? 1 : target[i - (rank - target.length)]!;
    out.push(b === 1 ? a : b);
  }
  return out;
}

defineOp({
  type: 'Expand',
  infer(ctx) {
    const x = req(ctx, 0);
    return [{ dtype: x.dtype, shape: broadcastTo(x.shape, mustConst(ctx, 1, 'Expand shape')) }];
  },
  grad({ node, grads, wants }) {
    return [wants[0] ? unbroadcast(grads[0]!, node.inputs[0]!.shape) : null, null];
  },
});

defineOp({
  type: 'Tile',
  infer(ctx) {
    const x = req(ctx, 0);
    const reps = mustConst(ctx, 1, 'Tile repeats');
    return [
      {
        dtype: x.dtype,
        shape: x.shape.map((d, i) => (typeof d === 'number' ? d * reps[i]! : reps[i] === 1 ? d : unknownDim('tile'))),
      },
    ];
  },
  grad({ node, grads, wants }) {
    if (!wants[0]) return [null, null];
    const x = node.inputs[0]!;
    const shape = x.staticShape();
    const reps = constInts(node.graph, node.inputs[1])!;
    // [r0*d0, r1*d1, ...] -> [r0, d0, r1, d1, ...], summed over the repeat axes.
    const split = op.reshape(grads[0]!, shape.flatMap((d, i) => [reps[i]!, d]));
    return [op.reshape(op.reduceSum(split, shape.map((_, i) => 2 * i), false), shape), null];
  },
});

defineOp({
  type: 'Gather',
  infer(ctx) {
    const data = req(ctx, 0);
    const idx = req(ctx, 1);
    const axis = normalizeAxis(getInt(ctx.attrs, 'axis', 0), data.rank);
    return [
      { dtype: data.dtype, shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)] },
    ];
  },
  grad({ node, grads, wants }) {
    if (!wants[0]) return [null, null];
    const [data, idx] = node.inputs as [Value, Value];
    const axis = normalizeAxis(getInt(node.attrs, 'axis', 0), data.rank);
    if (axis !== 0) throw new Error('Gather gradient is implemented for axis 0');
    // Gather's gradient is a ScatterND with reduction add into zeros of the data's shape.
    const shape = data.staticShape();
    const n = idx.staticShape().reduce((a, b) => a * b, 1);
    const indices = op.reshape(op.cast(idx, 'int64'), [n, 1]);
    const updates = op.reshape(grads[0]!, [n, ...shape.slice(1)]);
    return [op.scatterNDAdd(zerosLike(data), indices, updates), null];
  },
});

defineOp({
  type: 'ScatterND',
  infer(ctx) {
    const data = req(ctx, 0);
    return [{ dtype: data.dtype, shape: [...data.shape] }];
  },
});

defineOp({
  type: 'Shape',
  nonDifferentiable: true,
  infer(ctx) {
    return [{ dtype: 'int64', shape: [req(ctx, 0).rank] }];
  },
});

defineOp({
  type: 'ConstantOfShape',
  nonDifferentiable: true,
  infer(ctx) {
    const s = req(ctx, 0);
    const value = ctx.attrs['value'];
    const dtype = value && value.kind === 'tensor' ? value.value.dtype : 'float32';
    const c = constInts(ctx.graph, s);
    const len = s.dim(0);
    if (!c && typeof len !== 'number') throw new Error('ConstantOfShape: shape of unknown rank');
    return [{ dtype, shape: c ?? Array.from({ length: len as number }, () => unknownDim('cos')) }];
  },
});

