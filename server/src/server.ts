/**
 * Starting and stopping the server: models resolved (exported at start when given as
 * checkpoints), inference workers warmed up, HTTP listening, graceful shutdown.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createApp } from './app.js';
import { checkExposure } from './config/load.js';
import type { ServerConfig } from './config/schema.js';
import { InferencePool } from './inference/pool.js';
import { Metrics } from './metrics.js';
import { MaskStore } from './segmentation/mask-store.js';
import { resolveModels } from './segmentation/models.js';
import { createPacsAccess } from './segmentation/pacs-access.js';
import { SegmentationService } from './segmentation/service.js';
import { UploadStore } from './segmentation/uploads.js';

export interface RunningServer {
  url: string;
  port: number;
  config: ServerConfig;
  log: Logger;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where exported models and other state live (default: .data under the working directory). */
  dataDir?: string;
  log?: Logger;
}

export async function startServer(config: ServerConfig, o: StartOptions = {}): Promise<RunningServer> {
  checkExposure(config);
  const log = o.log ?? pino({ level: config.logLevel, base: { service: 'glmedsa-server' } });
  const dataDir = o.dataDir ?? path.resolve('.data');
  const models = await resolveModels(config.models, dataDir, log);
  const metrics = new Metrics();
  const pool = new InferencePool({
    count: config.workers.count,
    threads: config.workers.threads,
    device: config.device,
    models: models.map((m) => ({ id: m.id, dir: m.dir })),
    queueLimit: config.workers.queueLimit,
    jobTimeoutMs: config.workers.jobTimeoutMs,
    limits: config.limits,
    workerHeapMb: config.limits.workerHeapMb,
    log,
    onStart: (job, waited) => metrics.observeStage('queue', job.model, waited),
  });
  await pool.start();
  for (const p of pool.providers) log.info({ model: p.id, provider: p.provider }, 'model loaded');
  const pacs = createPacsAccess(config.pacs);
  const uploads = new UploadStore(config.cache.uploadBytes, config.limits);
  const service = new SegmentationService({
    pool,
    pacs,
    uploads,
    masks: new MaskStore(config.cache.maskEntries, config.cache.maskTtlMs),
    metrics,
    models,
    defaultModel: config.defaultModel ?? config.models[0]!.id,
    cacheBytes: config.cache.embeddingBytes,
    limits: config.limits,
  });
  const app = createApp({ config, log, metrics, pool, service, uploads, pacsCheck: () => pacs.ping() });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.listen.port, config.listen.host, () => resolve(s));
    s.once('error', reject);
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 10 * 60_000;
  const port = (server.address() as AddressInfo).port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `http://${host}:${port}`;
  log.info({ url, auth: config.auth.mode, pacs: config.pacs.url }, 'glmedsa server listening');
  return {
    url,
    port,
    config,
    log,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await pool.close();
    },
  };
}
