/** Liveness, readiness and Prometheus metrics. */
import { Router } from 'express';
import type { InferencePool } from '../inference/pool.js';
import type { Metrics } from '../metrics.js';
import type { PacsReadiness } from '../segmentation/pacs-access.js';

export function healthRoutes(o: { pool: InferencePool; metrics: Metrics; pacsCheck: () => Promise<PacsReadiness> }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const workers = o.pool.readyWorkers;
    const pacs = await o.pacsCheck().catch((): PacsReadiness => 'unreachable');
    const ready = workers > 0;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'starting', workers, pacs });
  });
  r.get('/metrics', async (_req, res) => {
    o.metrics.queueDepth.set(o.pool.queueDepth);
    o.metrics.busyWorkers.set(o.pool.busyWorkers);
    res.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
  });
  return r;
}
