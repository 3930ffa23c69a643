/**
 * The fine-tuning loop: for each step, a batch (batch-source), its simulated clicks
 * (click-simulator), the fused train step and the AdamW update (step-runner); resumable
 * checkpoints, progress after every step, cancellation between steps. Every random draw is
 * derived from (seed, step), so a run resumed from a checkpoint continues exactly as if it had
 * never been interrupted.
 */
import type { Device } from '../runtime/session.js';
import { type ModelConfig, embedGrid } from '../sam/config.js';
import type { Weights } from '../sam/weights.js';
import { type ProgressSink, silentProgress } from '../util/progress.js';
import { learningRate } from './adamw.js';
import { BatchSource } from './batch-source.js';
import { startRun } from './checkpoint.js';
import { ClickSimulator } from './click-simulator.js';
import { stepRng } from './clicks.js';
import type { LossOptions } from './loss.js';
import { overlap } from './metrics.js';
import { runKey } from './run-key.js';
import type { SampleSource, TrainSample } from './samples.js';
import { StepRunner } from './step-runner.js';
import { trainsEncoder } from './train-graph.js';
import { Ema, EtaClock, type TrainProgress, type ValidationMetrics } from './training-progress.js';

export interface TrainOptions {
  config: ModelConfig;
  /** All weights of the model (frozen and trainable); trainable ones are updated in place. */
  weights: Weights;
  trainable: string[];
  data: SampleSource;
  steps: number;
  batch: number;
  lr: number;
  weightDecay?: number;
  /** Warm-up steps before the cosine decay (default: 5% of the run, at most 100). */
  warmup?: number;
  seed: number;
  /** Clicks per prompt: 1 = one random positive click; K > 1 draws 1..K with corrective clicks. */
  clicks?: number;
  /** The loss recipe (default 'sam': best multimask output for single clicks + IoU head). */
  loss?: LossOptions;
  /** Random flips (default on when the encoder trains; frozen-encoder runs cache embeddings). */
  augment?: boolean;
  inputSize?: number;
  /** Folder for the resumable checkpoint. */
  workDir: string;
  resume?: boolean;
  checkpointEvery?: number;
  /** Identity of the base model, part of the run key checked on resume. */
  baseFingerprint: string;
  device?: Device;
  /** onnxruntime intra-op threads per session (default: onnxruntime's choice). */
  threads?: number;
  /** A generic progress sink (the console bar); `onProgress` gets the full figures. */
  progress?: ProgressSink;
  /** Called after every step (and its checkpoint and validation, when due) with JSON-safe figures. */
  onProgress?: (p: TrainProgress) => void;
  log?: (line: string) => void;
  /**
   * Cancels the run: checked before each step; when aborted the run writes a checkpoint of the
   * steps done so far (a `resume` continues from it) and throws TrainingCancelled.
   */
  signal?: AbortSignal;
  /** Evaluates the current weights every `every` steps and after the last one; the figures go into that step's progress and the result. */
  validation?: { every: number; evaluate: () => Promise<ValidationMetrics> };
}

export interface TrainResult {
  steps: number;
  resumedFrom: number;
  finalLoss: number;
  /** Running Dice/IoU of the last training batches (low resolution). */
  trainDice: number;
  trainIou: number;
  seconds: number;
  imagesPerSecond: number;
  /** Mean milliseconds of one train step (forward + backward) over the run. */
  stepMs: number;
  /** The last validation figures, when validation was asked for. */
  validation?: ValidationMetrics;
}

export class TrainingCancelled extends Error {
  constructor(readonly step: number) {
    super(`training cancelled at step ${step}; the checkpoint allows resuming`);
    this.name = 'TrainingCancelled';
  }
}

/** Lets timers, signals and messages (a cancel request) run: a step's work may never leave the microtask queue. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Dice and IoU of each image's shown logits (logit > 0) against its low-res target. */
function batchOverlaps(shown: Float32Array, samples: TrainSample[], L: number) {
  return samples.map((s, b) => {
    const pred = new Uint8Array(L * L);
    const gt = new Uint8Array(L * L);
    for (let i = 0; i < L * L; i++) {
      pred[i] = shown[b * L * L + i]! > 0 ? 1 : 0;
      gt[i] = s.target[i]! > 0.5 ? 1 : 0;
    }
    return overlap(pred, gt);
  });
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const { config: c, batch: B } = o;
  const S = o.inputSize ?? c.img_size;
  const L = 4 * embedGrid(c, S);
  const encoderTrains = trainsEncoder(o.trainable);
  const progress = o.progress ?? silentProgress;
  const log = o.log ?? (() => undefined);
  const session = { device: o.device ?? 'auto', ...(o.threads ? { threads: o.threads } : {}) } as const;
  if (o.data.count < 1) throw new Error('the training data has no images');
  if (o.validation && !(Number.isInteger(o.validation.every) && o.validation.every > 0)) {
    throw new Error(`validation.every must be a positive whole number of steps, got ${o.validation.every}`);
  }

  const ema = { loss: new Ema(), dice: new Ema(), iou: new Ema() };
  const run = await startRun({ weights: o.weights, trainable: o.trainable, lr: o.lr, ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}), workDir: o.workDir, runKey: runKey(o, S), resume: o.resume ?? false });
  const { params, optimizer, start } = run;
  if (start > 0) {
    ema.loss.value = run.stats['loss'] ?? NaN;
    ema.dice.value = run.stats['dice'] ?? NaN;
    ema.iou.value = run.stats['iou'] ?? NaN;
    log(`resuming from the checkpoint at step ${start}`);
  }
  const checkpoint = (step: number) => run.save(step, { loss: ema.loss.value, dice: ema.dice.value, iou: ema.iou.value });

  const batches = await BatchSource.open({
    config: c,
    weights: o.weights,
    data: o.data,
    batch: B,
    inputSize: S,
    seed: o.seed,
    augment: o.augment ?? encoderTrains,
    encoderTrains,
    session,
  });
  const runner = new StepRunner({
    config: c,
    weights: o.weights,
    trainable: o.trainable,
    params,
    optimizer,
    batch: B,
    inputSize: S,
    ...(o.loss ? { loss: o.loss } : {}),
    session,
  });
  const clicks = new ClickSimulator({ inputSize: S, lowRes: L, maxClicks: Math.max(1, o.clicks ?? 1) });

  const warmup = o.warmup ?? Math.min(100, Math.floor(o.steps * 0.05));
  const every = o.checkpointEvery ?? 100;
  const t0 = performance.now();
  const eta = new EtaClock(t0);
  let stepTime = 0;
  let lastLoss = NaN;
  let validation: ValidationMetrics | undefined;
  try {
    for (let step = start; step < o.steps; step++) {
      await yieldToEventLoop();
      if (o.signal?.aborted) {
        await checkpoint(step);
        log(`checkpoint saved at step ${step}`);
        throw new TrainingCancelled(step);
      }
      // The step's random stream: the flips, then the click count and the first clicks.
      const rng = stepRng(o.seed, step, 1);
      const batch = await batches.batch(step, rng);
      const prompts = await clicks.simulate(batch.samples, rng, (cs, maskInput) => runner.shownLogits(batch, cs, maskInput));
      const lr = learningRate(o.lr, step, o.steps, warmup);
      const outcome = await runner.step(batch, prompts.clicks, prompts.maskInput, lr, step);
      stepTime += outcome.ms;
      lastLoss = outcome.loss;
      for (const m of batchOverlaps(outcome.shown, batch.samples, L)) {
        ema.dice.add(m.dice);
        ema.iou.add(m.iou);
      }
      ema.loss.add(outcome.loss);

      const done = step + 1;
      const checkpointed = done % every === 0 || done === o.steps;
      if (checkpointed) {
        await checkpoint(done);
        log(`checkpoint saved at step ${done}`);
      }
      const validated = o.validation && (done % o.validation.every === 0 || done === o.steps) ? await o.validation.evaluate() : undefined;
      if (validated) validation = validated;
      const now = performance.now();
      const elapsed = (now - t0) / 1000;
      const imagesPerSecond = ((done - start) * B) / elapsed;
      progress({ task: 'train', done, total: o.steps, info: { loss: ema.loss.value, dice: ema.dice.value, 'img/s': imagesPerSecond } });
      o.onProgress?.({
        step: done,
        steps: o.steps,
        loss: outcome.loss,
        smoothedLoss: ema.loss.value,
        trainDice: ema.dice.value,
        trainIou: ema.iou.value,
        lr,
        elapsedSeconds: elapsed,
        etaSeconds: eta.stepDone(now, o.steps - done),
        imagesPerSecond,
        checkpointed,
        ...(validated ? { validation: validated } : {}),
      });
    }
  } finally {
    await Promise.all([batches.release(), runner.release()]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const ran = o.steps - start;
  return {
    steps: o.steps,
    resumedFrom: start,
    finalLoss: lastLoss,
    trainDice: ema.dice.value,
    trainIou: ema.iou.value,
    seconds,
    imagesPerSecond: ran > 0 ? (ran * B) / seconds : 0,
    stepMs: ran > 0 ? stepTime / ran : 0,
    ...(validation ? { validation } : {}),
  };
}
