/**
 * An inference worker thread: holds onnxruntime sessions for every model and runs the
 * compute-heavy parts of a request (DICOM frame rendering, SAM preprocessing, encoder, decoder,
 * mask encoding), so the HTTP thread never blocks.
 */
import { parentPort } from 'node:worker_threads';
import { SamPredictor, encodePng, preprocessShape } from '@glmedsa/models';
import { type MaskAnswer, maskAnswer } from '@glmedsa/models/decode';
import { loadCodecFor } from '../dicom/codecs/index.js';
import { NotFound, isDomainError } from '../errors.js';
import { type ImageLimits, isLargeImage } from '../images/limits.js';
import { renderForEncoder } from '../images/render.js';
import { summarizeUpsampled } from './mask-upsample.js';
import { collectGarbage } from './release-memory.js';
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
  // A large upload arrives already resized to the encoder's input (SAM's resize, done by strips).
  const { image, originalSize } = await renderForEncoder(job.source, limits!, predictor.inputSize);
  const t1 = performance.now();
  const emb = await native(() => predictor.encode(image));
  return {
    embeddings: emb.embeddings.data,
    originalSize,
    timings: { render: t1 - t0, preprocess: emb.preprocessMs, encode: emb.encodeMs },
  };
}

async function decode(job: DecodeJob): Promise<DecodeResult> {
  const predictor = model(job.model);
  const [H, W] = job.originalSize;
  // A large image's decoder output stops at the resized size (h x w); the last upsampling to
  // H x W is done here row by row (mask-upsample.ts). Prompts are given in that frame, scaled as
  // SAM scales them (x * (w / W)), so the decoder sees the same coordinates as for the full size.
  const large = isLargeImage(W, H, limits!);
  const [h, w] = large ? preprocessShape(H, W, predictor.inputSize) : [H, W];
  const sx = w / W;
  const sy = h / H;
  const { points, labels, box } = job.prompts;
  const prompts = large
    ? { points: points.map(([x, y]): [number, number] => [x * sx, y * sy]), labels, box: box && ([box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy] as [number, number, number, number]) }
    : { points, labels, box };
  const decoded = await native(() => predictor.decodeLogits(
    { data: job.embeddings, originalSize: [h, w] },
    { ...prompts, multimask: job.multimask, maskInput: job.maskInput },
  ));
  const t0 = performance.now();
  const L = decoded.lowResSize;
  const answer: MaskAnswer = large
    ? {
        masks: decoded.scores.map((score, k) => ({ ...summarizeUpsampled(decoded.masks.subarray(k * h * w, (k + 1) * h * w), h, w, H, W), score })),
        best: decoded.best,
        lowRes: decoded.lowRes.slice(decoded.best * L * L, (decoded.best + 1) * L * L),
        lowResSize: L,
      }
    : maskAnswer(decoded);
  return { ...answer, timings: { decode: decoded.decodeMs, postprocess: performance.now() - t0 } };
}

/** One decode on zeros, so onnxruntime's first-run allocations do not land on a user's first click. */
async function warmUp(p: SamPredictor): Promise<void> {
  const [, c, e] = p.geometry.embeddingShape;
  const embeddings = { dtype: 'float32' as const, shape: [...p.geometry.embeddingShape], data: new Float32Array(c * e * e) };
  await p.decode({ embeddings, originalSize: [64, 64], preprocessMs: 0, encodeMs: 0 }, { points: [[32, 32]], labels: [1] }, { multimask: true });
  // The image decoder's code paths too.
  await renderForEncoder({ type: 'encoded', bytes: encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3) }), mediaType: 'image/png' }, limits!, p.inputSize);
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
  const large = job.kind === 'encode' ? job.pixels !== undefined && job.pixels > limits!.largeImagePixels : isLargeImage(job.originalSize[1], job.originalSize[0], limits!);
  (job.kind === 'encode' ? encode(job) : decode(job)).finally(() => {
    // What a large image left behind goes now, not whenever V8 next feels like collecting.
    if (large) setImmediate(collectGarbage);
  }).then(
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
