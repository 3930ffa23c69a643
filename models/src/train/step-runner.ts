/**
 * Runs the model on a batch's prompts in onnxruntime: forward only (to place corrective clicks
 * with the current parameters) or the fused train step (forward + loss + backward), followed by
 * the AdamW update of the trainable parameters in place. Graphs have static shapes, so sessions
 * are built lazily per number of prompt points; one click means SAM's multimask outputs are the
 * ones trained and shown.
 */
import { serializeModel } from '../onnx/serialize.js';
import { type LoadedSession, type SessionOptions, openSession, runSession } from '../runtime/session.js';
import { type ModelConfig, embedGrid } from '../sam/config.js';
import type { Weights } from '../sam/weights.js';
import { type Tensor, float32 } from '../tensor.js';
import type { AdamW } from './adamw.js';
import type { TrainBatch } from './batch-source.js';
import type { Click } from './clicks.js';
import type { LossOptions } from './loss.js';
import { GRAD_PREFIX, buildTrainGraph } from './train-graph.js';

interface StepRunnerOptions {
  config: ModelConfig;
  weights: Weights;
  trainable: string[];
  /** The trainable tensors (the same objects as in `weights`), updated in place. */
  params: Map<string, Tensor<'float32'>>;
  optimizer: AdamW;
  batch: number;
  inputSize: number;
  loss?: LossOptions;
  /** Where and how the sessions run (device, threads). */
  session: SessionOptions;
}

interface StepOutcome {
  loss: number;
  /** The low-res logits inference would show for each image, [B, L, L], before the update. */
  shown: Float32Array;
  /** Milliseconds of the train-step graph run. */
  ms: number;
}

export class StepRunner {
  private readonly sessions = new Map<string, Promise<LoadedSession>>();
  private readonly L: number;

  constructor(private readonly o: StepRunnerOptions) {
    this.L = 4 * embedGrid(o.config, o.inputSize);
  }

  /** Forward pass with the current parameters: the shown low-res logits after these clicks. */
  async shownLogits(batch: TrainBatch, clicks: Click[][], maskInput: Float32Array | null): Promise<Float32Array> {
    const out = await runSession(await this.session(clicks[0]!.length + 1, false), {
      ...batch.imageFeed,
      ...this.promptFeeds(clicks, maskInput),
      ...this.paramFeeds(),
    });
    return this.pickShown(out, clicks[0]!.length);
  }

  /** One train step at learning rate `lr`: gradients of the loss, then the AdamW update. */
  async step(batch: TrainBatch, clicks: Click[][], maskInput: Float32Array | null, lr: number, step: number): Promise<StepOutcome> {
    const session = await this.session(clicks[0]!.length + 1, true);
    const started = performance.now();
    const out = await runSession(session, {
      ...batch.imageFeed,
      ...this.promptFeeds(clicks, maskInput),
      ...this.paramFeeds(),
      targets: batch.targets,
    });
    const ms = performance.now() - started;
    const loss = (out['loss']!.data as Float32Array)[0]!;
    if (!Number.isFinite(loss)) throw new Error(`the loss became ${loss} at step ${step}; lower the learning rate`);
    const grads = new Map<string, Float32Array>();
    for (const name of this.o.params.keys()) grads.set(name, out[`${GRAD_PREFIX}${name}`]!.data as Float32Array);
    this.o.optimizer.step(this.o.params, grads, lr);
    return { loss, shown: this.pickShown(out, clicks[0]!.length), ms };
  }

  async release(): Promise<void> {
    const sessions = await Promise.all(this.sessions.values());
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.session.release()));
  }

  private session(points: number, withGradients: boolean): Promise<LoadedSession> {
    const key = `${points}:${withGradients}`;
    let s = this.sessions.get(key);
    if (!s) {
      const graph = buildTrainGraph({
        config: this.o.config,
        weights: this.o.weights,
        trainable: this.o.trainable,
        batch: this.o.batch,
        points,
        inputSize: this.o.inputSize,
        maskInput: true,
        withGradients,
        multimask: points === 2,
        ...(this.o.loss ? { loss: this.o.loss } : {}),
      });
      s = openSession(serializeModel(graph), this.o.session);
      this.sessions.set(key, s);
    }
    return s;
  }

  private paramFeeds(): Record<string, Tensor> {
    return Object.fromEntries(this.o.params);
  }

  /** Clicks plus SAM's padding point (0, 0) with label -1, and the previous mask as mask prompt. */
  private promptFeeds(clicks: Click[][], maskInput: Float32Array | null): Record<string, Tensor> {
    const B = this.o.batch;
    const L = this.L;
    const N = clicks[0]!.length + 1;
    const coords = float32([B, N, 2]);
    const labels = float32([B, N]);
    clicks.forEach((ps, b) => {
      ps.forEach((p, k) => {
        coords.data[(b * N + k) * 2] = p.x;
        coords.data[(b * N + k) * 2 + 1] = p.y;
        labels.data[b * N + k] = p.label;
      });
      labels.data[b * N + N - 1] = -1;
    });
    return {
      point_coords: coords,
      point_labels: labels,
      mask_input: float32([B, 1, L, L], maskInput ?? undefined),
      has_mask_input: float32([B], new Array<number>(B).fill(maskInput ? 1 : 0)),
    };
  }

  /** Per image, what inference would show: the best predicted IoU of the multimask outputs after one click (the 'sam' loss), else the single output. */
  private pickShown(out: Record<string, Tensor>, clicks: number): Float32Array {
    const B = this.o.batch;
    const L = this.L;
    const M = this.o.config.num_multimask_outputs + 1;
    const masks = out['low_res_masks']!.data as Float32Array;
    const iou = out['iou_predictions']!.data as Float32Array;
    const shown = new Float32Array(B * L * L);
    for (let b = 0; b < B; b++) {
      let k = 0;
      if (clicks === 1 && (this.o.loss?.kind ?? 'sam') === 'sam') {
        k = 1;
        for (let j = 2; j < M; j++) if (iou[b * M + j]! > iou[b * M + k]!) k = j;
      }
      shown.set(masks.subarray((b * M + k) * L * L, (b * M + k + 1) * L * L), b * L * L);
    }
    return shown;
  }
}
