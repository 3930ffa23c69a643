/** Reading small integer constants (shapes, axes, pads) back from initializers. */
import type { Graph, Value } from './graph.js';

export function constInts(graph: Graph, v: Value | null | undefined): number[] | undefined {
  if (!v) return undefined;
  const t = graph.constantValue(v);
  if (!t) return undefined;
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, (x) => Number(x));
  if (t.dtype === 'int32') return Array.from(t.data as Int32Array);
  return undefined;
}

export function constFloats(graph: Graph, v: Value | null | undefined): number[] | undefined {
  if (!v) return undefined;
  const t = graph.constantValue(v);
  if (!t || t.dtype !== 'float32') return undefined;
  return Array.from(t.data as Float32Array);
}
