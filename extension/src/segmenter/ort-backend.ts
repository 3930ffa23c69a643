/**
 * onnxruntime-web in the viewer: its wasm runtime from our server's /ext/ort/, and the fastest
 * backend the page allows: WebGPU when `navigator.gpu` gives a hardware adapter and the decoder
 * loads on it, multi-threaded wasm when the page is cross-origin isolated, single-threaded wasm
 * otherwise. A software (fallback) WebGPU adapter, such as Chromium's SwiftShader one behind
 * --enable-unsafe-webgpu, decodes a click about 5 times slower than wasm here, so it is used only
 * when the setting asks for WebGPU.
 */
import * as ort from 'onnxruntime-web';
import { type MakeTensor, type SessionLike, brief } from '../decode/index.js';

/**
 * Config `decodeBackend`: 'auto' (the default: WebGPU on a hardware adapter, else wasm),
 * 'webgpu' (any WebGPU adapter, software ones included; wasm when there is none) or 'wasm'.
 */
export type DecodeBackend = 'auto' | 'webgpu' | 'wasm';

export function decodeBackendOf(v: unknown): DecodeBackend {
  return v === 'webgpu' || v === 'wasm' ? v : 'auto';
}

export const makeTensor: MakeTensor = (data, dims) => new ort.Tensor('float32', data, dims);

/**
 * onnxruntime's worker threads spin for a while after each run, waiting for more work. A click
 * decodes once and then the page renders the mask, on the same cores: here (2 cores, software
 * WebGL) the spinning threads slowed the render that follows each decode. They sleep instead.
 */
const NO_SPINNING = { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };

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

type Adapter = { isFallbackAdapter?: boolean; info?: { isFallbackAdapter?: boolean } };

/** Whether WebGPU should be tried: an adapter, and a hardware one unless the setting takes any. */
async function useWebGpu(preference: DecodeBackend): Promise<boolean> {
  if (preference === 'wasm') return false;
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<Adapter | null> } } }).navigator?.gpu;
  if (!gpu) return false;
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return false;
    const software = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
    return preference === 'webgpu' || !software;
  } catch {
    return false;
  }
}

/**
 * Creates a decoder session from its bytes on the best backend; throws when none takes it. When
 * WebGPU was there but did not take the decoder, the wasm backend's name says so and why.
 */
export async function createDecoderSession(baseUrl: string, bytes: Uint8Array, preference: DecodeBackend = 'auto'): Promise<{ session: SessionLike; backend: BackendName }> {
  configure(baseUrl);
  let webgpuFailed: string | null = null;
  if (await useWebGpu(preference)) {
    try {
      const s = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], ...NO_SPINNING });
      return { session: s as unknown as SessionLike, backend: 'WebGPU' };
    } catch (err) {
      // Operators WebGPU lacks do not fail here (onnxruntime-web places them on its CPU provider in the
      // same session); what fails is the device (requestDevice, a lost device, limits): wasm then.
      webgpuFailed = brief(err instanceof Error ? err.message.replace(/\s+/g, ' ') : String(err)) || 'no reason given';
    }
  }
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], ...NO_SPINNING });
  return { session: s as unknown as SessionLike, backend: webgpuFailed ? `${wasmName()}; WebGPU did not take the decoder: ${webgpuFailed}` : wasmName() };
}
