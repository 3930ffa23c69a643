/** Operators that move data without arithmetic: reshapes, permutations, slicing, gathering. */
import { shapeString } from '../../tensor.js';
import { getInt, getInts } from '../attrs.js';
import { constInts } from '../const-util.js';
import type { Dim, Shape } from '../graph.js';
import { defineOp, type InferContext } from '../registry.js';
import { divideDims, isStatic, normalizeAxis, product, unknownDim } from '../shape-util.js';
import { requireInput as req } from './elementwise.js';

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

export function reshapeShape(input: Shape, target: number[]): Shape {
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
});

defineOp({
  type: 'Transpose',
  infer(ctx) {
    const x = req(ctx, 0);
    const perm = getInts(ctx.attrs, 'perm', [...Array(x.rank).keys()].reverse());
    if (perm.length !== x.rank) throw new Error(`Transpose: perm ${perm} does not fit ${x}`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
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
});

defineOp({
  type: 'Concat',
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
});

/** Output length of Python-style slicing start:end:step over a static dimension. */
export function sliceLength(dim: number, start: number, end: number, step: number): number {
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

