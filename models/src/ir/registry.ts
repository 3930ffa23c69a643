/**
 * The operator registry. Each ONNX operator the IR uses has one definition here with its shape
 * inference and, beside it, its gradient rule (used by the autodiff); the definitions live in
 * defs/ and register themselves on import.
 */
import type { Attrs } from './attrs.js';
import type { Graph, Node, Value, ValueType } from './graph.js';

export interface InferContext {
  graph: Graph;
  inputs: (Value | null)[];
  attrs: Attrs;
  /** How many outputs the caller asked for (ops with a variable number of outputs). */
  outputs: number;
}

export interface GradContext {
  node: Node;
  /** dLoss/dOutput for each output of the node; null where no gradient flows back. */
  grads: (Value | null)[];
  /** Which inputs need a gradient. */
  wants: boolean[];
}

interface OpDef {
  type: string;
  infer(ctx: InferContext): ValueType[];
  /**
   * Gradient rule: returns dLoss/dInput for each input (null for inputs that are not
   * differentiable or not wanted), emitting standard ONNX ops into the node's graph.
   * Absent for ops no gradient ever flows through (integer and comparison ops).
   */
  grad?(ctx: GradContext): (Value | null)[];
  /** True for ops whose outputs are not differentiable at all (comparisons, shapes, indices). */
  nonDifferentiable?: boolean;
}

const registry = new Map<string, OpDef>();

export function defineOp(def: OpDef): OpDef {
  if (registry.has(def.type)) throw new Error(`op ${def.type} is defined twice`);
  registry.set(def.type, def);
  return def;
}

export function opDef(type: string): OpDef {
  const def = registry.get(type);
  if (!def) throw new Error(`op ${type} is not defined in the IR registry`);
  return def;
}
