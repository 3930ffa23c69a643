/**
 * Starting and stopping the server: models resolved (exported at start when given as
 * checkpoints), inference workers warmed up, HTTP listening, graceful shutdown. With a queue
 * (`queue.url`) the server is a replica of a cluster (`cluster.ts`); role 'trainer' starts
 * `trainer.ts` instead.
 */
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { AdapterRegistry } from './catalog/adapter-registry.js';
import { AdapterService } from './adapters/adapter-service.js';
import { createApp } from './app.js';
import { checkExposure } from './config/load.js';
import type { ServerConfig } from './config/schema.js';
import { assertPortFree, listenHttp, listeningUrl } from './http/listen.js';
import { InferencePool } from './inference/pool.js';
import type { DatasetProvider } from './jobs/dataset-provider.js';
import { jobDatasets } from './jobs/job-datasets.js';
import { JobRunner } from './jobs/job-runner.js';
import { PropagationService } from './propagation/propagation-service.js';
import { SeriesReader } from './series/series-reader.js';
import { pacsClient } from './dicom/pacs-client.js';
import type { JobService } from './jobs/job-service.js';
import { joinCluster } from './cluster.js';
import { startTrainer } from './trainer.js';
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
  if (config.role === 'trainer') return startTrainer(config, o);
  checkExposure(config);
  const log = o.log ?? pino({ level: config.logLevel, base: { service: 'glmedsa-server' } });
  const dataDir = o.dataDir ?? path.resolve('.data');
  // Before the models are exported and the workers warmed: a taken port is known in a millisecond.
  await assertPortFree(config.listen);
  // So is a queue that does not answer: the replica says so and does not start.
  const cluster = config.queue.url ? await joinCluster(config, log) : null;
  // Adapter versions, merged models and jobs' folders: the shared storage of a cluster, else the data folder.
  const shared = cluster?.storage ?? dataDir;
  const models = await resolveModels(config.models, dataDir, log).catch(async (err: unknown) => {
    await cluster?.close();
    throw err;
  });
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
  const registry = new AdapterRegistry(path.join(shared, 'adapters'), cluster?.adapterIndex);
  const adapters = new AdapterService({
    registry,
    catalog,
    pool,
    mergedRoot: path.join(shared, 'merged'),
    threads: config.jobs.threads,
    releaseGraceMs: config.jobs.releaseGraceMs,
    shared: !!cluster,
    log,
  });
  await adapters.start();
  const parts = {
    datasets: o.datasets ?? jobDatasets(config, shared),
    registry,
    catalog,
    device: config.device,
    threads: config.jobs.threads,
    queueLimit: config.jobs.queueLimit,
    checkpointEvery: config.jobs.checkpointEvery,
    maxResumes: config.jobs.maxResumes,
    onPublished: (model: string) => adapters.refresh(model),
    log,
  };
  let store: SqliteJobStore | null = null;
  let jobs: JobService;
  if (cluster) {
    await cluster.announce(models);
    await cluster.followAdapters(adapters);
    jobs = await cluster.jobs({ ...parts, trains: config.role === 'all' });
  } else {
    store = new SqliteJobStore(path.join(dataDir, 'jobs.sqlite'));
    const runner = new JobRunner({ ...parts, store, root: path.join(dataDir, 'jobs') });
    await runner.recover();
    jobs = runner;
  }
  const pacs = createPacsAccess(config.pacs);
  const uploads = new UploadStore(config.cache.uploadBytes, config.limits);
  const service = new SegmentationService({
    pool,
    pacs,
    uploads,
    // A replica that did not make a mask (the one that did has left) segments the prompts alone.
    masks: new MaskStore(config.cache.maskEntries, config.cache.maskTtlMs, cluster ? 'prompts-only' : 'refuse'),
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
  let draining = false;
  const app = createApp({ config, log, metrics, pool, service, uploads, pacsCheck: () => pacs.ping(), jobs, adapters, propagations, draining: () => draining });
  const server = await listenHttp(app, config.listen, config.http).catch(async (err: unknown) => {
    await propagations.close();
    await jobs.close();
    store?.close();
    adapters.close();
    await cluster?.close();
    await pool.close();
    throw err;
  });
  const { url, port } = listeningUrl(server, config.listen.host);
  log.info({ url, auth: config.auth.mode, pacs: config.pacs.url }, 'glmedsa server listening');
  return {
    url,
    port,
    config,
    log,
    async close() {
      // Behind a balancer: /readyz answers 503 for http.drainMs while everything is still served,
      // so the balancer's health checks take this replica out before its port closes.
      draining = true;
      if (config.http.drainMs > 0) {
        log.info({ drainMs: config.http.drainMs }, 'draining: /readyz says so until the balancer has taken this replica out');
        await new Promise((r) => setTimeout(r, config.http.drainMs));
      }
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
      store?.close();
      adapters.close();
      await cluster?.close();
      await pool.close();
    },
  };
}
