/**
 * Liveness, readiness and Prometheus metrics. /healthz is always open and says only "ok". When
 * authentication is required, /readyz (worker and PACS state) and /metrics (traffic, models,
 * process details) need a caller with at least the viewer role, like the API itself: a monitoring
 * system sends an API key (X-API-Key or a bearer token); nothing is readable anonymously from the
 * network.
 */
import { type RequestHandler, Router } from 'express';
import type { InferencePool } from '../inference/pool.js';
import type { Metrics } from '../metrics.js';
import type { PacsReadiness } from '../segmentation/pacs-access.js';
import type { UploadStore } from '../segmentation/uploads.js';

/** How long /metrics waits for each worker's memory report. */
const METRICS_MEMORY_WAIT_MS = 50;

/** The role the probes need when authentication is required. */
export const PROBE_ROLE = 'viewer';

export function healthRoutes(o: {
  pool: InferencePool;
  metrics: Metrics;
  uploads: Pick<UploadStore, 'bytes'>;
  pacsCheck: () => Promise<PacsReadiness>;
  /** Authentication of /readyz and /metrics (a no-op when authentication is off). */
  requireProbeRole: RequestHandler;
  /** True once shutdown has begun: /readyz answers 503 'draining' while requests are still served. */
  draining?: () => boolean;
}): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', o.requireProbeRole, async (_req, res) => {
    if (o.draining?.()) {
      res.status(503).json({ status: 'draining', workers: o.pool.readyWorkers });
      return;
    }
    const workers = o.pool.readyWorkers;
    const pacs = await o.pacsCheck().catch((): PacsReadiness => 'unreachable');
    const ready = workers > 0;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'starting', workers, pacs });
  });
  r.get('/metrics', o.requireProbeRole, async (_req, res) => {
    o.metrics.queueDepth.set(o.pool.queueDepth);
    o.metrics.busyWorkers.set(o.pool.busyWorkers);
    o.metrics.uploadBytes.set(o.uploads.bytes);
    const { heapUsed, external, arrayBuffers } = process.memoryUsage();
    // An idle worker answers within a millisecond; one busy rendering an image is reported with
    // its previous answer rather than holding the scrape up.
    const workers = await o.pool.memory(METRICS_MEMORY_WAIT_MS);
    o.metrics.setThreadMemory([
      { thread: 'main', usage: { heapUsed, external, arrayBuffers } },
      ...workers.map((w) => ({ thread: `worker-${w.threadId}`, usage: w })),
    ]);
    res.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
  });
  return r;
}
