/**
 * Central finite-difference checks of the autodiff: the gradient graph and a forward-only graph
 * are built from the same function and both run in onnxruntime.
 */
import assert from 'node:assert/strict';
import { gradients } from '../../src/autodiff/backprop.js';
import { Graph, type Value } from '../../src/ir/graph.js';
import * as op from '../../src/ir/ops.js';
import { serializeModel } from '../../src/onnx/serialize.js';
import { type LoadedSession, openSession, runSession } from '../../src/runtime/session.js';
import { type Tensor, float32, numel } from '../../src/tensor.js';
import { Rng } from '../../src/util/random.js';

export interface InputSpec {
  name: string;
  shape: number[];
  /** Draws one element (default: uniform in [-1, 1]). */
  draw?: (rng: Rng) => number;
  /** Constant input: fed but not differentiated (e.g. indices). */
  fixed?: Tensor;
}

export interface CheckOptions {
  eps?: number;
  /** Coordinates sampled per input. */
  samples?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
}

export interface CheckResult {
  /** Worst |analytic - numeric| / (atol + rtol * max|gradient|) over all samples; <= 1 passes. */
  worst: number;
  analytic: Map<string, Float32Array>;
}

function buildGraph(spec: InputSpec[], fn: (inputs: Value[]) => Value, weights: Tensor<'float32'> | null, withGrads: boolean) {
  const g = new Graph();
  const values = spec.map((s) =>
    s.fixed ? g.constant(s.fixed, s.name) : g.input(s.name, 'float32', s.shape),
  );
  const out = fn(values);
  // A random projection makes every output element matter with a different weight.
  const w = weights ?? float32(out.staticShape());
  const loss = op.reduceSum(op.mul(out, g.constant(w, 'proj')), undefined, false);
  g.output(loss, 'loss');
  if (withGrads) {
    const diff = values.filter((_, i) => !spec[i]!.fixed);
    gradients(loss, diff).forEach((gv, i) => g.output(gv, `grad_${diff[i]!.name}`));
  }
  return { g, outShape: out.staticShape() };
}

export async function gradCheck(spec: InputSpec[], fn: (inputs: Value[]) => Value, o: CheckOptions = {}): Promise<CheckResult> {
  const rng = new Rng(o.seed ?? 1);
  const eps = o.eps ?? 1e-2;
  const rtol = o.rtol ?? 2e-2;
  const atol = o.atol ?? 1e-3;
  const { outShape } = buildGraph(spec, fn, null, false);
  const proj = float32(outShape);
  for (let i = 0; i < proj.data.length; i++) proj.data[i] = rng.uniform(-1, 1);
  const forward = await openSession(serializeModel(buildGraph(spec, fn, proj, false).g), { device: 'cpu', optimization: 'disabled' });
  const backward = await openSession(serializeModel(buildGraph(spec, fn, proj, true).g), { device: 'cpu', optimization: 'disabled' });

  const feeds: Record<string, Tensor> = {};
  for (const s of spec) {
    if (s.fixed) continue;
    const t = float32(s.shape);
    for (let i = 0; i < t.data.length; i++) t.data[i] = (s.draw ?? ((r) => r.uniform(-1, 1)))(rng);
    feeds[s.name] = t;
  }
  const out = await runSession(backward, feeds);
  const analytic = new Map<string, Float32Array>();
  let worst = 0;
  const lossAt = async (s: LoadedSession, f: Record<string, Tensor>) => (await runSession(s, f))['loss']!.data[0] as number;
  for (const s of spec) {
    if (s.fixed) continue;
    const grad = out[`grad_${s.name}`]!.data as Float32Array;
    assert.equal(grad.length, numel(s.shape), `gradient of ${s.name} has the wrong size`);
    analytic.set(s.name, grad);
    const scale = grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const x = feeds[s.name]!.data as Float32Array;
    const n = Math.min(o.samples ?? 12, x.length);
    const picks = rng.shuffle([...Array(x.length).keys()]).slice(0, n);
    for (const i of picks) {
      const orig = x[i]!;
      x[i] = orig + eps;
      const up = await lossAt(forward, feeds);
      x[i] = orig - eps;
      const down = await lossAt(forward, feeds);
      x[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const err = Math.abs(numeric - grad[i]!) / (atol + rtol * scale);
      if (err > worst) worst = err;
      assert.ok(
        err <= 1,
        `${s.name}[${i}]: analytic ${grad[i]} vs numeric ${numeric} (tolerance ${atol} + ${rtol} x ${scale})`,
      );
    }
  }
  return { worst, analytic };
}
