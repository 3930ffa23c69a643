/**
 * Building blocks shared by the SAM modules, bound to parameter names: Linear (PyTorch weight
 * layout [out, in]), LayerNorm over the last axis, LayerNorm2d over channels of NCHW, adapters.
 */
import type { Graph, Value } from '../ir/graph.js';
import * as op from '../ir/ops.js';
import type { Weights } from './weights.js';

export class ModuleContext {
  constructor(
    readonly g: Graph,
    readonly weights: Weights,
  ) {}

  /** The parameter named `name` (a graph initializer named like the checkpoint key). */
  p(name: string): Value {
    const t = this.weights.get(name);
    if (!t) throw new Error(`weight '${name}' is missing`);
    return this.g.param(name, t);
  }

  has(name: string): boolean {
    return this.weights.has(name);
  }
}

/** y = x W^T + b for a PyTorch Linear at `prefix`. */
export function linear(m: ModuleContext, prefix: string, x: Value, bias = true): Value {
  const wT = op.transpose(m.p(`${prefix}.weight`), [1, 0]);
  return op.linear(x, wT, bias ? m.p(`${prefix}.bias`) : null);
}

export function layerNorm(m: ModuleContext, prefix: string, x: Value, eps: number): Value {
  return op.layerNorm(x, m.p(`${prefix}.weight`), m.p(`${prefix}.bias`), eps);
}

/** SAM's LayerNorm2d: normalise the channel axis of NCHW (eps 1e-6). */
export function layerNorm2d(m: ModuleContext, prefix: string, x: Value, eps = 1e-6): Value {
  const nhwc = op.transpose(x, [0, 2, 3, 1]);
  return op.transpose(layerNorm(m, prefix, nhwc, eps), [0, 3, 1, 2]);
}

export function activation(kind: 'gelu' | 'relu', x: Value): Value {
  return kind === 'gelu' ? op.gelu(x) : op.relu(x);
}

/** Med-SA adapter bottleneck: fc2(act(fc1(x))). */
export function adapter(m: ModuleContext, prefix: string, x: Value, act: 'gelu' | 'relu'): Value {
  return linear(m, `${prefix}.D_fc2`, activation(act, linear(m, `${prefix}.D_fc1`, x)));
}
