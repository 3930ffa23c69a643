/**
 * The builder API: one function per ONNX operator (or small composition), taking and returning
 * IR values. Graph-building code (SAM modules, losses, gradient rules) is written against these.
 */
import './defs/index.js';
import { type DType, type Tensor, float32, int64, tensor } from '../tensor.js';
import { attrFloat, attrInt, attrInts, attrString, attrTensor, type Attrs } from './attrs.js';
import { ONNX_DTYPE } from './dtype-codes.js';
import type { Graph, Value } from './graph.js';

const smallConstants = new WeakMap<Graph, Map<string, Value>>();

/** A small constant, shared between uses within a graph. */
function cachedConstant(g: Graph, t: Tensor, hint: string): Value {
  let cache = smallConstants.get(g);
  if (!cache) smallConstants.set(g, (cache = new Map()));
  const key = `${t.dtype}|${t.shape.join(',')}|${Array.from(t.data as ArrayLike<number | bigint>).join(',')}`;
  let v = cache.get(key);
  if (!v) cache.set(key, (v = g.constant(t, hint)));
  return v;
}

function one(g: Graph, type: string, inputs: (Value | null)[], attrs: Attrs = {}): Value {
  return g.emit(type, inputs, attrs)[0]!;
}

// ---------------------------------------------------------------- constants

export function scalar(g: Graph, value: number, dtype: DType = 'float32'): Value {
  if (dtype === 'int64') return cachedConstant(g, int64([], [value]), 'scalar');
  if (dtype !== 'float32') throw new Error(`scalar: unsupported dtype ${dtype}`);
  return cachedConstant(g, float32([], [value]), 'scalar');
}

export function ints(g: Graph, values: number[]): Value {
  return cachedConstant(g, int64([values.length], values), 'ints');
}

export function constant(g: Graph, t: Tensor, hint = 'const'): Value {
  return t.data.length <= 16 ? cachedConstant(g, t, hint) : g.constant(t, hint);
}

// ---------------------------------------------------------------- elementwise

export const add = (a: Value, b: Value) => one(a.graph, 'Add', [a, b]);
export const sub = (a: Value, b: Value) => one(a.graph, 'Sub', [a, b]);
export const mul = (a: Value, b: Value) => one(a.graph, 'Mul', [a, b]);
export const div = (a: Value, b: Value) => one(a.graph, 'Div', [a, b]);
export const pow = (a: Value, b: Value) => one(a.graph, 'Pow', [a, b]);
export const max = (a: Value, b: Value) => one(a.graph, 'Max', [a, b]);
export const min = (a: Value, b: Value) => one(a.graph, 'Min', [a, b]);
export const equal = (a: Value, b: Value) => one(a.graph, 'Equal', [a, b]);
export const less = (a: Value, b: Value) => one(a.graph, 'Less', [a, b]);
export const greater = (a: Value, b: Value) => one(a.graph, 'Greater', [a, b]);
export const where = (c: Value, a: Value, b: Value) => one(a.graph, 'Where', [c, a, b]);

export const addScalar = (a: Value, s: number) => add(a, scalar(a.graph, s, a.dtype));
export const mulScalar = (a: Value, s: number) => mul(a, scalar(a.graph, s, a.dtype));
export const subScalar = (a: Value, s: number) => sub(a, scalar(a.graph, s, a.dtype));
export const rsubScalar = (s: number, a: Value) => sub(scalar(a.graph, s, a.dtype), a);
export const divScalar = (a: Value, s: number) => div(a, scalar(a.graph, s, a.dtype));

export const identity = (x: Value) => one(x.graph, 'Identity', [x]);
export const neg = (x: Value) => one(x.graph, 'Neg', [x]);
export const exp = (x: Value) => one(x.graph, 'Exp', [x]);
export const log = (x: Value) => one(x.graph, 'Log', [x]);
export const sqrt = (x: Value) => one(x.graph, 'Sqrt', [x]);
export const reciprocal = (x: Value) => one(x.graph, 'Reciprocal', [x]);
export const abs = (x: Value) => one(x.graph, 'Abs', [x]);
export const relu = (x: Value) => one(x.graph, 'Relu', [x]);
export const sigmoid = (x: Value) => one(x.graph, 'Sigmoid', [x]);
export const tanh = (x: Value) => one(x.graph, 'Tanh', [x]);
export const erf = (x: Value) => one(x.graph, 'Erf', [x]);
export const sin = (x: Value) => one(x.graph, 'Sin', [x]);
export const cos = (x: Value) => one(x.graph, 'Cos', [x]);
export const softplus = (x: Value) => one(x.graph, 'Softplus', [x]);
export const floor = (x: Value) => one(x.graph, 'Floor', [x]);
export const sign = (x: Value) => one(x.graph, 'Sign', [x]);
export const not = (x: Value) => one(x.graph, 'Not', [x]);
/** GELU, exact (erf) form, as SAM's nn.GELU(). */
export const gelu = (x: Value) => one(x.graph, 'Gelu', [x], { approximate: attrString('none') });
export const softmax = (x: Value, axis = -1) => one(x.graph, 'Softmax', [x], { axis: attrInt(axis) });
export const cast = (x: Value, to: DType) => one(x.graph, 'Cast', [x], { to: attrInt(ONNX_DTYPE[to]) });

// ---------------------------------------------------------------- shapes

export const reshape = (x: Value, shape: number[]) => one(x.graph, 'Reshape', [x, ints(x.graph, shape)]);
export const transpose = (x: Value, perm: number[]) => one(x.graph, 'Transpose', [x], { perm: attrInts(perm) });
export const unsqueeze = (x: Value, axes: number[]) => one(x.graph, 'Unsqueeze', [x, ints(x.graph, axes)]);
export const squeeze = (x: Value, axes: number[]) => one(x.graph, 'Squeeze', [x, ints(x.graph, axes)]);
export const expand = (x: Value, shape: number[]) => one(x.graph, 'Expand', [x, ints(x.graph, shape)]);
export const tile = (x: Value, repeats: number[]) => one(x.graph, 'Tile', [x, ints(x.graph, repeats)]);

export function concat(xs: Value[], axis: number): Value {
  if (xs.length === 1) return xs[0]!;
  return one(xs[0]!.graph, 'Concat', xs, { axis: attrInt(axis) });
}

export function split(x: Value, sizes: number[], axis: number): Value[] {
  return x.graph.emit('Split', [x, ints(x.graph, sizes)], { axis: attrInt(axis) }, { outputs: sizes.length });
}

/** Static slice along the given axes (ends may exceed the dimension, as in Python). */
export function slice(x: Value, axes: number[], starts: number[], ends: number[], steps?: number[]): Value {
  const g = x.graph;
  const inputs = [x, ints(g, starts), ints(g, ends), ints(g, axes)];
  if (steps) inputs.push(ints(g, steps));
  return one(g, 'Slice', inputs);
}

/** Slice whose starts/ends are runtime int64 tensors. */
export function dynamicSlice(x: Value, axes: number[], starts: Value, ends: Value): Value {
  return one(x.graph, 'Slice', [x, starts, ends, ints(x.graph, axes)]);
}

/** Constant padding; pads as ONNX orders them: all begins, then all ends. */
export function pad(x: Value, pads: number[], value = 0): Value {
  const g = x.graph;
  return one(g, 'Pad', [x, ints(g, pads), scalar(g, value, x.dtype)], { mode: attrString('constant') });
}

export const gather = (data: Value, indices: Value, axis = 0) =>
  one(data.graph, 'Gather', [data, indices], { axis: attrInt(axis) });

export function scatterNDAdd(data: Value, indices: Value, updates: Value): Value {
  return one(data.graph, 'ScatterND', [data, indices, updates], { reduction: attrString('add') });
}

export function constantOfShape(shape: Value, value: number, dtype: DType = 'float32'): Value {
  const t = tensor(dtype, [1]);
  (t.data as Float32Array)[0] = value;
  return one(shape.graph, 'ConstantOfShape', [shape], { value: attrTensor(t) });
}

// ---------------------------------------------------------------- reductions

function reduce(type: string, x: Value, axes: number[] | undefined, keepdims: boolean): Value {
  const inputs = [x, axes ? ints(x.graph, axes) : null];
  return one(x.graph, type, axes ? inputs : [x], { keepdims: attrInt(keepdims ? 1 : 0) });
}
export const reduceSum = (x: Value, axes?: number[], keepdims = true) => reduce('ReduceSum', x, axes, keepdims);
export const reduceMean = (x: Value, axes?: number[], keepdims = true) => reduce('ReduceMean', x, axes, keepdims);
export const reduceMax = (x: Value, axes?: number[], keepdims = true) => reduce('ReduceMax', x, axes, keepdims);
export const reduceMin = (x: Value, axes?: number[], keepdims = true) => reduce('ReduceMin', x, axes, keepdims);

// ---------------------------------------------------------------- nn

export const matmul = (a: Value, b: Value) => one(a.graph, 'MatMul', [a, b]);

interface ConvOptions {
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group?: number;
}

function convAttrs(w: Value, o: ConvOptions): Attrs {
  const k = w.staticShape().slice(2);
  const attrs: Attrs = { kernel_shape: attrInts(k) };
  if (o.strides) attrs['strides'] = attrInts(o.strides);
  if (o.pads) attrs['pads'] = attrInts(o.pads);
  if (o.dilations) attrs['dilations'] = attrInts(o.dilations);
  if (o.group && o.group !== 1) attrs['group'] = attrInt(o.group);
  return attrs;
}

export function conv(x: Value, w: Value, b: Value | null, o: ConvOptions = {}): Value {
  return one(x.graph, 'Conv', b ? [x, w, b] : [x, w], convAttrs(w, o));
}

export function convTranspose(
  x: Value,
  w: Value,
  b: Value | null,
  o: ConvOptions & { outputPadding?: number[] } = {},
): Value {
  const attrs = convAttrs(w, o);
  if (o.outputPadding) attrs['output_padding'] = attrInts(o.outputPadding);
  return one(x.graph, 'ConvTranspose', b ? [x, w, b] : [x, w], attrs);
}

/** LayerNormalization over the trailing axes from `axis`; returns Y only. */
export function layerNorm(x: Value, scale: Value, bias: Value, epsilon: number, axis = -1): Value {
  return one(x.graph, 'LayerNormalization', [x, scale, bias], {
    axis: attrInt(axis),
    epsilon: attrFloat(epsilon),
  });
}

/** Bilinear resize (PyTorch align_corners=False semantics) of the last two axes to `sizes`. */
export function resizeBilinear(x: Value, sizes: Value | number[]): Value {
  const g = x.graph;
  const s = Array.isArray(sizes) ? ints(g, sizes) : sizes;
  return one(g, 'Resize', [x, null, null, s], {
    mode: attrString('linear'),
    coordinate_transformation_mode: attrString('half_pixel'),
  });
}

// ---------------------------------------------------------------- compositions

/** x @ wT + b with wT of shape [in, out] (PyTorch Linear weights are stored transposed at build time). */
export function linear(x: Value, wT: Value, b: Value | null): Value {
  const y = matmul(x, wT);
  return b ? add(y, b) : y;
}
