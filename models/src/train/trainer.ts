/**
 * The fine-tuning loop: batches of simulated-click prompts, the fused train-step graph in
 * onnxruntime, AdamW in TypeScript, resumable checkpoints. Every random draw is derived from
 * (seed, step), so a run resumed from a checkpoint continues exactly as if never interrupted.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { serializeModel } from '../onnx/serialize.js';
import { type LoadedSession, openSession, runSession, type Device } from '../runtime/session.js';
import { type ModelConfig, embedGrid } from '../sam/config.js';
import { buildEncoderGraph } from '../sam/graphs.js';
import type { Weights } from '../sam/weights.js';
import { type Tensor, float32 } from '../tensor.js';
import { type ProgressSink, silentProgress } from '../util/progress.js';
import { AdamW, learningRate } from './adamw.js';
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type Click, nextErrorClick, randomClickInside, stepRng } from './clicks.js';
import { overlap } from './metrics.js';
import { type SampleSource, type TrainSample, flipImage, makeTrainSample } from './samples.js';
import type { LossOptions } from './loss.js';
import { GRAD_PREFIX, buildTrainGraph, trainsEncoder } from './train-graph.js';

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
  progress?: ProgressSink;
  log?: (line: string) => void;
  signal?: AbortSignal;
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
}

export class TrainingCancelled extends Error {
  constructor(readonly step: number) {
    super(`training cancelled at step ${step}; the checkpoint allows resuming`);
    this.name = 'TrainingCancelled';
  }
}

function runKey(o: TrainOptions, S: number): string {
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

/** Memoises promises by key, dropping the oldest entry past `max` entries. */
function boundedMemo<T>(max: number): (key: string, make: () => Promise<T>) => Promise<T> {
  const map = new Map<string, Promise<T>>();
  return (key, make) => {
    let p = map.get(key);
    if (!p) {
      p = make();
      if (map.size >= max) map.delete(map.keys().next().value!);
      map.set(key, p);
    }
    return p;
  };
}

/** An exponential moving average that starts from the first value. */
class Ema {
  value = NaN;
  constructor(private readonly alpha = 0.05) {}
  add(v: number): number {
    this.value = Number.isNaN(this.value) ? v : this.value + this.alpha * (v - this.value);
    return this.value;
  }
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const { config: c, batch: B } = o;
  const S = o.inputSize ?? c.img_size;
  const E = embedGrid(c, S);
  const L = 4 * E;
  const maxClicks = Math.max(1, o.clicks ?? 1);
  const encoderTrains = trainsEncoder(o.trainable);
  const augment = o.augment ?? encoderTrains;
  const progress = o.progress ?? silentProgress;
  const log = o.log ?? (() => undefined);
  const device = o.device ?? 'auto';
  if (o.data.count < 1) throw new Error('the training data has no images');

  const params = new Map<string, Tensor<'float32'>>();
  for (const name of o.trainable) {
    const t = o.weights.get(name);
    if (!t) throw new Error(`unknown trainable parameter ${name}`);
    params.set(name, t);
  }
  const optimizer = new AdamW({ lr: o.lr, weightDecay: o.weightDecay ?? 0 });
  const key = runKey(o, S);
  await mkdir(o.workDir, { recursive: true });
  const ckptFile = path.join(o.workDir, CHECKPOINT_FILE);
  const ema = { loss: new Ema(), dice: new Ema(), iou: new Ema() };
  let start = 0;
  if (o.resume) {
    const state = await loadCheckpoint(ckptFile, params, optimizer, key);
    if (state) {
      start = state.step;
      ema.loss.value = state.stats['loss'] ?? NaN;
      ema.dice.value = state.stats['dice'] ?? NaN;
      ema.iou.value = state.stats['iou'] ?? NaN;
      log(`resuming from the checkpoint at step ${start}`);
    }
  } else {
    await rm(ckptFile, { force: true });
  }

  // Sessions are built lazily per number of prompt points (graphs have static shapes); one
  // click means SAM's multimask outputs are the ones trained.
  const sessions = new Map<string, Promise<LoadedSession>>();
  const session = (points: number, withGradients: boolean) => {
    const key = `${points}:${withGradients}`;
    let s = sessions.get(key);
    if (!s) {
      const graph = buildTrainGraph({
        config: c,
        weights: o.weights,
        trainable: o.trainable,
        batch: B,
        points,
        inputSize: S,
        maskInput: true,
        withGradients,
        multimask: points === 2,
        ...(o.loss ? { loss: o.loss } : {}),
      });
      s = openSession(serializeModel(graph), { device });
      sessions.set(key, s);
    }
    return s;
  };
  const M = c.num_multimask_outputs + 1;
  /** Per image, the low-res logits inference would show: best predicted IoU of the multimask outputs after one click, else the single output. */
  const shownLogits = (out: Record<string, Tensor>, clicks: number): Float32Array => {
    const masks = out['low_res_masks']!.data as Float32Array;
    const iou = out['iou_predictions']!.data as Float32Array;
    const shown = new Float32Array(B * L * L);
    for (let b = 0; b < B; b++) {
      let k = 0;
      if (clicks === 1 && (o.loss?.kind ?? 'sam') === 'sam') {
        k = 1;
        for (let j = 2; j < M; j++) if (iou[b * M + j]! > iou[b * M + k]!) k = j;
      }
      shown.set(masks.subarray((b * M + k) * L * L, (b * M + k + 1) * L * L), b * L * L);
    }
    return shown;
  };
  const encoder = encoderTrains ? null : await openSession(serializeModel(buildEncoderGraph(c, o.weights, { inputSize: S })), { device });

  // Preprocessed samples (and frozen-encoder embeddings) are cached by item and flip.
  const sampleCache = boundedMemo<TrainSample>(Math.max(64, Math.floor(1.5e9 / (3 * S * S * 4 + S * S))));
  const embeddingCache = boundedMemo<Float32Array>(Math.max(64, Math.floor(2e9 / (c.prompt_dim * E * E * 4))));
  const sample = (i: number, fh: boolean, fv: boolean) =>
    sampleCache(`${i}:${+fh}${+fv}`, () =>
      o.data.load(i).then(({ image, mask }) => {
        const f = flipImage(image, mask, fh, fv);
        return makeTrainSample(f.image, f.mask, S, L);
      }),
    );
  const embedding = (k: string, s: TrainSample) =>
    embeddingCache(k, () => runSession(encoder!, { image: float32([1, 3, S, S], s.input) }).then((r) => r['image_embeddings']!.data as Float32Array));

  const permutations = new Map<number, number[]>();
  const itemAt = (j: number) => {
    const epoch = Math.floor(j / o.data.count);
    let perm = permutations.get(epoch);
    if (!perm) {
      perm = stepRng(o.seed, epoch, 2).shuffle([...Array(o.data.count).keys()]);
      permutations.set(epoch, perm);
      permutations.delete(epoch - 2);
    }
    return perm[j % o.data.count]!;
  };

  const warmup = o.warmup ?? Math.min(100, Math.floor(o.steps * 0.05));
  const t0 = performance.now();
  let stepTime = 0;
  let lastLoss = NaN;
  for (let step = start; step < o.steps; step++) {
    if (o.signal?.aborted) {
      await saveCheckpoint(ckptFile, params, optimizer, { step, runKey: key, stats: { loss: ema.loss.value, dice: ema.dice.value, iou: ema.iou.value } });
      throw new TrainingCancelled(step);
    }
    const rng = stepRng(o.seed, step, 1);
    const batch: TrainSample[] = [];
    const embKeys: string[] = [];
    for (let b = 0; b < B; b++) {
      const item = itemAt(step * B + b);
      const fh = augment && rng.next() < 0.5;
      const fv = augment && rng.next() < 0.5;
      batch.push(await sample(item, fh, fv));
      embKeys.push(`${item}:${+fh}${+fv}`);
    }
    const clicksThisStep = 1 + rng.int(0, maxClicks);
    const prompts: Click[][] = batch.map((s) => [
      randomClickInside(s.maskS, S, S, rng) ?? { x: rng.int(0, S), y: rng.int(0, S), label: 0 },
    ]);

    const imageFeed: Record<string, Tensor> = {};
    if (encoderTrains) {
      const images = float32([B, 3, S, S]);
      batch.forEach((s, b) => images.data.set(s.input, b * 3 * S * S));
      imageFeed['image'] = images;
    } else {
      const embs = float32([B, c.prompt_dim, E, E]);
      const per = c.prompt_dim * E * E;
      for (let b = 0; b < B; b++) embs.data.set(await embedding(embKeys[b]!, batch[b]!), b * per);
      imageFeed['image_embeddings'] = embs;
    }
    const promptFeeds = (prev: Float32Array | null) => {
      const N = prompts[0]!.length + 1;
      const coords = float32([B, N, 2]);
      const labels = float32([B, N]);
      prompts.forEach((ps, b) => {
        ps.forEach((p, k) => {
          coords.data[(b * N + k) * 2] = p.x;
          coords.data[(b * N + k) * 2 + 1] = p.y;
          labels.data[b * N + k] = p.label;
        });
        labels.data[b * N + N - 1] = -1; // SAM's padding point at (0, 0)
      });
      return {
        N,
        feeds: {
          point_coords: coords,
          point_labels: labels,
          mask_input: float32([B, 1, L, L], prev ?? undefined),
          has_mask_input: float32([B], new Array<number>(B).fill(prev ? 1 : 0)),
        } as Record<string, Tensor>,
      };
    };
    const paramFeeds: Record<string, Tensor> = Object.fromEntries(params);

    // Corrective clicks, placed with the current parameters.
    let prev: Float32Array | null = null;
    for (let k = 1; k < clicksThisStep; k++) {
      const { N, feeds } = promptFeeds(prev);
      const out = await runSession(await session(N, false), { ...imageFeed, ...feeds, ...paramFeeds });
      prev = shownLogits(out, k);
      batch.forEach((s, b) => {
        const pred = new Uint8Array(L * L);
        for (let i = 0; i < L * L; i++) pred[i] = prev![b * L * L + i]! > 0 ? 1 : 0;
        const gt = Uint8Array.from(s.target);
        const click = nextErrorClick(pred, gt, L, L);
        if (click) {
          const f = S / L;
          prompts[b]!.push({ x: click.x * f + (f - 1) / 2, y: click.y * f + (f - 1) / 2, label: click.label });
        } else {
          prompts[b]!.push({ ...prompts[b]![0]! }); // nothing to correct: repeat the first click
        }
      });
    }

    const { N, feeds } = promptFeeds(prev);
    const targets = float32([B, 1, L, L]);
    batch.forEach((s, b) => targets.data.set(s.target, b * L * L));
    const ts = performance.now();
    const out = await runSession(await session(N, true), { ...imageFeed, ...feeds, ...paramFeeds, targets });
    stepTime += performance.now() - ts;
    const loss = (out['loss']!.data as Float32Array)[0]!;
    if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${step}; lower the learning rate`);
    lastLoss = loss;
    const grads = new Map<string, Float32Array>();
    for (const name of params.keys()) grads.set(name, out[`${GRAD_PREFIX}${name}`]!.data as Float32Array);
    optimizer.step(params, grads, learningRate(o.lr, step, o.steps, warmup));

    const logits = shownLogits(out, clicksThisStep);
    for (let b = 0; b < B; b++) {
      const pred = new Uint8Array(L * L);
      const gt = new Uint8Array(L * L);
      for (let i = 0; i < L * L; i++) {
        pred[i] = logits[b * L * L + i]! > 0 ? 1 : 0;
        gt[i] = batch[b]!.target[i]! > 0.5 ? 1 : 0;
      }
      const m = overlap(pred, gt);
      ema.dice.add(m.dice);
      ema.iou.add(m.iou);
    }
    ema.loss.add(loss);
    const done = step + 1;
    const elapsed = (performance.now() - t0) / 1000;
    progress({
      task: 'train',
      done,
      total: o.steps,
      info: { loss: ema.loss.value, dice: ema.dice.value, 'img/s': ((done - start) * B) / elapsed },
    });
    const every = o.checkpointEvery ?? 100;
    if (done % every === 0 || done === o.steps) {
      await saveCheckpoint(ckptFile, params, optimizer, { step: done, runKey: key, stats: { loss: ema.loss.value, dice: ema.dice.value, iou: ema.iou.value } });
      log(`checkpoint saved at step ${done}`);
    }
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
  };
}
