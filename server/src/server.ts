/**
 * Starting and stopping the server: models resolved (exported at start when given as
 * checkpoints), inference workers warmed up, HTTP listening, graceful shutdown.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { AdapterRegistry } from './catalog/adapter-registry.js';
import { AdapterService } from './adapters/adapter-service.js';
import { createApp } from './app.js';
import { checkExposure } from './config/load.js';
import type { ServerConfig } from './config/schema.js';
import { assertPortFree, listenHttp } from './http/listen.js';
import { InferencePool } from './inference/pool.js';
import { type DatasetProvider, DatasetSources, FolderDatasetProvider } from './jobs/dataset-provider.js';
import { PacsDatasetProvider } from './jobs/pacs-dataset-provider.js';
import { DicomWebClient } from './dicom/dicomweb-client.js';
import { JobRunner } from './jobs/job-runner.js';
import { PropagationService } from './propagation/propagation-service.js';
import { SeriesReader } from './series/series-reader.js';
import { SqliteJobStore } from './jobs/sqlite-job-store.js';
import { Metrics } from './metrics.js';
import { MaskStore } from './segmentation/mask-store.js';
import { ModelCatalog, resolveModels } from './catalog/model-catalog.js';
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
  /** Where fine-tuning jobs get their data (default: prepared folders under jobs.datasetRoot, and the PACS's SEGs). */
  datasets?: DatasetProvider;
}

export async function startServer(config: ServerConfig, o: StartOptions = {}): Promise<RunningServer> {
  checkExposure(config);
  const log = o.log ?? pino({ level: config.logLevel, base: { service: 'glmedsa-server' } });
  const dataDir = o.dataDir ?? path.resolve('.data');
  // Before the models are exported and the workers warmed: a taken port is known in a millisecond.
  await assertPortFree(config.listen);
  const models = await resolveModels(config.models, dataDir, log);
  const metrics = new Metrics();
  const pool = new InferencePool({
    count: config.workers.count,
    threads: config.workers.threads,
    cpuMemArena: config.workers.cpuMemArena,
    spinning: config.workers.spinning,
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
  const catalog = new ModelCatalog(models);
  const registry = new AdapterRegistry(path.join(dataDir, 'adapters'));
  const adapters = new AdapterService({
    registry,
    catalog,
    pool,
    mergedRoot: path.join(dataDir, 'merged'),
    threads: config.jobs.threads,
    releaseGraceMs: config.jobs.releaseGraceMs,
    log,
  });
  await adapters.start();
  const store = new SqliteJobStore(path.join(dataDir, 'jobs.sqlite'));
  const jobs = new JobRunner({
    store,
    datasets:
      o.datasets ??
      new DatasetSources({
        folder: new FolderDatasetProvider(path.resolve(config.jobs.datasetRoot ?? path.join(dataDir, 'datasets'))),
        pacs: new PacsDatasetProvider(pacsDatasetClient(config.pacs)),
      }),
    registry,
    catalog,
    root: path.join(dataDir, 'jobs'),
    device: config.device,
    threads: config.jobs.threads,
    queueLimit: config.jobs.queueLimit,
    checkpointEvery: config.jobs.checkpointEvery,
    maxResumes: config.jobs.maxResumes,
    onPublished: (model) => adapters.refresh(model),
    log,
  });
  await jobs.recover();
  const pacs = createPacsAccess(config.pacs);
  const uploads = new UploadStore(config.cache.uploadBytes, config.limits);
  const service = new SegmentationService({
    pool,
    pacs,
    uploads,
    masks: new MaskStore(config.cache.maskEntries, config.cache.maskTtlMs),
    metrics,
    models: catalog,
    adapters: (id) => adapters.describe(id),
    defaultModel: config.defaultModel ?? config.models[0]!.id,
    cacheBytes: config.cache.embeddingBytes,
    limits: config.limits,
  });
  const seriesClient = pacsClient(config.pacs, config.pacs.maxFrameBytes);
  const propagations = new PropagationService({
    config: config.propagation,
    service,
    pool,
    series: new SeriesReader(seriesClient),
    client: seriesClient,
    limits: config.limits,
    registry: metrics.registry,
    log,
  });
  const app = createApp({ config, log, metrics, pool, service, uploads, pacsCheck: () => pacs.ping(), jobs, adapters, propagations });
  const server = await listenHttp(app, config.listen, config.http).catch(async (err: unknown) => {
    await propagations.close();
    await jobs.close();
    store.close();
    adapters.close();
    await pool.close();
    throw err;
  });
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
      // No new connections; requests in flight get http.shutdownGraceMs to finish (a click whose
      // image is being encoded gets its answer). Past it, their inference jobs are answered 503
      // with a sentence and the answers get a second to be written: a client that keeps a
      // connection busy (a browser's keep-alive socket mid-request) cannot hold the shutdown open.
      // Propagations end first (with a sentence), so their event streams close with them.
      const propagationsStopped = propagations.close();
      let allClosed = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve())).then(() => (allClosed = true));
      // Keep-alive connections are closed as soon as their request is answered.
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      const within = (ms: number) => Promise.race([closed, new Promise<void>((r) => setTimeout(r, ms).unref())]);
      await within(config.http.shutdownGraceMs);
      if (!allClosed) {
        pool.abortJobs();
        await within(1000);
      }
      clearInterval(idle);
      server.closeAllConnections();
      await propagationsStopped;
      await jobs.close();
      store.close();
      adapters.close();
      await pool.close();
    },
  };
}

/** The DICOMweb client fine-tuning jobs read SEGs and images with (whole instances, so the frame size limit is raised). */
function pacsDatasetClient(c: ServerConfig['pacs']): DicomWebClient {
  return pacsClient(c, Math.max(c.maxFrameBytes, 512 * 1024 * 1024));
}

function pacsClient(c: ServerConfig['pacs'], maxResponseBytes: number): DicomWebClient {
  return new DicomWebClient({
    baseUrl: c.url,
    timeoutMs: c.timeoutMs,
    maxResponseBytes,
    auth: c.token ? { bearerToken: c.token } : c.username ? { username: c.username, password: c.password ?? '' } : undefined,
  });
}
