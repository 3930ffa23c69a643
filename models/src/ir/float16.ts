/**
 * The float16 pass: rewrites a built float32 graph so that it computes in half precision, for
 * GPUs (ONNX Runtime's CUDA kernels take float16 for every op these graphs use; its CPU provider
 * runs the result too, more slowly, computing the ops it has no float16 kernel for in float32).
 *
 * Precision follows the activations. The graph keeps its float32 inputs and outputs, so callers
 * do not change; the inputs named in `halfInputs` are cast to float16 on entry and every float16
 * graph output is cast back on exit. A node computes in float16 when one of its floating-point
 * data inputs is a float16 activation; its float32 weights and constants are then stored as
 * float16. Nodes fed only by float32 values (prompt coordinates, the image-size arithmetic that
 * becomes crop sizes, positional encodings of a constant grid) stay float32 until they meet a
 * float16 activation. The ops in FLOAT32_OPS (normalisation, softmax, sums and means) always
 * compute in float32: their float16 inputs are cast up and their outputs cast back down.
 * Weight-only subgraphs (no graph input upstream, e.g. a Linear weight's Transpose) are built on
 * demand in the precision their consumer asks for: data movement in that precision, so a
 * transposed weight is stored once, in float16; arithmetic (resized position tables) in float32,
 * then cast, which onnxruntime folds into a constant when the session loads.
 */
import type { DType, Tensor } from '../tensor.js';
import { toFloat16 } from '../util/half-float.js';
import { attrInt } from './attrs.js';
import { ONNX_DTYPE } from './dtype-codes.js';
import { Graph, type Node, type Value } from './graph.js';

/** Ops that accumulate over many elements: computed in float32 whatever their inputs. */
export const FLOAT32_OPS: ReadonlySet<string> = new Set(['LayerNormalization', 'Softmax', 'ReduceMean', 'ReduceSum']);

/**
 * Ops that only move data, exact in any precision (Tile is left out: the CPU provider has no
 * float16 Tile, so a tiled weight could not be folded into a constant there).
 */
const LAYOUT_OPS: ReadonlySet<string> = new Set([
  'Identity', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Slice', 'Gather', 'Concat', 'Split', 'Expand', 'Pad',
]);

/** Floating-point inputs that are not data and keep float32 (Resize's roi and scales). */
const NON_DATA_INPUTS: Record<string, number[]> = { Resize: [1, 2] };

interface Float16Options {
  /** Float32 graph inputs to cast to float16 on entry (where the half-precision region starts). */
  halfInputs: string[];
}

type Precision = 'float16' | 'float32';

const isDataInput = (node: Node, i: number, v: Value | null): boolean =>
  !!v && v.dtype === 'float32' && !NON_DATA_INPUTS[node.opType]?.includes(i);

/**
 * The precision each live node computes in (live: downstream of a graph input; the rest is
 * weight-only and absent from `compute`), and which of the input graph's values end up float16.
 */
function plan(g: Graph, halfInputs: Set<string>) {
  const live = new Set<Value>(g.inputs);
  const half = new Set<Value>(g.inputs.filter((v) => halfInputs.has(v.name)));
  const compute = new Map<Node, Precision>();
  for (const node of g.nodes) {
    if (!node.inputs.some((v) => v && live.has(v))) continue;
    for (const o of node.outputs) live.add(o);
    const fed = node.inputs.some((v, i) => isDataInput(node, i, v) && half.has(v!));
    compute.set(node, fed && !FLOAT32_OPS.has(node.opType) ? 'float16' : 'float32');
    if (fed) for (const o of node.outputs) if (o.dtype === 'float32') half.add(o);
  }
  return { half, compute };
}

/** A new graph equal to `g` but computing in float16 from `halfInputs` on (see the module comment). */
export function convertToFloat16(g: Graph, options: Float16Options): Graph {
  const halfInputs = new Set(options.halfInputs);
  for (const name of halfInputs) {
    const v = g.inputs.find((i) => i.name === name);
    if (!v || v.dtype !== 'float32') throw new Error(`float16: '${name}' is not a float32 input of ${g.name}`);
  }
  const { half, compute } = plan(g, halfInputs);
  const out = new Graph({ name: g.name });
  const outputNames = new Set(g.outputs.map((v) => v.name));
  /** The new graph's value for an old value, in each precision it was asked for. */
  const mapped = new Map<Value, Map<DType, Value>>();
  const remember = (old: Value, v: Value) => {
    let m = mapped.get(old);
    if (!m) mapped.set(old, (m = new Map()));
    m.set(v.dtype, v);
    return v;
  };
  const cast = (v: Value, to: DType, name: string) =>
    out.emit('Cast', [v], { to: attrInt(ONNX_DTYPE[to]) }, { names: [name] })[0]!;

  const initializer = (old: Value, t: Tensor): Value => {
    if (!g.params.has(old.name)) return out.scoped(t.dtype, () => out.constant(t, 'const'));
    return out.param(mapped.has(old) ? `${old.name}/${t.dtype}` : old.name, t);
  };

  /** `old` in the new graph as `dtype` (floating-point values convert between float32 and float16). */
  const valueAs = (old: Value, dtype: DType): Value => {
    const exact = mapped.get(old)?.get(dtype);
    if (exact) return exact;
    const tensor = g.constantValue(old);
    if (tensor) return remember(old, initializer(old, dtype === 'float16' ? toFloat16(tensor as Tensor<'float32'>) : tensor));
    const node = old.producer;
    if (node && !compute.has(node)) {
      const precision: Precision = dtype === 'float16' && LAYOUT_OPS.has(node.opType) ? 'float16' : 'float32';
      const suffix = precision === 'float16' ? '/float16' : '';
      const first = node.outputs[0]!;
      if (!mapped.get(first)?.has(precision === 'float16' ? 'float16' : first.dtype)) {
        const results = emitNode(node, precision, node.outputs.map((o) => `${o.name}${suffix}`));
        node.outputs.forEach((o, i) => remember(o, results[i]!));
      }
      const built = mapped.get(old)?.get(dtype);
      if (built) return built;
    }
    const any = mapped.get(old)?.values().next().value;
    if (!any) throw new Error(`float16: ${old.name} is used before it is computed`);
    return remember(old, cast(any, dtype, `${old.name}/${dtype}`));
  };

  const emitNode = (node: Node, precision: Precision, names: string[]): Value[] => {
    const inputs = node.inputs.map((v, i) => (v ? valueAs(v, isDataInput(node, i, v) ? precision : v.dtype) : null));
    const attrs = { ...node.attrs };
    if (node.opType === 'Cast' && precision === 'float16' && node.outputs[0]!.dtype === 'float32') {
      attrs['to'] = attrInt(ONNX_DTYPE.float16);
    }
    return out.emit(node.opType, inputs, attrs, { outputs: node.outputs.length, names, domain: node.domain });
  };

  const final = (o: Value): DType => (half.has(o) ? 'float16' : o.dtype);
  // Each old value keeps its name for its final precision; a float16 graph output's name goes to
  // the float32 cast on exit.
  const home = (o: Value) => (half.has(o) && outputNames.has(o.name) ? `${o.name}/float16` : o.name);

  for (const v of g.inputs) {
    const input = remember(v, out.input(v.name, v.dtype, v.shape));
    if (halfInputs.has(v.name)) remember(v, cast(input, 'float16', `${v.name}/float16`));
  }
  for (const node of g.nodes) {
    const precision = compute.get(node);
    if (!precision) continue; // weight-only: built when a consumer asks for it
    // A float32 op fed by float16 data computes in float32 and casts its outputs back down.
    const down = node.outputs.map((o) => precision === 'float32' && final(o) === 'float16');
    const results = emitNode(node, precision, node.outputs.map((o, i) => (down[i] ? `${o.name}/float32` : home(o))));
    node.outputs.forEach((o, i) => {
      const r = remember(o, results[i]!);
      if (down[i]) remember(o, cast(r, 'float16', home(o)));
    });
  }
  for (const v of g.outputs) {
    const h = valueAs(v, final(v));
    out.output(h.dtype === v.dtype ? h : cast(h, v.dtype, v.name));
  }
  return out;
}
