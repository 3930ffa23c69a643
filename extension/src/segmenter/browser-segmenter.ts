/**
 * The browser path: the decoder of each model is fetched once (per decoder checksum), each image's
 * embedding once, and every prompt is decoded here with onnxruntime-web, multimask and refinement
 * with the previous mask's low-res logits included. The embedding's model and adapter version must
 * be the decoder's: when they differ (an adapter was activated on the server) both are fetched again
 * and the embeddings of the old version are dropped.
 */
import type { SegmentRequestInput as SegmentRequest, SegmentResponse } from '@glmedsa/server/api';
import { ServerError } from '../client.js';
import { type BrowserEmbedding, DecodeUnavailable, type ModelVersion, type SessionLike, VersionMismatch, brief, decodePrompts, fetchEmbedding, loadDecoder } from '../decode/index.js';
import { type BackendName, type DecodeBackend, createDecoderSession, makeTensor } from './ort-backend.js';
import type { Segmenter } from './segmenter.js';

interface Decoder {
  session: SessionLike;
  version: ModelVersion;
  backend: BackendName;
  bytes: number;
}

interface Embedding {
  embedding: BrowserEmbedding;
  version: ModelVersion;
  bytes: number;
  fetchMs: number;
}

type Image = SegmentRequest['image'];

const MAX_EMBEDDINGS = 8;
const MAX_MASKS = 64;

export interface BrowserSegmenterOptions {
  baseUrl: string;
  /** Headers for every download (the caller's Authorization). */
  headers: () => Record<string, string>;
  /**
   * Makes the decoder's session from its bytes (default: createDecoderSession, onnxruntime-web
   * configured for the page: wasm from our /ext/ort/, WebGPU or threads as the page allows). The
   * Node tests pass onnxruntime-web's wasm backend loaded from node_modules, so they run this
   * class's own caching and version checks rather than a copy of them.
   */
  createSession?: (bytes: Uint8Array) => Promise<{ session: SessionLike; backend: BackendName }>;
  /** Which onnxruntime-web backend the default session creator prefers (config `decodeBackend`). */
  backend?: DecodeBackend;
}

export class BrowserSegmenter implements Segmenter {
  readonly path = 'browser' as const;
  private readonly decoders = new Map<string, Promise<Decoder>>();
  private readonly embeddings = new Map<string, Promise<Embedding>>();
  /** maskId -> the best mask's low-res logits, for refinement (as the server's mask store). */
  private readonly masks = new Map<string, Float32Array>();
  /** Bytes downloaded (decoder and embeddings), for the panel and the benchmark. */
  readonly downloaded = { decoder: 0, embeddings: 0 };

  constructor(private readonly o: BrowserSegmenterOptions) {}

  private opts() {
    return { baseUrl: this.o.baseUrl.replace(/\/$/, ''), fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init), headers: this.o.headers() };
  }

  /** The model's decoder, loaded once; a failed load is forgotten so that a later call tries again. */
  decoder(model: string): Promise<Decoder> {
    let d = this.decoders.get(model);
    if (!d) {
      const baseUrl = this.o.baseUrl;
      const create = this.o.createSession ?? ((bytes: Uint8Array) => createDecoderSession(baseUrl, bytes, this.o.backend));
      let backend: BackendName = '';
      d = loadDecoder(this.opts(), model, async (bytes) => {
        const made = await create(bytes);
        backend = made.backend;
        return made.session;
      }).then((r) => {
        this.downloaded.decoder += r.bytes;
        return { session: r.session, version: r.version, bytes: r.bytes, backend };
      });
      this.decoders.set(model, d);
      d.catch(() => {
        if (this.decoders.get(model) === d) this.decoders.delete(model);
      });
    }
    return d;
  }

  private embeddingKey(model: string, image: Image): string {
    return `${model}|${JSON.stringify(image)}`;
  }

  /** An image's embedding, fetched once per model version. */
  embedding(model: string, image: Image, decoder: ModelVersion): Promise<Embedding> {
    const key = this.embeddingKey(model, image);
    let e = this.embeddings.get(key);
    if (!e) {
      const t0 = performance.now();
      e = fetchEmbedding(this.opts(), model, image as Parameters<typeof fetchEmbedding>[2], decoder).then((r) => {
        this.downloaded.embeddings += r.bytes;
        return { ...r, fetchMs: performance.now() - t0 };
      });
      this.embeddings.set(key, e);
      e.catch(() => {
        if (this.embeddings.get(key) === e) this.embeddings.delete(key);
      });
      while (this.embeddings.size > MAX_EMBEDDINGS) this.embeddings.delete(this.embeddings.keys().next().value!);
    }
    return e;
  }

  /** Forgets the model's decoder, embeddings and masks (its adapter version changed on the server). */
  invalidate(model: string): void {
    this.decoders.delete(model);
    for (const k of [...this.embeddings.keys()]) if (k.startsWith(`${model}|`)) this.embeddings.delete(k);
    this.masks.clear();
  }

  /** Decoder and embedding of one version: on a mismatch both are fetched again, once. */
  private async prepared(model: string, image: Image): Promise<{ decoder: Decoder; emb: Embedding; cached: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const decoder = await this.decoder(model);
      const cached = this.embeddings.has(this.embeddingKey(model, image));
      try {
        const emb = await this.embedding(model, image, decoder.version);
        const same = emb.version.adapterVersion === decoder.version.adapterVersion && emb.version.decoderSha256 === decoder.version.decoderSha256 && emb.version.weightsSha256 === decoder.version.weightsSha256;
        if (same) return { decoder, emb, cached };
        throw new VersionMismatch(emb.version, decoder.version);
      } catch (err) {
        if (attempt === 0 && err instanceof VersionMismatch) {
          this.invalidate(model);
          continue;
        }
        throw err;
      }
    }
  }

  async segment(req: SegmentRequest): Promise<SegmentResponse> {
    const t0 = performance.now();
    const model = req.model;
    if (!model) throw new DecodeUnavailable('the server has not named a model yet', 'decoder');
    if (!('studyInstanceUID' in req.image)) throw new DecodeUnavailable('only images from the PACS are decoded in the browser');
    let maskInput: Float32Array | null = null;
    if (req.maskId) {
      maskInput = this.masks.get(req.maskId) ?? null;
      // As the server answers an expired mask id: the caller sends the prompts again without it.
      if (!maskInput) throw new ServerError('bad-request', 'The previous mask is no longer known.', 404);
    }
    const { decoder, emb, cached } = await this.prepared(model, req.image);
    let result;
    try {
      result = await decodePrompts(decoder.session, makeTensor, emb.embedding, {
        points: (req.points ?? []).map((p) => ({ x: p.x, y: p.y, label: p.label as 0 | 1 })),
        box: req.box ?? null,
        maskInput,
        ...(req.multimask !== undefined ? { multimask: req.multimask } : {}),
      });
    } catch (err) {
      throw new DecodeUnavailable(`onnxruntime-web failed while decoding (${brief((err as Error)?.message ?? String(err))})`, 'decoder');
    }
    const maskId = crypto.randomUUID();
    this.masks.set(maskId, result.lowRes);
    while (this.masks.size > MAX_MASKS) this.masks.delete(this.masks.keys().next().value!);
    const round = (v: number) => Math.round(v * 10) / 10;
    return {
      maskId,
      model: decoder.version.model,
      image: result.image,
      masks: result.masks,
      best: result.best,
      encoding: result.encoding,
      cached,
      timings: { fetchMs: cached ? 0 : round(emb.fetchMs), embedMs: 0, decodeMs: round(result.decodeMs), totalMs: round(performance.now() - t0) },
    };
  }
}
