/**
 * An inference worker thread: holds onnxruntime sessions for every model and runs the
 * compute-heavy parts of a request (DICOM frame rendering, SAM preprocessing, encoder, decoder,
 * mask encoding), so the HTTP thread never blocks.
 */
import { parentPort } from 'node:worker_threads';
import { SamPredictor, decodePng, encodePng } from '@glmedsa/models';
import { maskAnswer } from '@glmedsa/models/decode';
import { loadCodecFor } from '../dicom/codecs/index.js';
import { NotFound, isDomainError } from '../errors.js';
import type { ImageLimits } from '../images/limits.js';
import { renderSource } from '../images/render.js';
import { guardedNative } from './native-guard.js';
import type { DecodeJob, DecodeResult, EncodeJob, EncodeResult, WorkerRequest, WorkerResponse } from './messages.js';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const predictors = new Map<string, SamPredictor>();
let limits: ImageLimits | null = null;
/** Marks this thread's onnxruntime calls, so the pool terminates it only outside them (native-guard.ts). */
let guard: Int32Array | null = null;
const native = <T>(call: () => Promise<T>): Promise<T> => guardedNative(guard!, call);
/** The device and threads of the first load, for models loaded later (adapter versions). */
let lastDevice: 'auto' | 'cuda' | 'cpu' = 'auto';
let lastThreads = 0;
let cpuMemArena = true;
let spinning = false;

function post(msg: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function model(id: string): SamPredictor {
  const p = predictors.get(id);
  if (!p) throw new NotFound(`model '${id}' is not loaded`);
  return p;
}

async function encode(job: EncodeJob): Promise<EncodeResult> {
  const predictor = model(job.model);
  const t0 = performance.now();
  // Compressed frames the PACS would not transcode are decoded here; their WASM codec loads on first use.
  if (job.source.type === 'dicom') await loadCodecFor(job.source.frame.raw.transferSyntaxUID);
  const image = renderSource(job.source, limits!);
  const t1 = performance.now();
  const emb = await native(() => predictor.encode(image));
  return {
    embeddings: emb.embeddings.data,
    originalSize: [image.height, image.width],
    timings: { render: t1 - t0, preprocess: emb.preprocessMs, encode: emb.encodeMs },
  };
}

async function decode(job: DecodeJob): Promise<DecodeResult> {
  const predictor = model(job.model);
  const { points, labels, box } = job.prompts;
  const decoded = await native(() => predictor.decodeLogits(
    { data: job.embeddings, originalSize: job.originalSize },
    { points, labels, box, multimask: job.multimask, maskInput: job.maskInput },
  ));
  const t0 = performance.now();
  const answer = maskAnswer(decoded);
  return { ...answer, timings: { decode: decoded.decodeMs, postprocess: performance.now() - t0 } };
}

/** One decode on zeros, so onnxruntime's first-run allocations do not land on a user's first click. */
async function warmUp(p: SamPredictor): Promise<void> {
  const [, c, e] = p.geometry.embeddingShape;
  const embeddings = { dtype: 'float32' as const, shape: [...p.geometry.embeddingShape], data: new Float32Array(c * e * e) };
  await p.decode({ embeddings, originalSize: [64, 64], preprocessMs: 0, encodeMs: 0 }, { points: [[32, 32]], labels: [1] }, { multimask: true });
  decodePng(encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) })); // the image decoder's code paths too
}

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'memory') {
    const { heapUsed, external, arrayBuffers } = process.memoryUsage();
    post({ type: 'memory', id: msg.id, usage: { heapUsed, external, arrayBuffers } });
    return;
  }
  if (msg.type === 'close') {
    // Guarded like any onnxruntime call, so a pool that gives up waiting terminates between releases.
    Promise.allSettled([...predictors.values()].map((p) => native(() => p.release()))).finally(() => process.exit(0));
    return;
  }
  if (msg.type === 'load') {
    limits = msg.limits;
    guard = msg.guard;
    lastDevice = msg.device;
    lastThreads = msg.threads;
    cpuMemArena = msg.cpuMemArena;
    spinning = msg.spinning;
    (async () => {
      const loaded: { id: string; provider: 'cuda' | 'cpu'; fallback?: string }[] = [];
      for (const m of msg.models) {
        let fallback: string | undefined;
        const p = await SamPredictor.open(m.dir, {
          device: msg.device,
          ...(msg.threads ? { threads: msg.threads } : {}),
          cpuMemArena,
          spinning,
          onFallback: (reason) => (fallback = reason),
        });
        await warmUp(p);
        predictors.set(m.id, p);
        loaded.push({ id: m.id, provider: p.provider, ...(fallback ? { fallback } : {}) });
      }
      post({ type: 'ready', models: loaded });
    })().catch((err: unknown) => post({ type: 'load-failed', message: (err as Error).message }));
    return;
  }
  if (msg.type === 'load-model') {
    const m = msg.model;
    native(async () => {
      const p = await SamPredictor.open(m.dir, { device: lastDevice, ...(lastThreads ? { threads: lastThreads } : {}), cpuMemArena, spinning });
      await warmUp(p);
      return p;
    })
      .then((p) => {
        predictors.set(m.id, p);
        post({ type: 'model-loaded', id: m.id });
      })
      .catch((err: unknown) => post({ type: 'model-loaded', id: m.id, error: (err as Error).message }));
    return;
  }
  if (msg.type === 'unload-model') {
    const p = predictors.get(msg.id);
    predictors.delete(msg.id);
    if (p) void native(() => p.release()).catch(() => undefined);
    return;
  }
  const { id, job } = msg;
  (job.kind === 'encode' ? encode(job) : decode(job)).then(
    (result) => {
      const transfer = 'embeddings' in result ? [result.embeddings.buffer as ArrayBuffer] : [result.lowRes.buffer as ArrayBuffer];
      post({ type: 'done', id, result }, transfer);
    },
    (err: unknown) => {
      if (isDomainError(err)) post({ type: 'failed', id, message: err.message, kind: err.kind, ...(err.code ? { code: err.code } : {}) });
      else post({ type: 'failed', id, message: (err as Error)?.message ?? String(err) });
    },
  );
});
