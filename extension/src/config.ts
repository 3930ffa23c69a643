/** What a site sets for the extension in OHIF's app-config.js, under `window.config.glmedsa`. */
import type { DecodeIn } from './segmenter/decode-router.js';
import type { DecodeBackend } from './segmenter/ort-backend.js';

export interface GlmedsaConfig {
  /** Base URL of the GLMed-SA server; '' (the default) is the viewer's own origin. */
  serverUrl?: string;
  /** API key sent as "Authorization: ApiKey ..." when OHIF has no signed-in user. */
  apiKey?: string;
  /** Model id; the server's default when absent. */
  model?: string;
  /** How many images on each side of the displayed one to warm (default 2). */
  warmNeighbours?: number;
  /** Seconds between server health checks (default 5). */
  healthIntervalSeconds?: number;
  /**
   * Where clicks are decoded: 'server' (every click is a POST /v1/segment), 'browser' (the decoder
   * runs in onnxruntime-web on the server's embedding of each image), or 'auto': the browser,
   * falling back to the server on any failure, with the reason in the panel. Default 'auto'
   * (see decodeInOf).
   */
  decodeIn?: DecodeIn;
  /**
   * The browser path's onnxruntime-web backend: 'auto' (WebGPU on a hardware adapter, else wasm),
   * 'webgpu' (any WebGPU adapter, software ones included) or 'wasm'. Default 'auto'.
   */
  decodeBackend?: DecodeBackend;
}
