/** Prometheus metrics: per-stage latency histograms, cache hits, queue depth, HTTP requests. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly http = new Histogram({
    name: 'glmedsa_http_request_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly stage = new Histogram({
    name: 'glmedsa_stage_seconds',
    help: 'Time per stage of a segmentation: fetch (PACS), render, preprocess, encode, decode, queue',
    labelNames: ['stage', 'model'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly cache = new Counter({
    name: 'glmedsa_embedding_cache_total',
    help: 'Embedding cache lookups by result (hit, miss)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly cacheBytes = new Gauge({ name: 'glmedsa_embedding_cache_bytes', help: 'Bytes held by the embedding cache', registers: [this.registry] });
  readonly uploadBytes = new Gauge({ name: 'glmedsa_upload_cache_bytes', help: 'Bytes held by the upload store (encoded images)', registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'glmedsa_inference_queue_depth', help: 'Inference jobs waiting for a worker', registers: [this.registry] });
  readonly busyWorkers = new Gauge({ name: 'glmedsa_inference_workers_busy', help: 'Inference workers computing', registers: [this.registry] });
  readonly threadMemory = new Gauge({
    name: 'glmedsa_thread_memory_bytes',
    help: "Each thread's V8 memory by kind (heapUsed, external, arrayBuffers): thread 'main' is the HTTP thread, 'worker-N' an inference worker (N its thread id)",
    labelNames: ['thread', 'kind'],
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'glmedsa_rejected_total',
    help: 'Requests refused by reason (queue_full, auth, validation)',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'glmedsa_' });
  }

  /** Replaces the thread memory gauge's series (a replaced worker's series disappear). */
  setThreadMemory(threads: { thread: string; usage: { heapUsed: number; external: number; arrayBuffers: number } }[]): void {
    this.threadMemory.reset();
    for (const { thread, usage } of threads) {
      for (const kind of ['heapUsed', 'external', 'arrayBuffers'] as const) this.threadMemory.set({ thread, kind }, usage[kind]);
    }
  }

  observeStage(stage: string, model: string, ms: number): void {
    this.stage.observe({ stage, model }, ms / 1000);
  }
}
