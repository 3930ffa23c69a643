/**
 * A trainer replica (`--role trainer`): it runs the cluster queue's fine-tuning jobs and answers
 * only the health routes (/healthz, /readyz, /metrics); it loads no inference worker and serves no
 * click. Its models are the same base models as the API replicas' (a job for other base weights is
 * refused with a sentence), its adapter versions go to the shared storage and the shared index.
 */
import path from 'node:path';
import express from 'express';
import pino from 'pino';
import { AdapterRegistry } from './catalog/adapter-registry.js';
import { ModelCatalog, resolveModels } from './catalog/model-catalog.js';
import { joinCluster } from './cluster.js';
import { checkExposure } from './config/load.js';
import type { ServerConfig } from './config/schema.js';
import { Authenticator } from './http/auth.js';
import { hostCheck } from './http/host-check.js';
import { assertPortFree, listenHttp, listeningUrl } from './http/listen.js';
import { requestContext } from './http/middleware.js';
import { notFoundHandler, problemHandler } from './http/problem.js';
import { jobDatasets } from './jobs/job-datasets.js';
import { Metrics } from './metrics.js';
import { PROBE_ROLE } from './routes/health.js';
import type { RunningServer, StartOptions } from './server.js';

export async function startTrainer(config: ServerConfig, o: StartOptions = {}): Promise<RunningServer> {
  checkExposure(config);
  const log = o.log ?? pino({ level: config.logLevel, base: { service: 'glmedsa-trainer' } });
  const dataDir = o.dataDir ?? path.resolve('.data');
  await assertPortFree(config.listen);
  const cluster = await joinCluster(config, log);
  let started = false;
  try {
    const models = await resolveModels(config.models, dataDir, log);
    const catalog = new ModelCatalog(models);
    const registry = new AdapterRegistry(path.join(cluster.storage, 'adapters'), cluster.adapterIndex);
    await cluster.announce(models);
    const jobs = await cluster.jobs({
      datasets: o.datasets ?? jobDatasets(config, cluster.storage),
      registry,
      catalog,
      device: config.device,
      threads: config.jobs.threads,
      checkpointEvery: config.jobs.checkpointEvery,
      queueLimit: config.jobs.queueLimit,
      maxResumes: config.jobs.maxResumes,
      trains: true,
      log,
    });
    const metrics = new Metrics();
    let draining = false;
    const app = express();
    app.disable('x-powered-by');
    app.use(requestContext(log, metrics));
    app.use(hostCheck({ allowedHosts: config.http.allowedHosts, listenHost: config.listen.host, authRequired: config.auth.mode === 'required' }));
    const probe = new Authenticator(config.auth).require(PROBE_ROLE);
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    app.get('/readyz', probe, (_req, res) => {
      res.status(draining ? 503 : 200).json({ status: draining ? 'draining' : 'ready', role: 'trainer', replica: cluster.replica });
    });
    app.get('/metrics', probe, async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
    app.use(notFoundHandler);
    app.use(problemHandler(log));
    const server = await listenHttp(app, config.listen, config.http);
    started = true;
    const { url, port } = listeningUrl(server, config.listen.host);
    log.info({ url, replica: cluster.replica }, 'glmedsa trainer listening (health routes only)');
    return {
      url,
      port,
      config,
      log,
      async close() {
        draining = true;
        // The running job writes its checkpoint and goes back to the queue for another trainer.
        await jobs.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await closed;
        server.closeAllConnections();
        await cluster.close();
      },
    };
  } finally {
    if (!started) await cluster.close();
  }
}
