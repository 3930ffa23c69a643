/**
 * Fetching what browser decoding needs from our server: the decoder of the served model version
 * and an image's embedding, each checked so that a failure becomes a reason the viewer can show
 * (and fall back to the server path on), never an unreadable error.
 */
import { EMBEDDING_HEADERS as H, type EmbeddingDtype, IMAGE_ROUTE_HEADER, decodeFloat16, decodeFloat32, embeddingQueryOf, imageRouteKey } from '@glmedsa/server/api';
import type { BrowserEmbedding, SessionLike } from './decode-prompts.js';

/**
 * Browser decoding is not possible; `reason` says why, as the end of a sentence for the panel
 * ("Clicks are decoded on the server because <reason>."). `about`: what failed, the model's
 * decoder (no image of that model can be decoded here) or one image's embedding. `transient`: a
 * network failure that may pass, so the next click tries the browser path again.
 */
export class DecodeUnavailable extends Error {
  constructor(
    readonly reason: string,
    readonly about: 'decoder' | 'image' = 'image',
    readonly transient = false,
  ) {
    super(reason);
    this.name = 'DecodeUnavailable';
  }
}

/** An embedding of another model version than the decoder the browser holds: fetch both again. */
export class VersionMismatch extends DecodeUnavailable {
  constructor(embedding: { model: string; adapterVersion: string }, decoder: { adapterVersion: string }) {
    super(`the image's embedding (model ${embedding.model}, adapter ${embedding.adapterVersion}) does not belong with the decoder the browser holds (adapter ${decoder.adapterVersion}): the server's model changed`);
    this.name = 'VersionMismatch';
  }
}

/**
 * The server refused a download for a reason the server path would meet too (busy, not
 * authorised, an image the model cannot take, the PACS down): the viewer says so as it does for
 * POST /v1/segment, and retries a busy server, instead of falling back.
 */
export class DownloadRefused extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string } | null,
    readonly retryAfter: string | null,
  ) {
    super(`the server answered ${status}${problem?.detail ? `: ${problem.detail}` : ''}`);
    this.name = 'DownloadRefused';
  }
}

/** Statuses that say something about the request or the server's state, not about browser decoding. */
const REFUSALS = { any: new Set([401, 403, 429, 503]), image: new Set([413, 415, 422, 502, 504]) };

/** A short, single-line version of an error message (onnxruntime's can run to many lines). */
export function brief(message: string): string {
  const line = message.split('\n').find((l) => l.trim()) ?? message;
  const text = line.trim().replace(/[.\s]+$/, '');
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** Which model version made a download. */
export interface ModelVersion {
  model: string;
  weightsSha256: string;
  adapterVersion: string;
  decoderSha256: string;
}

interface FetchOptions {
  /** The server's origin + path prefix ('' for same origin). */
  baseUrl: string;
  fetch: typeof fetch;
  headers?: Record<string, string>;
}

const aboutOf = (what: 'decoder' | 'embedding') => (what === 'decoder' ? 'decoder' : 'image');

function versionOf(h: Headers, what: 'decoder' | 'embedding'): ModelVersion {
  const get = (k: string) => {
    const v = h.get(k);
    if (!v) throw new DecodeUnavailable(`the server sent the ${what} without its ${k} header (a server older than this extension, or a proxy that hides the header)`, aboutOf(what));
    return v;
  };
  return { model: get(H.model), weightsSha256: get(H.weights), adapterVersion: get(H.adapterVersion), decoderSha256: get(H.decoderSha256) };
}

/** Pauses before each retry of a download whose connection failed or whose proxy found no replica (a replica going away). */
const RETRY_DELAYS_MS = [150, 500, 1500];

/** `route`: the image's routing key, so a load balancer sends the download to the replica that encoded it. */
async function get(o: FetchOptions, url: string, what: 'decoder' | 'embedding', route?: string): Promise<Response> {
  let res: Response;
  for (let attempt = 0; ; attempt++) {
    const delay = RETRY_DELAYS_MS[attempt];
    try {
      res = await o.fetch(`${o.baseUrl}${url}`, { headers: { ...o.headers, ...(route ? { [IMAGE_ROUTE_HEADER]: route } : {}) } });
    } catch (e) {
      if (delay !== undefined) {
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      throw new DecodeUnavailable(`the browser could not download the ${what} (${brief((e as Error).message)}${cause ? `: ${brief(cause)}` : ''})`, aboutOf(what), true);
    }
    // A proxy's own 502/503/504 (no problem+json body): the replica went away; another may answer.
    const fromProxy = (res.status === 502 || res.status === 503 || res.status === 504) && !(res.headers.get('content-type') ?? '').includes('problem+json');
    if (!fromProxy || delay === undefined) break;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, delay));
  }
  if (!res.ok) {
    const problem = await res.json().then(
      (b: { title?: unknown; detail?: unknown }) => ({ ...(typeof b?.title === 'string' ? { title: b.title } : {}), ...(typeof b?.detail === 'string' ? { detail: b.detail } : {}) }),
      () => null,
    );
    // 502/504 without a problem body come from a proxy, not from our server about the PACS.
    const ours = problem?.title !== undefined;
    if (REFUSALS.any.has(res.status) || (what === 'embedding' && ours && REFUSALS.image.has(res.status))) {
      throw new DownloadRefused(res.status, problem, res.headers.get('Retry-After'));
    }
    const detail = problem?.detail ? `: ${brief(problem.detail)}` : '';
    throw new DecodeUnavailable(`the server did not send the ${what} (HTTP ${res.status}${detail})`, aboutOf(what));
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
    throw new DecodeUnavailable(`onnxruntime-web could not load the decoder (${brief((e as Error)?.message ?? String(e))})`, 'decoder');
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
  const res = await get(o, `/v1/embeddings/${encodeURIComponent(model)}?${embeddingQueryOf(image, dtype)}`, 'embedding', imageRouteKey(image));
  const version = versionOf(res.headers, 'embedding');
  if (version.weightsSha256 !== decoder.weightsSha256 || version.adapterVersion !== decoder.adapterVersion || version.decoderSha256 !== decoder.decoderSha256) {
    throw new VersionMismatch(version, decoder);
  }
  const shape = (res.headers.get(H.shape) ?? '').split(',').map(Number);
  const size = (res.headers.get(H.originalSize) ?? '').split(',').map(Number);
  const inputSize = Number(res.headers.get(H.inputSize));
  const got = res.headers.get(H.dtype);
  if (shape.length !== 4 || shape.some((v) => !Number.isInteger(v) || v < 1) || size.length !== 2 || size.some((v) => !Number.isInteger(v) || v < 1) || !(inputSize > 0)) {
    throw new DecodeUnavailable('the server sent an embedding without a valid shape, image size or input size');
  }
  const body = new Uint8Array(await res.arrayBuffer());
  const data = got === 'float16' ? decodeFloat16(body) : got === 'float32' ? decodeFloat32(body) : null;
  if (!data) throw new DecodeUnavailable(`the server sent an embedding in an unknown number type '${got}'`);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new DecodeUnavailable(`the server sent an embedding of ${data.length} values where its shape ${shape.join('x')} needs ${shape.reduce((a, b) => a * b, 1)}`);
  return {
    embedding: { data, shape: [shape[0]!, shape[1]!, shape[2]!, shape[3]!], originalSize: [size[0]!, size[1]!], inputSize },
    version,
    bytes: body.byteLength,
  };
}
