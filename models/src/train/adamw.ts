/** AdamW (decoupled weight decay) over named float32 parameters, in TypeScript. */
import type { Tensor } from '../tensor.js';

interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  state: AdamWState = { step: 0, m: new Map(), v: new Map() };

  constructor(readonly options: AdamWOptions) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
  }

  /** Updates `params` in place from `grads` (same names) with learning rate `lr`. */
  step(params: Map<string, Tensor<'float32'>>, grads: Map<string, Float32Array>, lr = this.options.lr): void {
    const t = ++this.state.step;
    const c1 = 1 - this.beta1 ** t;
    const c2 = 1 - this.beta2 ** t;
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) throw new Error(`no gradient for ${name}`);
      let m = this.state.m.get(name);
      let v = this.state.v.get(name);
      if (!m || !v) {
        m = new Float32Array(g.length);
        v = new Float32Array(g.length);
        this.state.m.set(name, m);
        this.state.v.set(name, v);
      }
      const w = p.data;
      const decay = 1 - lr * this.weightDecay;
      for (let i = 0; i < g.length; i++) {
        const gi = g[i]!;
        const mi = (m[i] = this.beta1 * m[i]! + (1 - this.beta1) * gi);
        const vi = (v[i] = this.beta2 * v[i]! + (1 - this.beta2) * gi * gi);
        w[i] = w[i]! * decay - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + this.eps);
      }
    }
  }
}

/** Linear warm-up then cosine decay to `minFactor` of the base rate. */
export function learningRate(base: number, step: number, total: number, warmup: number, minFactor = 0.1): number {
  if (warmup > 0 && step < warmup) return (base * (step + 1)) / warmup;
  const progress = total > warmup ? Math.min(1, (step - warmup) / (total - warmup)) : 1;
  return base * (minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
