/**
 * The identity of a training run: everything that decides its result (base model, data, variant,
 * trainable set, hyper-parameters, seed, input size). A checkpoint records it, and a resume with
 * other options is refused instead of silently mixing two runs.
 */
import { createHash } from 'node:crypto';
import type { ModelConfig } from '../sam/config.js';
import type { LossOptions } from './loss.js';
import type { SampleSource } from './samples.js';

interface RunIdentity {
  baseFingerprint: string;
  config: ModelConfig;
  trainable: string[];
  data: SampleSource;
  steps: number;
  batch: number;
  lr: number;
  weightDecay?: number;
  warmup?: number;
  seed: number;
  clicks?: number;
  loss?: LossOptions;
  augment?: boolean;
}

/** A hex digest of the run's identity at input size S. */
export function runKey(o: RunIdentity, S: number): string {
  const key = {
    base: o.baseFingerprint,
    variant: o.config.variant,
    trainable: o.trainable,
    data: o.data.fingerprint,
    steps: o.steps,
    batch: o.batch,
    lr: o.lr,
    wd: o.weightDecay ?? 0,
    warmup: o.warmup ?? null,
    seed: o.seed,
    clicks: o.clicks ?? 1,
    loss: o.loss ?? null,
    augment: o.augment ?? null,
    S,
  };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex');
}
