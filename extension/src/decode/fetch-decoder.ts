/**
 * Fetching what browser decoding needs from our server: the decoder of the served model version
 * and an image's embedding, each checked so that a failure becomes a reason the viewer can show
 * (and fall back to the server path on), never an unreadable error.
 */
import { EMBEDDING_HEADERS as H, type EmbeddingDtype, decodeFloat16, decodeFloat32, embeddingQueryOf } from '@glmedsa/server/api';
import type { BrowserEmbedding, SessionLike } from './decode-prompts.js';

/** Browser decoding is not possible; `reason` says why in words for the panel. */
export class DecodeUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DecodeUnavailable';
  }
}

/** Which model version made a download. */
export interface ModelVersion {
  model: string;
  weightsSha256: string;
  adapterVersion: string;
  decoderSha256: string;
}

export interface FetchOptions {
  /** The server's origin + path prefix ('' for same origin). */
  baseUrl: string;
  fetch: typeof fetch;
  headers?: Record<string, string>;
}

function versionOf(h: Headers, what: string): ModelVersion {
  const get = (k: string) => {
    const v = h.get(k);
    if (!v) throw new DecodeUnavailable(`the server's ${what} has no ${k} header (is the server older than the extension?)`);
    return v;
  };
  return { model: get(H.model), weightsSha256: get(H.weights), adapterVersion: get(H.adapterVersion), decoderSha256: get(H.decoderSha256) };
}

async function get(o: FetchOptions, url: string, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await o.fetch(`${o.baseUrl}${url}`, { headers: o.headers ?? {} });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new DecodeUnavailable(`the ${what} could not be fetched: ${(e as Error).message}${cause ? ` (${cause})` : ''}`);
  }
  if (!res.ok) {
    // A problem+json body says why; keep its detail for the panel.
    const detail = await res.json().then((b: { detail?: unknown }) => (typeof b?.detail === 'string' ? `: ${b.detail}` : ''), () => '');
    throw new DecodeUnavailable(`the ${what} could not be fetched: the server answered ${res.status}${detail}`);
  }
  return res;
}

/** Loads the served decoder into a session made by `createSession` (e.g. ort.InferenceSession.create). */
export async function loadDecoder(
  o: FetchOptions,
  model: string,
  createSession: (bytes: Uint8Array) => Promise<SessionLike>,
): Promise<{ session: SessionLike; version: ModelVersion; bytes: number }> {
  const res = await get(o, `/v1/models/${encodeURIComponent(model)}/decoder.onnx`, 'decoder');
  const version = versionOf(res.headers, 'decoder');
  const bytes = new Uint8Array(await res.arrayBuffer());
  let session: SessionLike;
  try {
    session = await createSession(bytes);
  } catch (e) {
    throw new DecodeUnavailable(`the decoder did not load in onnxruntime-web: ${(e as Error).message}`);
  }
  return { session, version, bytes: bytes.byteLength };
}

type ImageSpec = Parameters<typeof embeddingQueryOf>[0];

/** Fetches an image's embedding (float16 by default) and checks it against the decoder's version. */
export async function fetchEmbedding(
  o: FetchOptions,
  model: string,
  image: ImageSpec,
  decoder: ModelVersion,
  dtype: EmbeddingDtype = 'float16',
): Promise<{ embedding: BrowserEmbedding; version: ModelVersion; bytes: number }> {
  const res = await get(o, `/v1/embeddings/${encodeURIComponent(model)}?${embeddingQueryOf(image, dtype)}`, 'embedding');
  const version = versionOf(res.headers, 'embedding');
  if (version.weightsSha256 !== decoder.weightsSha256 || version.adapterVersion !== decoder.adapterVersion || version.decoderSha256 !== decoder.decoderSha256) {
    throw new DecodeUnavailable(
      `the embedding (model ${version.model}, adapter ${version.adapterVersion}) does not belong with the loaded decoder (adapter ${decoder.adapterVersion}); the model changed, reload the decoder`,
    );
  }
  const shape = (res.headers.get(H.shape) ?? '').split(',').map(Number);
  const size = (res.headers.get(H.originalSize) ?? '').split(',').map(Number);
  const inputSize = Number(res.headers.get(H.inputSize));
  const got = res.headers.get(H.dtype);
  if (shape.length !== 4 || shape.some((v) => !Number.isInteger(v) || v < 1) || size.length !== 2 || size.some((v) => !Number.isInteger(v) || v < 1) || !(inputSize > 0)) {
    throw new DecodeUnavailable('the embedding came without a valid shape, image size or input size');
  }
  const body = new Uint8Array(await res.arrayBuffer());
  const data = got === 'float16' ? decodeFloat16(body) : got === 'float32' ? decodeFloat32(body) : null;
  if (!data) throw new DecodeUnavailable(`the embedding is in an unknown dtype '${got}'`);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new DecodeUnavailable(`the embedding has ${data.length} values, not ${shape.join('x')}`);
  return {
    embedding: { data, shape: shape as BrowserEmbedding['shape'], originalSize: size as [number, number], inputSize },
    version,
    bytes: body.byteLength,
  };
}
