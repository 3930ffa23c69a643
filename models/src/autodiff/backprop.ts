/**
 * Reverse-mode differentiation over the IR. Walks the nodes between the parameters and a scalar
 * loss in reverse order, calling each op's gradient rule (defined beside the op in ir/defs) and
 * summing the contributions where a value feeds several nodes. Everything emitted is standard
 * ONNX, so the resulting train-step graph runs on any onnxruntime execution provider.
 */
import type { Graph, Node, Value } from '../ir/graph.js';
import { zerosLike } from '../ir/grad-util.js';
import * as op from '../ir/ops.js';
import { opDef } from '../ir/registry.js';
import { shapeString } from '../tensor.js';

/** Values that depend on any of `sources` through differentiable ops. */
function dependents(g: Graph, sources: Value[]): Set<Value> {
  const set = new Set<Value>(sources);
  for (const n of g.nodes) {
    if (opDef(n.opType).nonDifferentiable) continue;
    if (n.inputs.some((v) => v && set.has(v))) for (const o of n.outputs) set.add(o);
  }
  return set;
}

/** Values that `target` depends on. */
function ancestors(g: Graph, target: Value): Set<Value> {
  const set = new Set<Value>([target]);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => set.has(o))) for (const v of n.inputs) if (v) set.add(v);
  }
  return set;
}

function sumAll(values: Value[]): Value {
  return values.reduce((acc, v) => op.add(acc, v));
}

/**
 * Emits into `loss`'s graph the gradient of `loss` with respect to each of `wrt`, and returns
 * them in order. A parameter the loss does not depend on gets zeros.
 */
export function gradients(loss: Value, wrt: Value[]): Value[] {
  const g = loss.graph;
  if (loss.shape.some((d) => d !== 1)) throw new Error(`the loss must be a scalar, got ${shapeString(loss.shape)}`);
  const fromParams = dependents(g, wrt);
  const toLoss = ancestors(g, loss);
  const active = g.nodes.filter(
    (n) => n.outputs.some((o) => toLoss.has(o)) && n.inputs.some((v) => v && fromParams.has(v)),
  );
  const contributions = new Map<Value, Value[]>();
  const contribute = (v: Value, grad: Value) => {
    const list = contributions.get(v);
    if (list) list.push(grad);
    else contributions.set(v, [grad]);
  };
  const collect = (v: Value): Value | null => {
    const list = contributions.get(v);
    if (!list?.length) return null;
    const total = list.length === 1 ? list[0]! : sumAll(list);
    contributions.set(v, [total]);
    return total;
  };

  g.scoped('grad', () => {
    contribute(loss, op.constantOfShape(op.ints(g, loss.shape as number[]), 1));
    for (let i = active.length - 1; i >= 0; i--) backward(active[i]!, collect, contribute, fromParams);
  });
  return wrt.map((p) => collect(p) ?? g.scoped('grad', () => zerosLike(p)));
}

function backward(
  node: Node,
  collect: (v: Value) => Value | null,
  contribute: (v: Value, grad: Value) => void,
  fromParams: Set<Value>,
): void {
  const grads = node.outputs.map((o) => collect(o));
  if (grads.every((x) => x === null)) return;
  const def = opDef(node.opType);
  if (!def.grad) throw new Error(`no gradient rule for ${node.opType} (node ${node.name})`);
  const wants = node.inputs.map((v) => !!v && fromParams.has(v));
  const inputGrads = def.grad({ node, grads, wants });
  node.inputs.forEach((v, i) => {
    const dv = inputGrads[i];
    if (v && wants[i] && dv) {
      if (dv.shape.length !== v.shape.length || dv.shape.some((d, j) => d !== v.shape[j])) {
        throw new Error(`gradient of ${node.opType} input ${i} has shape ${shapeString(dv.shape)}, expected ${shapeString(v.shape)}`);
      }
      contribute(v, dv);
    }
  });
}
