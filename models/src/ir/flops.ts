/** Counts the floating-point work of a graph (multiply-adds as 2 FLOPs) from its static shapes. */
import type { Dim, Graph, Node } from './graph.js';
import { getInt } from './attrs.js';
import { parseDim } from './shape-util.js';

/** Resolves a dimension, giving symbols the values in `bindings` (default 1). */
function dimValue(d: Dim, bindings: Record<string, number>): number {
  const m = parseDim(d);
  return m.syms.reduce((n, s) => n * (bindings[s] ?? 1), m.coef);
}

function nodeFlops(n: Node, b: Record<string, number>): number {
  const size = (shape: Dim[]) => shape.reduce<number>((acc, d) => acc * dimValue(d, b), 1);
  switch (n.opType) {
    case 'MatMul': {
      const a = n.inputs[0]!;
      const out = n.outputs[0]!;
      return 2 * size(out.shape) * dimValue(a.dim(-1), b);
    }
    case 'Conv': {
      const w = n.inputs[1]!.staticShape();
      return 2 * size(n.outputs[0]!.shape) * w.slice(1).reduce((x, y) => x * y, 1);
    }
    case 'ConvTranspose': {
      const w = n.inputs[1]!.staticShape();
      const group = getInt(n.attrs, 'group', 1);
      return 2 * size(n.inputs[0]!.shape) * (w[1]! * group) * w.slice(2).reduce((x, y) => x * y, 1);
    }
    default:
      return 0;
  }
}

/** Total FLOPs of MatMul, Conv and ConvTranspose nodes (the rest is small in these models). */
export function countFlops(g: Graph, bindings: Record<string, number> = {}): number {
  return g.nodes.reduce((sum, n) => sum + nodeFlops(n, bindings), 0);
}
