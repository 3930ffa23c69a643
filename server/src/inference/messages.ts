/** Messages between the HTTP thread and the inference workers. */
import type { EncodedMask } from '../api/responses.js';
import type { ErrorKind } from '../errors.js';
import type { ImageLimits } from '../images/limits.js';
import type { ImageSource } from '../images/source.js';

export interface ModelToLoad {
  id: string;
  dir: string;
}

export interface EncodeJob {
  kind: 'encode';
  model: string;
  source: ImageSource;
  /** Width x height of the image, when known before decoding (the pool's large-image lane). */
  pixels?: number;
}

interface PromptSpec {
  points: [number, number][];
  labels: number[];
  box: [number, number, number, number] | null;
}

export interface DecodeJob {
  kind: 'decode';
  model: string;
  embeddings: Float32Array;
  originalSize: [number, number];
  prompts: PromptSpec;
  /** Low-res logits [L*L] of a previous mask to refine, or null. */
  maskInput: Float32Array | null;
  /** SAM's candidates instead of one mask; absent: the decode core's default (multimaskByDefault). */
  multimask?: boolean | undefined;
}

export type Job = EncodeJob | DecodeJob;

export interface EncodeResult {
  embeddings: Float32Array;
  originalSize: [number, number];
  timings: { render: number; preprocess: number; encode: number };
}

export type { EncodedMask };

export interface DecodeResult {
  masks: EncodedMask[];
  /** Index of the mask with the highest predicted IoU. */
  best: number;
  /** Low-res logits of the best mask (kept server-side for refinement). */
  lowRes: Float32Array;
  lowResSize: number;
  timings: { decode: number; postprocess: number };
}

export type WorkerRequest =
  /** Load the sessions and warm them; `limits` bound every image this worker decodes; `guard` is native-guard.ts's shared word. */
  | {
      type: 'load';
      models: ModelToLoad[];
      device: 'auto' | 'cuda' | 'cpu';
      threads: number;
      /** onnxruntime's CPU memory arena on or off (config workers.cpuMemArena). */
      cpuMemArena: boolean;
      /** onnxruntime's CPU threads spin between runs (config workers.spinning). */
      spinning: boolean;
      limits: ImageLimits;
      guard: Int32Array;
    }
  | { type: 'job'; id: number; job: Job }
  /** Load one more model (an adapter version) next to the others; answered by model-loaded. */
  | { type: 'load-model'; model: ModelToLoad }
  /** Release one model's sessions (no job uses it any more). */
  | { type: 'unload-model'; id: string }
  /** Report this thread's memory; answered by `memory` with the same id. */
  | { type: 'memory'; id: number }
  /** Release the sessions and end the thread (a graceful end; a worker whose job overran is terminated instead). */
  | { type: 'close' };

/** One thread's V8 memory (process.memoryUsage() inside that thread; RSS is the process's). */
export interface ThreadMemory {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export type WorkerResponse =
  | { type: 'ready'; models: { id: string; provider: 'cuda' | 'cpu'; fallback?: string }[] }
  | { type: 'load-failed'; message: string }
  | { type: 'model-loaded'; id: string; error?: string }
  | { type: 'memory'; id: number; usage: ThreadMemory }
  | { type: 'done'; id: number; result: EncodeResult | DecodeResult }
    /** `kind` is set for the domain errors the worker threw on purpose; their message is public. */
  | { type: 'failed'; id: number; message: string; kind?: ErrorKind; code?: string };
