/**
 * Interactive prediction on an exported model folder, as SAM's SamPredictor: encode an image
 * once, then decode any number of prompt sets against its embedding.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RgbImage } from '../image/index.js';
import { openModelFolder } from '../model/manifest.js';
import { serializeModel, writeModel } from '../onnx/serialize.js';
import { type ModelConfig, embedGrid } from '../sam/config.js';
import { buildDecoderGraph, buildEncoderGraph } from '../sam/graphs.js';
import type { Weights } from '../sam/weights.js';
import { type DecodeRequest, type DecodedLogits, type DecoderSession, type Prompts, type SizeHW, runDecoder } from '../decode/index.js';
import { resizeLongestSide, toModelInput } from '../preprocess/index.js';
import { type Device, type LoadedSession, openSession, runSession } from '../runtime/session.js';
import { type Tensor, tensor } from '../tensor.js';

export interface ImageEmbedding {
  embeddings: Tensor<'float32'>;
  originalSize: SizeHW;
  /** Milliseconds spent preprocessing and running the encoder. */
  preprocessMs: number;
  encodeMs: number;
}

export interface DecodeOptions {
  /** Three candidate masks (SAM's multimask output) instead of one. */
  multimask?: boolean;
  /** Low-res logits [1, 1, 4E, 4E] of an earlier prediction, to refine it. */
  maskInput?: Tensor<'float32'> | null;
}

export interface Prediction {
  /** Logits at the original size, [K, H, W] for K masks (> 0 is foreground). */
  masks: Tensor<'float32'>;
  /** Predicted IoU per mask. */
  iou: number[];
  /** Low-res logits [K, 4E, 4E], to pass back as a mask prompt. */
  lowRes: Tensor<'float32'>;
  decodeMs: number;
}

export interface PredictorOptions {
  device?: Device;
  threads?: number;
  onFallback?: (reason: string) => void;
  /** onnxruntime's CPU memory arena (see SessionOptions.cpuMemArena). */
  cpuMemArena?: boolean;
  /** onnxruntime's threads spin between runs (see SessionOptions.spinning). */
  spinning?: boolean;
}

/** What the predictor needs to know about the graphs it runs. */
export interface PredictorGeometry {
  inputSize: number;
  lowResSize: number;
  maskTokens: number;
  /** Shape of one image's embeddings, [1, C, E, E]. */
  embeddingShape: [number, number, number, number];
}

function sessionOptions(o: PredictorOptions) {
  return {
    device: o.device ?? 'auto',
    ...(o.threads ? { threads: o.threads } : {}),
    ...(o.onFallback ? { onFallback: o.onFallback } : {}),
    ...(o.cpuMemArena === undefined ? {} : { cpuMemArena: o.cpuMemArena }),
    ...(o.spinning === undefined ? {} : { spinning: o.spinning }),
  };
}

export class SamPredictor {
  private constructor(
    readonly geometry: PredictorGeometry,
    private readonly encoder: LoadedSession,
    private readonly decoder: LoadedSession,
  ) {}

  /** Opens an exported model folder. */
  static async open(dir: string, o: PredictorOptions = {}): Promise<SamPredictor> {
    const model = await openModelFolder(dir);
    const m = model.manifest;
    const encoder = await openSession(model.encoderPath, sessionOptions(o));
    const decoder = await openSession(model.decoderPath, sessionOptions(o));
    const geometry: PredictorGeometry = {
      inputSize: m.input_size,
      lowResSize: m.low_res_size,
      maskTokens: m.mask_tokens,
      embeddingShape: [1, m.embedding.channels, m.embedding.size, m.embedding.size],
    };
    return new SamPredictor(geometry, encoder, decoder);
  }

  /** Builds the graphs in memory from weights (e.g. a base model with freshly trained adapters). */
  static async fromWeights(config: ModelConfig, weights: Weights, inputSize = config.img_size, o: PredictorOptions = {}): Promise<SamPredictor> {
    const encoderGraph = buildEncoderGraph(config, weights, { inputSize });
    let bytes = 0;
    for (const t of weights.values()) bytes += t.data.byteLength;
    let encoder: LoadedSession;
    if (bytes < 1.8e9) {
      encoder = await openSession(serializeModel(encoderGraph), sessionOptions(o));
    } else {
      // Past protobuf's 2 GB limit the encoder needs external data, hence a file.
      const dir = await mkdtemp(path.join(tmpdir(), 'glmedsa-encoder-'));
      try {
        await writeModel(encoderGraph, path.join(dir, 'encoder.onnx'), { externalData: 'always' });
        encoder = await openSession(path.join(dir, 'encoder.onnx'), sessionOptions(o));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const decoder = await openSession(serializeModel(buildDecoderGraph(config, weights, { inputSize })), sessionOptions(o));
    const E = embedGrid(config, inputSize);
    const geometry: PredictorGeometry = {
      inputSize,
      lowResSize: 4 * E,
      maskTokens: config.num_multimask_outputs + 1,
      embeddingShape: [1, config.prompt_dim, E, E],
    };
    return new SamPredictor(geometry, encoder, decoder);
  }

  get inputSize(): number {
    return this.geometry.inputSize;
  }

  /** Frees the onnxruntime sessions (required before a worker thread that holds them ends). */
  async release(): Promise<void> {
    await this.encoder.session.release();
    await this.decoder.session.release();
  }

  get provider(): 'cuda' | 'cpu' {
    return this.encoder.provider;
  }

  /** The normalised, padded encoder input for an image. */
  preprocess(image: RgbImage): Tensor<'float32'> {
    return toModelInput(resizeLongestSide(image, this.inputSize), this.inputSize);
  }

  async encode(image: RgbImage): Promise<ImageEmbedding> {
    const t0 = performance.now();
    const input = this.preprocess(image);
    const t1 = performance.now();
    const out = await runSession(this.encoder, { image: input });
    const t2 = performance.now();
    return {
      embeddings: out['image_embeddings'] as Tensor<'float32'>,
      originalSize: [image.height, image.width],
      preprocessMs: t1 - t0,
      encodeMs: t2 - t1,
    };
  }

  /** The decoder as the decode core runs it (any session with `run(feeds)`). */
  private readonly decoderSession: DecoderSession<Tensor> = { run: (feeds) => runSession(this.decoder, feeds) };

  /**
   * Decodes one prompt set against an embedding of this model's geometry, by the decode core's
   * rules (its multimask default included): what the server's workers answer clicks with.
   */
  decodeLogits(emb: { data: Float32Array; originalSize: SizeHW }, req: DecodeRequest): Promise<DecodedLogits> {
    return runDecoder(this.decoderSession, (data, dims) => tensor('float32', dims, data), { ...emb, shape: this.geometry.embeddingShape, inputSize: this.inputSize }, req);
  }

  /** Decodes one prompt set: one mask, or SAM's candidates with `multimask`. */
  async decode(emb: ImageEmbedding, prompts: Prompts, o: DecodeOptions = {}): Promise<Prediction> {
    const low = this.geometry.lowResSize;
    const maskInput = o.maskInput ?? null;
    if (maskInput && (maskInput.shape.length !== 4 || maskInput.shape[2] !== low || maskInput.shape[3] !== low)) {
      throw new Error(`mask input must be [1, 1, ${low}, ${low}] low-res logits`);
    }
    const d = await this.decodeLogits(
      { data: emb.embeddings.data, originalSize: emb.originalSize },
      { ...prompts, maskInput: maskInput?.data ?? null, multimask: !!o.multimask },
    );
    const count = d.scores.length;
    return {
      masks: tensor('float32', [count, d.height, d.width], d.masks),
      iou: d.scores,
      lowRes: tensor('float32', [count, d.lowResSize, d.lowResSize], d.lowRes),
      decodeMs: d.decodeMs,
    };
  }
}
