/**
 * onnxruntime-node sessions: provider selection with CUDA fallback, and conversion between the
 * project's Tensor type and ort.Tensor. session.run blocks its thread: servers call this from
 * worker threads.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { type DType, type Tensor, tensor } from '../tensor.js';

/**
 * onnxruntime 1.29's Linux build collects usage data: it records session creations, a device id
 * and the OS in ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ and leaves an empty
 * /tmp/mat-debug-<pid>.log per process. The library reads ORT_DISABLE_TELEMETRY=1 when its
 * environment is created (the first session of the process), and onnxruntime-node offers no
 * other switch. So it is set here, before any session, unless the operator set it (0 opts in).
 * Native code sees only the main thread's environment (a worker's process.env is a copy), so
 * this must first run on the main thread: it does wherever @glmedsa/models is imported there,
 * and workers started afterwards inherit it.
 */
const TELEMETRY_SWITCH = 'ORT_DISABLE_TELEMETRY';
process.env[TELEMETRY_SWITCH] ??= '1';

export type Device = 'auto' | 'cuda' | 'cpu';

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads (default: onnxruntime's choice, one per physical core). */
  threads?: number;
  /** Called once with a sentence when the requested provider is not used. */
  onFallback?: (reason: string) => void;
  /** onnxruntime graph optimisation level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * onnxruntime's CPU memory arena (default on, onnxruntime's default): tensors are carved out of
   * large blocks the session keeps for its lifetime; off, each run allocates and frees its own.
   */
  cpuMemArena?: boolean;
  /**
   * Whether onnxruntime's CPU threads spin between runs waiting for work (onnxruntime's default,
   * on). Off they sleep: with several sessions on few cores (inference workers serving concurrent
   * clicks) the spinning threads take the cores the other sessions need; a lone stream of runs
   * loses a little latency.
   */
  spinning?: boolean;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  provider: 'cuda' | 'cpu';
  inputNames: readonly string[];
  outputNames: readonly string[];
}

function baseOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: o.optimization ?? 'all',
    ...(o.threads ? { intraOpNumThreads: o.threads } : {}),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    ...(o.cpuMemArena === false ? { enableCpuMemArena: false } : {}),
    ...(o.spinning === false ? { extra: { 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0' } } : {}),
  };
}

/** Opens a model (path or bytes) on the requested device, falling back to the CPU. */
export async function openSession(model: string | Uint8Array, o: SessionOptions = {}): Promise<LoadedSession> {
  const device = o.device ?? 'auto';
  const create = (providers: string[]) =>
    typeof model === 'string'
      ? ort.InferenceSession.create(model, { ...baseOptions(o), executionProviders: providers })
      : ort.InferenceSession.create(model, { ...baseOptions(o), executionProviders: providers });
  let session: ort.InferenceSession | undefined;
  let provider: 'cuda' | 'cpu' = 'cpu';
  const cudaMissing = device !== 'cpu' ? missingCudaProvider() : undefined;
  if (device !== 'cpu' && cudaMissing) {
    const reason = `CUDA execution provider unavailable (${cudaMissing}); using the CPU`;
    if (device === 'cuda' && !o.onFallback) throw new Error(reason);
    o.onFallback?.(reason);
  } else if (device !== 'cpu') {
    try {
      session = await create(['cuda']);
      provider = 'cuda';
    } catch (err) {
      const reason = `CUDA execution provider unavailable (${firstLine(err)}); using the CPU`;
      if (device === 'cuda' && !o.onFallback) throw new Error(reason);
      o.onFallback?.(reason);
    }
  }
  session ??= await create(['cpu']);
  return { session, provider, inputNames: session.inputNames, outputNames: session.outputNames };
}

/** The folder holding onnxruntime-node's native libraries (where CUDA provider libraries must go). */
export function ortLibraryDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/** Why the CUDA provider cannot load (its libraries are absent), or undefined when they are present. */
export function missingCudaProvider(): string | undefined {
  const dir = ortLibraryDir();
  for (const lib of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) {
    if (!existsSync(path.join(dir, lib))) return `${lib} is not installed next to onnxruntime-node (${dir})`;
  }
  return undefined;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.slice(0, 300);
}

const ORT_TYPE: Partial<Record<DType, string>> = {
  float32: 'float32',
  float16: 'float16',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  int16: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPE[t.dtype];
  if (!type) throw new Error(`onnxruntime has no ${t.dtype} input support here`);
  return new ort.Tensor(type as 'float32', t.data as Float32Array, t.shape);
}

function fromOrt(t: ort.Tensor): Tensor {
  const dtype = (t.type === 'bool' ? 'bool' : t.type) as DType;
  const dims = [...t.dims];
  if (dtype === 'bool') return tensor('bool', dims, Uint8Array.from(t.data as unknown as ArrayLike<number>));
  return tensor(dtype, dims, t.data as Tensor['data']);
}

/** Runs a session on named tensors and returns every output (or those named). */
export async function runSession(
  s: LoadedSession,
  feeds: Record<string, Tensor>,
  outputs?: string[],
): Promise<Record<string, Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
  const result = outputs ? await s.session.run(ortFeeds, outputs) : await s.session.run(ortFeeds);
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(result)) out[k] = fromOrt(v);
  return out;
}
