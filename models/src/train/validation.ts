/**
 * Validation of the weights as they are now (mid-run, before export): the in-memory model is built
 * from them and evaluated with simulated clicks on held-out images, as `glmedsa eval` does. A job
 * calls it before training for the "before" figure and passes it to `train` for the figures along
 * the way; it reads the weights and draws no random numbers, so it never changes a run's result.
 */
import { SamPredictor } from '../predict/predictor.js';
import type { Device } from '../runtime/session.js';
import type { ModelConfig } from '../sam/config.js';
import type { Weights } from '../sam/weights.js';
import { type EvalSample, evaluate } from './evaluate.js';
import type { SampleSource } from './samples.js';
import type { ValidationMetrics } from './training-progress.js';

export interface ValidationOptions {
  config: ModelConfig;
  weights: Weights;
  inputSize: number;
  data: SampleSource;
  /** Clicks per image; the metrics are those after the last one (default 1). */
  clicks?: number;
  device?: Device;
  threads?: number;
}

async function* samplesOf(data: SampleSource): AsyncIterable<EvalSample> {
  for (let i = 0; i < data.count; i++) yield await data.load(i);
}

/** Dice and IoU of the model with the weights' current values on the validation data. */
export async function validate(o: ValidationOptions): Promise<ValidationMetrics> {
  if (o.data.count < 1) throw new Error('the validation data has no images');
  const predictor = await SamPredictor.fromWeights(o.config, o.weights, o.inputSize, {
    device: o.device ?? 'auto',
    ...(o.threads ? { threads: o.threads } : {}),
  });
  try {
    const r = await evaluate(predictor, samplesOf(o.data), { clicks: o.clicks ?? 1 });
    return { dice: r.dice, iou: r.iou, n: r.n };
  } finally {
    await predictor.release();
  }
}
