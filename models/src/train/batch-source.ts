/**
 * What one train step sees: B images of the data set in a seeded order (a fresh permutation per
 * epoch), randomly flipped when augmenting, preprocessed to the model's input size, and, when the
 * image encoder is frozen, already encoded. Everything is derived from (seed, step), so step k of
 * a resumed run gets exactly the batch of step k of an uninterrupted one.
 */
import { serializeModel } from '../onnx/serialize.js';
import { type LoadedSession, type SessionOptions, openSession, runSession } from '../runtime/session.js';
import { type ModelConfig, embedGrid } from '../sam/config.js';
import { buildEncoderGraph } from '../sam/graphs.js';
import type { Weights } from '../sam/weights.js';
import { type Tensor, float32 } from '../tensor.js';
import type { Rng } from '../util/random.js';
import { stepRng } from './clicks.js';
import { type SampleSource, type TrainSample, flipImage, makeTrainSample } from './samples.js';

export interface TrainBatch {
  samples: TrainSample[];
  /** The step graph's image input: `image` [B,3,S,S] when the encoder trains, else `image_embeddings`. */
  imageFeed: Record<string, Tensor>;
  /** Low-res targets [B,1,L,L]. */
  targets: Tensor<'float32'>;
}

interface BatchSourceOptions {
  config: ModelConfig;
  /** The model's weights; only read here, to encode images once when the encoder is frozen. */
  weights: Weights;
  data: SampleSource;
  batch: number;
  inputSize: number;
  seed: number;
  augment: boolean;
  /** True when the encoder trains: batches carry images, not embeddings. */
  encoderTrains: boolean;
  /** Where and how the sessions run (device, threads). */
  session: SessionOptions;
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

export class BatchSource {
  private readonly S: number;
  private readonly E: number;
  private readonly L: number;
  private readonly permutations = new Map<number, number[]>();
  // Preprocessed samples (and frozen-encoder embeddings) are cached by item and flip.
  private readonly sampleCache: (key: string, make: () => Promise<TrainSample>) => Promise<TrainSample>;
  private readonly embeddingCache: (key: string, make: () => Promise<Float32Array>) => Promise<Float32Array>;

  private constructor(
    private readonly o: BatchSourceOptions,
    private readonly encoder: LoadedSession | null,
  ) {
    const c = o.config;
    this.S = o.inputSize;
    this.E = embedGrid(c, this.S);
    this.L = 4 * this.E;
    this.sampleCache = boundedMemo(Math.max(64, Math.floor(1.5e9 / (3 * this.S * this.S * 4 + this.S * this.S))));
    this.embeddingCache = boundedMemo(Math.max(64, Math.floor(2e9 / (c.prompt_dim * this.E * this.E * 4))));
  }

  /** Opens the frozen encoder (when the encoder does not train) and returns the source. */
  static async open(o: BatchSourceOptions): Promise<BatchSource> {
    if (o.data.count < 1) throw new Error('the training data has no images');
    const encoder = o.encoderTrains
      ? null
      : await openSession(serializeModel(buildEncoderGraph(o.config, o.weights, { inputSize: o.inputSize })), o.session);
    return new BatchSource(o, encoder);
  }

  /**
   * The batch of `step`. The flips are the first draws of the step's random stream `rng`
   * (two per image when augmenting, none otherwise); the caller goes on drawing from it.
   */
  async batch(step: number, rng: Rng): Promise<TrainBatch> {
    const { batch: B, augment } = this.o;
    const samples: TrainSample[] = [];
    const keys: string[] = [];
    for (let b = 0; b < B; b++) {
      const item = this.itemAt(step * B + b);
      const fh = augment && rng.next() < 0.5;
      const fv = augment && rng.next() < 0.5;
      samples.push(await this.sample(item, fh, fv));
      keys.push(`${item}:${+fh}${+fv}`);
    }
    const targets = float32([B, 1, this.L, this.L]);
    samples.forEach((s, b) => targets.data.set(s.target, b * this.L * this.L));
    return { samples, imageFeed: await this.imageFeed(samples, keys), targets };
  }

  async release(): Promise<void> {
    await this.encoder?.session.release();
  }

  /** The data item at position j of the run's sample order (epoch after epoch). */
  private itemAt(j: number): number {
    const count = this.o.data.count;
    const epoch = Math.floor(j / count);
    let perm = this.permutations.get(epoch);
    if (!perm) {
      perm = stepRng(this.o.seed, epoch, 2).shuffle([...Array(count).keys()]);
      this.permutations.set(epoch, perm);
      this.permutations.delete(epoch - 2);
    }
    return perm[j % count]!;
  }

  private sample(item: number, fh: boolean, fv: boolean): Promise<TrainSample> {
    return this.sampleCache(`${item}:${+fh}${+fv}`, () =>
      this.o.data.load(item).then(({ image, mask }) => {
        const f = flipImage(image, mask, fh, fv);
        return makeTrainSample(f.image, f.mask, this.S, this.L);
      }),
    );
  }

  private async imageFeed(samples: TrainSample[], keys: string[]): Promise<Record<string, Tensor>> {
    const { S, E } = this;
    const B = samples.length;
    if (!this.encoder) {
      const images = float32([B, 3, S, S]);
      samples.forEach((s, b) => images.data.set(s.input, b * 3 * S * S));
      return { image: images };
    }
    const encoder = this.encoder;
    const per = this.o.config.prompt_dim * E * E;
    const embs = float32([B, this.o.config.prompt_dim, E, E]);
    for (let b = 0; b < B; b++) {
      const emb = await this.embeddingCache(keys[b]!, () =>
        runSession(encoder, { image: float32([1, 3, S, S], samples[b]!.input) }).then((r) => r['image_embeddings']!.data as Float32Array),
      );
      embs.data.set(emb, b * per);
    }
    return { image_embeddings: embs };
  }
}
