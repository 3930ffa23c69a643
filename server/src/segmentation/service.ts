/**
 * Segmentation requests end to end: resolve the image (PACS instance or upload), check its size
 * against the limits before anything is fetched or decoded, get its embedding from the cache or
 * the encoder (one computation per key however many ask), decode the prompts, remember the
 * low-res logits for refinement, and account the time of each stage.
 *
 * Cancellation: a request whose client went away is dropped from the inference queue if it has
 * not started; an encode shared by several requests is dropped only when all of them are gone.
 */
import { Lru } from '../cache/lru.js';
import { imageKey } from '../dicom/image-key.js';
import type { FetchedFrame } from '../dicom/image-source.js';
import type { ImageRef } from '../dicom/image-ref.js';
import { type EmbeddingResponse, type ImageSpec, MASK_ENCODING, type ModelInfo, type ModelsResponse, type ModelVariant, type SegmentRequest, type SegmentResponse } from '../api/index.js';
import { Conflict, InvalidRequest, NotFound, UnprocessableImage } from '../errors.js';
import { type ImageLimits, checkImageSize, checkSamResize } from '../images/limits.js';
import type { ImageSource } from '../images/source.js';
import type { EncodeResult } from '../inference/messages.js';
import type { InferencePool, Priority } from '../inference/pool.js';
import type { Metrics } from '../metrics.js';
import type { MaskStore } from './mask-store.js';
import type { ModelCatalog, ServedModel } from '../catalog/model-catalog.js';
import type { UploadStore } from './uploads.js';

/** What the service needs from a PACS. */
export interface PacsAccess {
  /** Size and frame count of an instance (and whatever the decoder needs), from its metadata. */
  describe(ref: ImageRef): Promise<{ width: number; height: number; frames: number }>;
  /** One frame (1-based), fetched but not decoded. */
  frame(ref: ImageRef, frame: number): Promise<FetchedFrame>;
}

interface Embedding {
  embeddings: Float32Array;
  originalSize: [number, number];
  timings: EncodeResult['timings'];
}

interface ResolvedImage {
  key: string;
  width: number;
  height: number;
  fetchMs: number;
  load: () => Promise<{ source: ImageSource; fetchMs: number }>;
}

export class SegmentationService {
  private readonly embeddings: Lru<Embedding>;
  /** Per embedding being computed: how many requests still wait for it, and how to drop it. */
  private readonly waiting = new Map<string, { count: number; controller: AbortController }>();

  constructor(
    private readonly o: {
      pool: InferencePool;
      pacs: PacsAccess;
      uploads: UploadStore;
      masks: MaskStore;
      metrics: Metrics;
      models: ModelCatalog;
      /** The adapter versions of a model, for GET /v1/models. */
      adapters?: (modelId: string) => unknown[];
      defaultModel: string;
      cacheBytes: number;
      limits: ImageLimits;
    },
  ) {
    this.embeddings = new Lru<Embedding>({ maxSize: o.cacheBytes, sizeOf: (e) => e.embeddings.byteLength + 64 });
  }

  model(id?: string): ServedModel {
    const m = this.o.models.get(id ?? this.o.defaultModel);
    if (!m) throw new NotFound(`there is no model '${id}' (available: ${this.o.models.ids().join(', ')})`);
    return m;
  }

  private async resolve(spec: ImageSpec): Promise<ResolvedImage> {
    if ('imageId' in spec) {
      const up = this.o.uploads.get(spec.imageId);
      if (!up) throw new NotFound(`image ${spec.imageId} is unknown or expired; upload it again with POST /v1/images`);
      return {
        key: `upload:${up.id}`,
        width: up.width,
        height: up.height,
        fetchMs: 0,
        load: async () => ({ source: { type: 'encoded', bytes: up.bytes, mediaType: up.type }, fetchMs: 0 }),
      };
    }
    const t0 = performance.now();
    const info = await this.o.pacs.describe(spec);
    if (spec.frame > info.frames) {
      throw new UnprocessableImage(`frame ${spec.frame} does not exist: the instance has ${info.frames} frame${info.frames > 1 ? 's' : ''}`);
    }
    checkImageSize(info.width, info.height, this.o.limits, 'the DICOM frame');
    const describeMs = performance.now() - t0;
    return {
      key: `dicom:${imageKey(spec, spec.frame, spec.voi)}`,
      width: info.width,
      height: info.height,
      fetchMs: describeMs,
      load: async () => {
        const t1 = performance.now();
        const frame = await this.o.pacs.frame(spec, spec.frame);
        return {
          source: { type: 'dicom', frame, ...(spec.voi ? { voi: spec.voi } : {}) },
          fetchMs: describeMs + performance.now() - t1,
        };
      },
    };
  }

  /** The served weights of a model: its base weights and adapter version. */
  private version(model: ServedModel): string {
    return `${model.manifest.weights_sha256.slice(0, 16)}#${model.adapterVersion ?? 'base'}`;
  }

  private cacheKey(model: ServedModel, imageKey: string): string {
    return `${model.id}@${this.version(model)}|${imageKey}`;
  }

  /**
   * Registers a request waiting for the embedding `key`; the returned signal aborts when every
   * request waiting for it has been cancelled. Call `done` when this request stops waiting.
   */
  private wait(key: string, signal: AbortSignal | undefined): { shared: AbortSignal; done: () => void } {
    let entry = this.waiting.get(key);
    if (!entry) this.waiting.set(key, (entry = { count: 0, controller: new AbortController() }));
    const e = entry;
    e.count++;
    let left = false;
    const leave = (cancelled: boolean) => {
      if (left) return;
      left = true;
      signal?.removeEventListener('abort', onAbort);
      if (--e.count > 0) return;
      if (this.waiting.get(key) === e) this.waiting.delete(key);
      if (cancelled) e.controller.abort();
    };
    const onAbort = () => leave(true);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return { shared: e.controller.signal, done: () => leave(false) };
  }

  private async embedding(model: ServedModel, image: ResolvedImage, priority: Priority, signal?: AbortSignal) {
    // Filled in only when this request computes the embedding itself.
    let fetchMs = image.fetchMs;
    let embedMs = 0;
    const key = this.cacheKey(model, image.key);
    checkSamResize(image.width, image.height, model.manifest.input_size);
    const w = this.wait(key, signal);
    const { value, cached } = await this.embeddings.getOrLoad(key, async () => {
      const { source, fetchMs: f } = await image.load();
      fetchMs = f;
      this.o.metrics.observeStage('fetch', model.id, f);
      const t0 = performance.now();
      const r = await this.o.pool.encode({ kind: 'encode', model: model.runtimeId, source, pixels: image.width * image.height }, priority, w.shared);
      embedMs = performance.now() - t0;
      this.o.metrics.observeStage('render', model.id, r.timings.render);
      this.o.metrics.observeStage('preprocess', model.id, r.timings.preprocess);
      this.o.metrics.observeStage('encode', model.id, r.timings.encode);
      return r;
    }).finally(w.done);
    this.o.metrics.cache.inc({ result: cached ? 'hit' : 'miss' });
    this.o.metrics.cacheBytes.set(this.embeddings.size);
    return { key, embedding: value, cached, fetchMs, embedMs };
  }

  /**
   * GET /v1/embeddings/:model: where an image's embedding would be cached (its key, for an ETag
   * checked before anything is encoded) and a way to get it (from the cache or the encoder).
   */
  async exportEmbedding(spec: ImageSpec, modelId: string | undefined): Promise<{
    model: ServedModel;
    key: string;
    image: { width: number; height: number };
    load: (signal?: AbortSignal) => Promise<{ embeddings: Float32Array; originalSize: [number, number]; cached: boolean }>;
  }> {
    const model = this.model(modelId);
    const image = await this.resolve(spec);
    checkSamResize(image.width, image.height, model.manifest.input_size);
    return {
      model,
      key: this.cacheKey(model, image.key),
      image: { width: image.width, height: image.height },
      load: async (signal) => {
        const r = await this.embedding(model, image, 'interactive', signal);
        return { embeddings: r.embedding.embeddings, originalSize: r.embedding.originalSize, cached: r.cached };
      },
    };
  }

  /** The served weights of a model (base weights and adapter version), which embeddings and masks are keyed by. */
  versionOf(model: ServedModel): string {
    return this.version(model);
  }

  /**
   * For work through a series (propagation): the embedding of one PACS frame whose size is already
   * known, from the same cache and under the same key as clicks on that frame, computed at
   * `priority` when missing. `fetch` gets the frame's bytes from the PACS.
   */
  async frameEmbedding(
    model: ServedModel,
    frame: { ref: ImageRef; width: number; height: number; fetch: () => Promise<FetchedFrame> },
    priority: Priority,
    signal?: AbortSignal,
  ): Promise<{ embeddings: Float32Array; originalSize: [number, number]; cached: boolean }> {
    const { ref } = frame;
    const image: ResolvedImage = {
      key: `dicom:${imageKey(ref, ref.frame, ref.voi)}`,
      width: frame.width,
      height: frame.height,
      fetchMs: 0,
      load: async () => {
        const t0 = performance.now();
        const fetched = await frame.fetch();
        return { source: { type: 'dicom', frame: fetched, ...(ref.voi ? { voi: ref.voi } : {}) }, fetchMs: performance.now() - t0 };
      },
    };
    const r = await this.embedding(model, image, priority, signal);
    return { embeddings: r.embedding.embeddings, originalSize: r.embedding.originalSize, cached: r.cached };
  }

  /**
   * The low-resolution logits of an earlier answer (`maskId`) made on frame `ref` by `model`, to
   * seed work from: 404 when unknown or expired, 409 when it belongs to another image or model, or
   * was made by another adapter version (its logits came from other embeddings).
   */
  maskLogits(maskId: string, model: ServedModel, ref: ImageRef): Float32Array {
    const taken = this.o.masks.take(maskId, { image: `dicom:${imageKey(ref, ref.frame, ref.voi)}`, model: model.id, version: this.version(model) });
    if (!taken.logits) throw new Conflict(`maskId ${maskId} was made by another adapter version of model ${model.id}; segment the seed image again`);
    return taken.logits;
  }

  /** GET /v1/models: the served models, the default first-class, with where each runs. */
  describeModels(): ModelsResponse {
    const providers = new Map(this.o.pool.providers.map((p) => [p.id, p.provider]));
    const models = this.o.models.list().map(({ id, manifest: man, runtimeId, adapterVersion }): ModelInfo => ({
      id,
      name: man.name,
      default: id === this.o.defaultModel,
      variant: man.config.variant satisfies ModelVariant,
      inputSize: man.input_size,
      embedding: man.embedding,
      parameterCounts: man.parameter_counts,
      weightsSha256: man.weights_sha256,
      source: man.source,
      provider: providers.get(runtimeId) ?? providers.get(id) ?? 'cpu',
      adapters: this.o.adapters?.(id) ?? [],
      activeAdapter: adapterVersion !== null ? String(adapterVersion) : (man.source.adapter ?? null),
    }));
    return { models };
  }

  /** POST /v1/embeddings: computes (or finds) the embedding of an image ahead of the clicks. */
  async warm(spec: ImageSpec, modelId?: string, signal?: AbortSignal): Promise<EmbeddingResponse> {
    const model = this.model(modelId);
    const image = await this.resolve(spec);
    const r = await this.embedding(model, image, 'background', signal);
    return { model: model.id, cached: r.cached, image: { width: image.width, height: image.height }, timings: { fetchMs: r.fetchMs, embedMs: r.embedMs } };
  }

  async segment(req: SegmentRequest, signal?: AbortSignal): Promise<SegmentResponse> {
    const t0 = performance.now();
    const model = this.model(req.model);
    const image = await this.resolve(req.image);
    const { width: W, height: H } = image;
    req.points.forEach((p, i) => {
      if (p.x < 0 || p.y < 0 || p.x >= W || p.y >= H) {
        throw new InvalidRequest(`point ${i + 1} (${p.x}, ${p.y}) is outside the ${W}x${H} image`, { [`points.${i}`]: 'outside the image' });
      }
    });
    if (req.box && (req.box.x2 < 0 || req.box.y2 < 0 || req.box.x1 >= W || req.box.y1 >= H)) {
      throw new InvalidRequest(`the box does not overlap the ${W}x${H} image`, { box: 'outside the image' });
    }
    // A maskId of another image or model is refused before its frame is fetched and encoded; one
    // made under another adapter version is dropped, and the prompts alone are segmented.
    const origin = { image: image.key, model: model.id, version: this.version(model) };
    const taken = req.maskId ? this.o.masks.take(req.maskId, origin) : null;
    const maskInput = taken?.logits ?? null;
    const { embedding, cached, fetchMs, embedMs } = await this.embedding(model, image, 'interactive', signal);
    const r = await this.o.pool.decode({
      kind: 'decode',
      model: model.runtimeId,
      embeddings: embedding.embeddings,
      originalSize: embedding.originalSize,
      prompts: {
        points: req.points.map((p) => [p.x, p.y]),
        labels: req.points.map((p) => p.label),
        box: req.box ? [req.box.x1, req.box.y1, req.box.x2, req.box.y2] : null,
      },
      maskInput,
      multimask: req.multimask,
    }, signal);
    this.o.metrics.observeStage('decode', model.id, r.timings.decode);
    const maskId = this.o.masks.put(origin, r.lowRes);
    const totalMs = performance.now() - t0;
    return {
      maskId,
      ...(taken?.dropped ? { maskDropped: taken.dropped } : {}),
      model: model.id,
      adapterVersion: model.adapterVersion === null ? 'base' : String(model.adapterVersion),
      image: { width: W, height: H },
      masks: r.masks,
      best: r.best,
      encoding: MASK_ENCODING,
      cached,
      timings: { fetchMs: round(fetchMs), embedMs: round(embedMs), decodeMs: round(r.timings.decode + r.timings.postprocess), totalMs: round(totalMs) },
    };
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
