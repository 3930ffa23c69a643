/**
 * Pre-training from scratch with SAM's recipe (DESIGN.md, "Pre-training a starter"): every step
 * takes B images from a weighted mix of sources, T targets from each (weighted towards small
 * objects, so lesions, ribs and vessels are seen often), and one way of prompting drawn for the
 * step (prompt-recipe.ts); one click trains the best of SAM's three candidates, every output's IoU
 * prediction learns its true IoU. Every random draw derives from (seed, step), so a run resumed
 * from its checkpoint continues exactly as an uninterrupted one, and the same seed gives the same
 * model on the same machine class.
 */
import { createHash } from 'node:crypto';
import { type RgbImage, rgbImage } from '../../image/index.js';
import { preprocessShape, resizeRgb, toModelInput } from '../../preprocess/index.js';
import type { Device } from '../../runtime/session.js';
import { type ModelConfig, embedGrid } from '../../sam/config.js';
import type { Weights } from '../../sam/weights.js';
import { float32 } from '../../tensor.js';
import { type ProgressSink, silentProgress } from '../../util/progress.js';
import type { Rng } from '../../util/random.js';
import { learningRate } from '../adamw.js';
import { startRun } from '../checkpoint.js';
import { nextErrorClick, stepRng } from '../clicks.js';
import { overlap } from '../metrics.js';
import { targetInFrames } from '../samples.js';
import { Ema } from '../training-progress.js';
import { TrainingCancelled } from '../trainer.js';
import { type LabelledSample, type LabelledSource, type PromptTarget, neighbourMask } from './labelled-sources.js';
import { PretrainRunner, type StepPrompts } from './pretrain-runner.js';
import { type PromptMode, type StepPlan, type TargetFrames, DEFAULT_MODE_WEIGHTS, drawPlan, initialPrompt } from './prompt-recipe.js';

export interface PretrainOptions {
  config: ModelConfig;
  /** Every weight of the model; the trainable ones are updated in place. */
  weights: Weights;
  trainable: string[];
  /** Sources and how often each is drawn (weights need not sum to 1). */
  sources: { source: LabelledSource; weight: number; flipVertical?: boolean }[];
  steps: number;
  /** Images per step. */
  batch: number;
  /** Targets (prompts) per image. */
  targetsPerImage: number;
  lr: number;
  weightDecay?: number;
  warmup?: number;
  seed: number;
  modeWeights?: Readonly<Record<PromptMode, number>>;
  /** Weight of the IoU head's loss (default 1): a later phase can weigh how candidates are ranked more. */
  iouWeight?: number;
  /** Target sampling weight ~ area^-power (default 0.5: a target 100 times smaller is drawn 10 times as often). */
  smallObjectPower?: number;
  workDir: string;
  resume?: boolean;
  checkpointEvery?: number;
  baseFingerprint: string;
  device?: Device;
  threads?: number;
  progress?: ProgressSink;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

interface PretrainResult {
  steps: number;
  resumedFrom: number;
  seconds: number;
  /** Wall seconds of the whole run, earlier sessions of a resumed one included (null: a checkpoint that did not record them). */
  totalSeconds: number | null;
  imagesPerSecond: number;
  finalLoss: number;
  /** Running training Dice (low res) per prompt mode at the end. */
  diceByMode: Record<string, number>;
}

/** The run's identity: a resume with other options is refused. */
function pretrainKey(o: PretrainOptions, S: number): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        base: o.baseFingerprint,
        config: o.config,
        trainable: o.trainable,
        sources: o.sources.map((s) => [s.source.fingerprint, s.weight, s.flipVertical ?? false]),
        steps: o.steps,
        batch: o.batch,
        T: o.targetsPerImage,
        lr: o.lr,
        wd: o.weightDecay ?? 0,
        warmup: o.warmup ?? null,
        seed: o.seed,
        modes: o.modeWeights ?? null,
        power: o.smallObjectPower ?? null,
        S,
        recipe: 'sam-pretrain-v1',
        // only when set, so runs that leave it at its default keep their key (and their checkpoints)
        ...(o.iouWeight !== undefined ? { iouWeight: o.iouWeight } : {}),
      }),
    )
    .digest('hex');
}

function pickWeighted(rng: Rng, weights: number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i]!;
    if (u < 0) return i;
  }
  return weights.length - 1;
}

/** Flips and a brightness / contrast / gamma change, drawn from the step's stream. */
function augment(image: RgbImage, targets: PromptTarget[], neighbours: LabelledSample['neighbours'], rng: Rng, allowVertical: boolean) {
  const fh = rng.next() < 0.5;
  const fv = allowVertical && rng.next() < 0.5;
  const tone = rng.next() < 0.4 ? { gain: rng.uniform(0.7, 1.4), bias: rng.uniform(-25, 25), gamma: Math.exp(rng.uniform(-0.3, 0.3)) } : null;
  const { width: w, height: h } = image;
  const flip = <T extends Uint8Array>(src: T, channels: number): T => {
    if (!fh && !fv) return src;
    const out = new (src.constructor as new (n: number) => T)(src.length);
    for (let y = 0; y < h; y++) {
      const sy = fv ? h - 1 - y : y;
      for (let x = 0; x < w; x++) {
        const sx = fh ? w - 1 - x : x;
        for (let c = 0; c < channels; c++) out[(y * w + x) * channels + c] = src[(sy * w + sx) * channels + c]!;
      }
    }
    return out;
  };
  let data = flip(image.data, 3);
  if (tone) {
    const lut = new Uint8Array(256);
    for (let v = 0; v < 256; v++) {
      const g = Math.max(0, Math.min(1, ((v - 128) * tone.gain + 128 + tone.bias) / 255)) ** tone.gamma;
      lut[v] = Math.round(g * 255);
    }
    data = data === image.data ? Uint8Array.from(data) : data;
    for (let i = 0; i < data.length; i++) data[i] = lut[data[i]!]!;
  }
  return {
    image: rgbImage(w, h, data),
    targets: targets.map((t) => ({ ...t, mask: flip(t.mask, 1), inner: t.inner.map((m) => flip(m, 1)) })),
    neighbours: neighbours.map((n) => ({ offset: n.offset, labels: flip(n.labels, 1) })),
  };
}

interface PreparedImage {
  input: Float32Array;
  width: number;
  height: number;
  targets: PromptTarget[];
  neighbours: LabelledSample['neighbours'];
}

export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const { config: c, batch: B, targetsPerImage: T } = o;
  const S = c.img_size;
  const L = 4 * embedGrid(c, S);
  const P = B * T;
  const log = o.log ?? (() => undefined);
  const progress = o.progress ?? silentProgress;
  const power = o.smallObjectPower ?? 0.5;
  if (!o.sources.length || o.sources.some((s) => s.source.count < 1)) throw new Error('every pre-training source needs at least one image');
  const ema = { loss: new Ema() };
  const diceByMode = new Map<string, Ema>();
  const run = await startRun({ weights: o.weights, trainable: o.trainable, lr: o.lr, ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}), workDir: o.workDir, runKey: pretrainKey(o, S), resume: o.resume ?? false });
  const { params, optimizer, start } = run;
  if (start > 0) {
    ema.loss.value = run.stats['loss'] ?? NaN;
    log(`resuming from the checkpoint at step ${start}`);
  }
  // wall time of the sessions before this one, carried in the checkpoint so a resumed run reports the whole
  const earlierSeconds = start > 0 ? (run.stats['seconds'] ?? NaN) : 0;
  const checkpoint = (step: number) => run.save(step, { loss: ema.loss.value, seconds: earlierSeconds + (performance.now() - t0) / 1000 });
  const runner = new PretrainRunner({
    config: c,
    weights: o.weights,
    trainable: o.trainable,
    params,
    optimizer,
    batch: B,
    targetsPerImage: T,
    inputSize: S,
    loss: { kind: 'sam', singleOutputOnClicks: false, ...(o.iouWeight !== undefined ? { iouWeight: o.iouWeight } : {}) },
    // onnxruntime's threads sleep between runs: on a shared machine spinning ones take the cores the next step's data needs
    session: { device: o.device ?? 'auto', spinning: false, ...(o.threads ? { threads: o.threads } : {}) },
  });

  /** The images of step `step` and its plan, all drawn from the step's own stream. */
  const prepare = async (step: number) => {
    const rng = stepRng(o.seed, step, 1);
    const plan = drawPlan(rng, o.modeWeights ?? DEFAULT_MODE_WEIGHTS);
    const images: PreparedImage[] = [];
    for (let b = 0; b < B; b++) {
      const k = pickWeighted(rng, o.sources.map((s) => s.weight));
      const src = o.sources[k]!;
      const sample = await src.source.load(rng.int(0, src.source.count), { neighbours: plan.mode === 'neighbour' });
      if (!sample.targets.length) throw new Error(`an image of ${src.source.name} has no target`);
      const a = augment(sample.image, sample.targets, sample.neighbours, rng, src.flipVertical ?? false);
      const [nh, nw] = preprocessShape(a.image.height, a.image.width, S);
      const resized = nh === a.image.height && nw === a.image.width ? a.image : resizeRgb(a.image, nh, nw);
      images.push({ input: toModelInput(resized, S).data, width: a.image.width, height: a.image.height, targets: a.targets, neighbours: a.neighbours });
    }
    return { rng, plan, images };
  };

  const warmup = o.warmup ?? Math.min(200, Math.floor(o.steps * 0.05));
  const every = o.checkpointEvery ?? 250;
  const t0 = performance.now();
  let lastLoss = NaN;
  let next = start < o.steps ? prepare(start) : null;
  try {
    for (let step = start; step < o.steps; step++) {
      await new Promise<void>((r) => setImmediate(r));
      if (o.signal?.aborted) {
        await checkpoint(step);
        throw new TrainingCancelled(step);
      }
      const { rng, plan, images } = await next!;
      // prompts are drawn on this step's stream after its images; the next step's images load meanwhile
      next = step + 1 < o.steps ? prepare(step + 1) : null;
      const batchImages = float32([B, 3, S, S]);
      images.forEach((im, b) => batchImages.data.set(im.input, b * 3 * S * S));
      const { prompts, targets } = await buildPrompts(plan, images, rng);
      const lr = learningRate(o.lr, step, o.steps, warmup);
      const outcome = await runner.step(batchImages, prompts, targets, plan.multimask, lr, step);
      lastLoss = outcome.loss;
      ema.loss.add(outcome.loss);
      const modeDice = diceByMode.get(plan.mode) ?? new Ema();
      diceByMode.set(plan.mode, modeDice);
      for (const d of shownDice(outcome.masks, outcome.iou, targets, plan.multimask)) modeDice.add(d);
      const done = step + 1;
      if (done % every === 0 || done === o.steps) {
        await checkpoint(done);
        log(`checkpoint saved at step ${done}`);
      }
      const elapsed = (performance.now() - t0) / 1000;
      progress({
        task: 'pretrain',
        done,
        total: o.steps,
        info: { loss: ema.loss.value, 'img/s': ((done - start) * B) / elapsed, ...Object.fromEntries([...diceByMode].map(([k, v]) => [k, v.value])) },
      });
    }
  } finally {
    await next?.catch(() => undefined);
    await runner.release();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    steps: o.steps,
    resumedFrom: start,
    seconds,
    totalSeconds: Number.isFinite(earlierSeconds) ? earlierSeconds + seconds : null,
    imagesPerSecond: o.steps > start ? ((o.steps - start) * B) / seconds : 0,
    finalLoss: lastLoss,
    diceByMode: Object.fromEntries([...diceByMode].map(([k, v]) => [k, v.value])),
  };

  /** Dice (low res) of what the user would see for each prompt: the best-scored candidate of a click, else the single mask. */
  function shownDice(masks: Float32Array, iou: Float32Array, targets: Float32Array, multimask: boolean): number[] {
    const M = c.num_multimask_outputs + 1;
    const out: number[] = [];
    for (let p = 0; p < P; p++) {
      let best = 0;
      if (multimask) {
        best = 1;
        for (let j = 2; j < M; j++) if (iou[p * M + j]! > iou[p * M + best]!) best = j;
      }
      const pred = new Uint8Array(L * L);
      const gt = new Uint8Array(L * L);
      for (let i = 0; i < L * L; i++) {
        pred[i] = masks[(p * M + best) * L * L + i]! > 0 ? 1 : 0;
        gt[i] = targets[p * L * L + i]! > 0.5 ? 1 : 0;
      }
      out.push(overlap(pred, gt).dice);
    }
    return out;
  }

  /** Targets (T per image, small ones favoured) and their prompts; corrective clicks ask the model. */
  async function buildPrompts(plan: StepPlan, images: PreparedImage[], rng: Rng): Promise<{ prompts: StepPrompts; targets: Float32Array }> {
    const frames: TargetFrames[] = [];
    const lowRes: Float32Array[] = [];
    for (const im of images) {
      const weights = im.targets.map((t) => Math.pow(Math.max(1, t.area), -power));
      for (let k = 0; k < T; k++) {
        const t = im.targets[pickWeighted(rng, weights)]!;
        const { maskS, target } = targetInFrames(t.mask, im.width, im.height, S, L);
        let neighbour: Uint8Array | null = null;
        if (plan.mode === 'neighbour' && im.neighbours.length) {
          const n = im.neighbours[rng.int(0, im.neighbours.length)]!;
          const m = neighbourMask(t, n.labels, im.width, im.height);
          if (m) neighbour = targetInFrames(m, im.width, im.height, S, L).maskS;
        }
        frames.push({ maskS, inner: t.inner.map((m) => targetInFrames(m, im.width, im.height, S, L).maskS), neighbour });
        lowRes.push(target);
      }
    }
    const prompts: StepPrompts = { points: [], maskInputs: [] };
    for (const f of frames) {
      const p = initialPrompt(plan, f, S, L, rng);
      prompts.points.push(p.points);
      prompts.maskInputs.push(p.maskInput);
    }
    if (plan.mode === 'corrective') {
      const images4d = float32([B, 3, S, S]);
      images.forEach((im, b) => images4d.data.set(im.input, b * 3 * S * S));
      const emb = await runner.embeddings(images4d);
      const M = c.num_multimask_outputs + 1;
      for (let k = 1; k < plan.clicks; k++) {
        const multimask = k === 1;
        const out = await runner.decode(emb, prompts, multimask);
        for (let p = 0; p < P; p++) {
          // what the user sees: the best-scored candidate after one click, the single mask after more
          let best = 0;
          if (multimask) {
            best = 1;
            for (let j = 2; j < M; j++) if (out.iou[p * M + j]! > out.iou[p * M + best]!) best = j;
          }
          const logits = out.masks.slice((p * M + best) * L * L, (p * M + best + 1) * L * L);
          const pred = new Uint8Array(L * L);
          for (let i = 0; i < L * L; i++) pred[i] = logits[i]! > 0 ? 1 : 0;
          const gt = new Uint8Array(L * L);
          for (let i = 0; i < L * L; i++) gt[i] = lowRes[p]![i]! > 0.5 ? 1 : 0;
          const err = nextErrorClick(pred, gt, L, L);
          const f = S / L;
          const pts = prompts.points[p]!.filter((q) => q.label !== -1);
          pts.push(err ? { x: err.x * f + (f - 1) / 2, y: err.y * f + (f - 1) / 2, label: err.label } : { ...pts[0]! });
          pts.push({ x: 0, y: 0, label: -1 });
          prompts.points[p] = pts;
          prompts.maskInputs[p] = logits;
          if (k === plan.clicks - 1) {
            const d = diceByMode.get('corrective-before') ?? new Ema();
            d.add(overlap(pred, gt).dice);
            diceByMode.set('corrective-before', d);
          }
        }
      }
    }
    const targets = new Float32Array(P * L * L);
    lowRes.forEach((t, p) => targets.set(t, p * L * L));
    return { prompts, targets };
  }
}
