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
import { type Prompts, type SizeHW, encodePrompts, resizeLongestSide, toModelInput, validatePrompts } from '../preprocess/index.js';
import { type Device, type LoadedSession, openSession, runSession } from '../runtime/session.js';
import { type Tensor, float32, tensor } from '../tensor.js';

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

/** The consecutive tokens `first..first+count-1` of [1, M, ...rest], as a view [count, ...rest]. */
function selectTokens(t: Tensor, first: number, count: number): Tensor<'float32'> {
  const rest = t.shape.slice(2);
  const size = rest.reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array;
  return tensor('float32', [count, ...rest], src.subarray(first * size, (first + count) * size));
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

  async decode(emb: ImageEmbedding, prompts: Prompts, o: DecodeOptions = {}): Promise<Prediction> {
    validatePrompts(prompts);
    const { pointCoords, pointLabels } = encodePrompts(prompts, emb.originalSize, this.inputSize);
    const low = this.geometry.lowResSize;
    const maskInput = o.maskInput ?? null;
    if (maskInput && (maskInput.shape.length !== 4 || maskInput.shape[2] !== low || maskInput.shape[3] !== low)) {
      throw new Error(`mask input must be [1, 1, ${low}, ${low}] low-res logits`);
    }
    const t0 = performance.now();
    const out = await runSession(this.decoder, {
      image_embeddings: emb.embeddings,
      point_coords: pointCoords,
      point_labels: pointLabels,
      mask_input: maskInput ?? float32([1, 1, low, low]),
      has_mask_input: float32([1], [maskInput ? 1 : 0]),
      orig_im_size: float32([2], emb.originalSize),
    });
    const decodeMs = performance.now() - t0;
    // Token 0 is SAM's single-mask output, tokens 1.. its multimask candidates.
    const [first, count] = o.multimask ? [1, this.geometry.maskTokens - 1] : [0, 1];
    const iouAll = out['iou_predictions']!.data as Float32Array;
    return {
      masks: selectTokens(out['masks']!, first, count),
      iou: Array.from(iouAll.subarray(first, first + count)),
      lowRes: selectTokens(out['low_res_masks']!, first, count),
      decodeMs,
    };
  }
}
