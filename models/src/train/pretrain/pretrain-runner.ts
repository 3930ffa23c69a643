/**
 * The onnxruntime side of pre-training: a step runs the image encoder once for the B images and
 * the prompt encoder and mask decoder for their B x T prompts (T targets per image), with the loss
 * and every gradient, then AdamW updates the weights in place. Corrective clicks need the model's
 * current prediction first: the encoder alone on the images, then the decoder alone on the
 * prompts so far. Graphs have static shapes, so sessions are made lazily per prompt shape.
 */
import { Graph } from '../../ir/graph.js';
import { serializeModel } from '../../onnx/serialize.js';
import { type LoadedSession, type SessionOptions, openSession, runSession } from '../../runtime/session.js';
import { type ModelConfig, embedGrid } from '../../sam/config.js';
import { bindModel } from '../../sam/model.js';
import type { Weights } from '../../sam/weights.js';
import { type Tensor, float32 } from '../../tensor.js';
import type { AdamW } from '../adamw.js';
import type { LossOptions } from '../loss.js';
import { GRAD_PREFIX, buildTrainGraph } from '../train-graph.js';
import type { PromptPoint } from './prompt-recipe.js';

interface RunnerOptions {
  config: ModelConfig;
  weights: Weights;
  trainable: string[];
  params: Map<string, Tensor<'float32'>>;
  optimizer: AdamW;
  /** Images per step. */
  batch: number;
  /** Prompts (targets) per image. */
  targetsPerImage: number;
  inputSize: number;
  loss: LossOptions;
  session: SessionOptions;
}

/** One step's prompts: P = B x T prompt sets of `points` points each, and their mask prompts. */
export interface StepPrompts {
  points: PromptPoint[][];
  /** Low-res logits per prompt, or null for none. */
  maskInputs: (Float32Array | null)[];
}

interface RunnerOutcome {
  loss: number;
  /** Loss of each prompt. */
  perPrompt: Float32Array;
  /** Milliseconds of the train-step graph. */
  ms: number;
  /** Low-res logits [P, M, L, L] and predicted IoUs [P, M] before the update. */
  masks: Float32Array;
  iou: Float32Array;
}

export class PretrainRunner {
  private readonly sessions = new Map<string, Promise<LoadedSession>>();
  readonly L: number;
  private readonly E: number;
  private readonly encoderNames: string[];
  private readonly decoderNames: string[];

  constructor(private readonly o: RunnerOptions) {
    this.E = embedGrid(o.config, o.inputSize);
    this.L = 4 * this.E;
    this.encoderNames = o.trainable.filter((n) => n.startsWith('image_encoder.'));
    this.decoderNames = o.trainable.filter((n) => !n.startsWith('image_encoder.'));
  }

  /** Image embeddings of the batch [B, C, E, E] with the current weights (forward only). */
  async embeddings(images: Tensor<'float32'>): Promise<Float32Array> {
    const s = await this.session('encoder', () => {
      const { config: c, batch: B, inputSize: S } = this.o;
      const g = new Graph({ name: 'glmedsa_encoder_forward' });
      const model = bindModel(g, c, this.o.weights);
      g.output(model.imageEncoder(g.input('image', 'float32', [B, 3, S, S]), S), 'image_embeddings');
      for (const name of this.encoderNames) if (g.value(name)) g.promoteToInput(name);
      g.prune();
      return g;
    });
    const feeds: Record<string, Tensor> = { image: images };
    for (const name of this.encoderNames) if (s.inputNames.includes(name)) feeds[name] = this.o.params.get(name)!;
    return (await runSession(s, feeds))['image_embeddings']!.data as Float32Array;
  }

  /**
   * The decoder alone on the prompts with the current weights: low-res logits [P, M, L, L] and
   * predicted IoUs [P, M] (M = all mask tokens).
   */
  async decode(embeddings: Float32Array, prompts: StepPrompts, multimask: boolean): Promise<{ masks: Float32Array; iou: Float32Array }> {
    const { config: c, batch: B, targetsPerImage: T } = this.o;
    const N = prompts.points[0]!.length;
    const s = await this.session(`decode:${N}:${multimask}`, () =>
      buildTrainGraph({
        config: c,
        weights: this.o.weights,
        trainable: this.decoderNames,
        batch: B * T,
        points: N,
        inputSize: this.o.inputSize,
        maskInput: true,
        withGradients: false,
        multimask,
      }),
    );
    // each image's embedding repeated for its T prompts
    const per = c.prompt_dim * this.E * this.E;
    const emb = float32([B * T, c.prompt_dim, this.E, this.E]);
    for (let p = 0; p < B * T; p++) emb.data.set(embeddings.subarray(Math.floor(p / T) * per, (Math.floor(p / T) + 1) * per), p * per);
    const out = await runSession(s, { image_embeddings: emb, ...this.promptFeeds(prompts), ...this.paramFeeds(this.decoderNames) });
    return { masks: out['low_res_masks']!.data as Float32Array, iou: out['iou_predictions']!.data as Float32Array };
  }

  /** One train step at learning rate `lr`: loss and gradients of every trainable weight, then the update. */
  async step(images: Tensor<'float32'>, prompts: StepPrompts, targets: Float32Array, multimask: boolean, lr: number, step: number): Promise<RunnerOutcome> {
    const { config: c, batch: B, targetsPerImage: T } = this.o;
    const N = prompts.points[0]!.length;
    const s = await this.session(`train:${N}:${multimask}`, () =>
      buildTrainGraph({
        config: c,
        weights: this.o.weights,
        trainable: this.o.trainable,
        batch: B,
        targetsPerImage: T,
        points: N,
        inputSize: this.o.inputSize,
        maskInput: true,
        withGradients: true,
        multimask,
        loss: this.o.loss,
      }),
    );
    const started = performance.now();
    const out = await runSession(s, {
      image: images,
      ...this.promptFeeds(prompts),
      ...this.paramFeeds(this.o.trainable),
      targets: float32([B * T, 1, this.L, this.L], targets),
    });
    const ms = performance.now() - started;
    const loss = (out['loss']!.data as Float32Array)[0]!;
    if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${step}; lower the learning rate`);
    const grads = new Map<string, Float32Array>();
    for (const name of this.o.params.keys()) grads.set(name, out[`${GRAD_PREFIX}${name}`]!.data as Float32Array);
    this.o.optimizer.step(this.o.params, grads, lr);
    return {
      loss,
      perPrompt: out['loss_per_image']!.data as Float32Array,
      ms,
      masks: out['low_res_masks']!.data as Float32Array,
      iou: out['iou_predictions']!.data as Float32Array,
    };
  }

  async release(): Promise<void> {
    const sessions = await Promise.all(this.sessions.values());
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.session.release()));
  }

  private session(key: string, build: () => Graph): Promise<LoadedSession> {
    let s = this.sessions.get(key);
    if (!s) {
      s = openSession(serializeModel(build()), this.o.session);
      this.sessions.set(key, s);
    }
    return s;
  }

  private paramFeeds(names: string[]): Record<string, Tensor> {
    return Object.fromEntries(names.map((n) => [n, this.o.params.get(n)!]));
  }

  private promptFeeds(p: StepPrompts): Record<string, Tensor> {
    const P = p.points.length;
    const N = p.points[0]!.length;
    const L = this.L;
    const coords = float32([P, N, 2]);
    const labels = float32([P, N]);
    const masks = float32([P, 1, L, L]);
    const has = float32([P]);
    p.points.forEach((pts, k) => {
      if (pts.length !== N) throw new Error(`prompt ${k} has ${pts.length} points, the step's graph takes ${N}`);
      pts.forEach((pt, j) => {
        coords.data[(k * N + j) * 2] = pt.x;
        coords.data[(k * N + j) * 2 + 1] = pt.y;
        labels.data[k * N + j] = pt.label;
      });
      const m = p.maskInputs[k];
      if (m) {
        masks.data.set(m, k * L * L);
        has.data[k] = 1;
      }
    });
    return { point_coords: coords, point_labels: labels, mask_input: masks, has_mask_input: has };
  }
}
