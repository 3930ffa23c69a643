/**
 * onnxruntime-web in the viewer: its wasm runtime from our server's /ext/ort/, and the fastest
 * backend the page allows: WebGPU when `navigator.gpu` gives an adapter and the decoder loads on
 * it, multi-threaded wasm when the page is cross-origin isolated, single-threaded wasm otherwise.
 */
import * as ort from 'onnxruntime-web';
import type { MakeTensor, SessionLike } from '../decode/index.js';

export const makeTensor: MakeTensor = (data, dims) => new ort.Tensor('float32', data, dims);

/** The backend a session runs on, in words for the panel. */
export type BackendName = string;

let configured = false;

function configure(baseUrl: string): void {
  if (configured) return;
  configured = true;
  ort.env.wasm.wasmPaths = `${baseUrl.replace(/\/$/, '')}/ext/ort/`;
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  ort.env.wasm.numThreads = isolated ? Math.max(1, Math.min(4, cores)) : 1;
}

function wasmName(): BackendName {
  const n = ort.env.wasm.numThreads ?? 1;
  return n > 1 ? `wasm with ${n} threads` : 'single-threaded wasm';
}

async function hasWebGpu(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** An error as a short clause for the panel. */
function short(err: unknown): string {
  const m = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim().replace(/[.\s]+$/, '');
  return m.length > 160 ? `${m.slice(0, 157)}...` : m || 'no reason given';
}

/**
 * Creates a decoder session from its bytes on the best backend; throws when none takes it. When
 * WebGPU was there but did not take the decoder, the wasm backend's name says so and why.
 */
export async function createDecoderSession(baseUrl: string, bytes: Uint8Array): Promise<{ session: SessionLike; backend: BackendName }> {
  configure(baseUrl);
  let webgpuFailed: string | null = null;
  if (await hasWebGpu()) {
    try {
      const s = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
      return { session: s as unknown as SessionLike, backend: 'WebGPU' };
    } catch (err) {
      // Operators WebGPU lacks do not fail here (onnxruntime-web places them on its CPU provider in the
      // same session); what fails is the device (requestDevice, a lost device, limits): wasm then.
      webgpuFailed = short(err);
    }
  }
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  return { session: s as unknown as SessionLike, backend: webgpuFailed ? `${wasmName()}; WebGPU did not take the decoder: ${webgpuFailed}` : wasmName() };
}
