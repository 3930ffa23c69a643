/**
 * Joining a cluster (a configured `queue.url`): the queue must answer before anything else starts
 * (a replica that cannot reach it says so in a sentence and exits, it never runs half-working);
 * then the connections every part shares (README: "Running on several machines"; the design in
 * docs/architecture.md, "Several machines"):
 * - the bus (Redis pub/sub) for job events, cancellations and adapter changes;
 * - the job records and the fine-tuning queue (BullMQ), for every role: an API replica queues and
 *   reads jobs, a trainer runs them;
 * - the adapter registry's index, with the versions themselves on the shared storage;
 * - this replica's heartbeat (its role and base models), which trainers consult when a job is for
 *   base weights they do not serve.
 *
 * A second kind of long work (propagations) plugs in beside fine-tuning: its own WorkQueue (a queue
 * name and an item schema), its records and events the same way, and the roles that take it.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AdapterService } from './adapters/adapter-service.js';
import { ADAPTERS_CHANNEL, RedisAdapterIndex } from './catalog/redis-adapter-index.js';
import type { ServedModel } from './catalog/model-catalog.js';
import type { ServerConfig } from './config/schema.js';
import type { FineTuneParts } from './jobs/fine-tune.js';
import { FINE_TUNE_QUEUE, type FineTuneItem, JOB_EVENTS_CHANNEL, QueuedJobRunner } from './jobs/queued-job-runner.js';
import { JOB_RECORD_SCHEMA, RedisJobStore } from './jobs/redis-job-store.js';
import { ReplicaRegistry } from './queue/replicas.js';
import { WorkQueue } from './queue/work-queue.js';
import { RedisBus } from './redis/bus.js';
import { assertReachable, openRedis, ready } from './redis/connection.js';

interface Cluster {
  /** This replica's name. */
  replica: string;
  /** The shared storage folder (adapter versions, merged models, jobs' work folders). */
  storage: string;
  adapterIndex: RedisAdapterIndex;
  /** Announces this replica (role and base models) for as long as it runs. */
  announce(models: ServedModel[]): Promise<void>;
  /** The job service of this replica; `trains`: it also runs jobs (roles trainer and all). */
  jobs(parts: FineTuneParts & { queueLimit: number; maxResumes: number; trains: boolean }): Promise<QueuedJobRunner>;
  /** Keeps the adapter service on the shared active versions. */
  followAdapters(service: AdapterService): Promise<void>;
  close(): Promise<void>;
}

export async function joinCluster(config: ServerConfig, log: Logger): Promise<Cluster> {
  const url = config.queue.url!;
  const prefix = config.queue.prefix;
  await assertReachable(url, config.queue.connectTimeoutMs);
  const replica = config.queue.replicaId ?? `${hostname()}:${process.pid}`;
  const storage = path.resolve(config.storage.dir!);
  const connections: Redis[] = [];
  const open = (kind: 'request' | 'worker', name: string) => {
    const c = openRedis(url, kind, `${replica}:${name}`);
    c.on('error', (err: Error) => log.debug({ err: err.message, connection: name }, 'redis connection error'));
    connections.push(c);
    return c;
  };
  const requests = open('request', 'requests');
  const writes = open('worker', 'writes');
  await ready(requests, config.queue.connectTimeoutMs);
  const bus = new RedisBus(url, prefix, replica, log);
  const adapterIndex = new RedisAdapterIndex(requests, writes, prefix, bus);
  let registry: ReplicaRegistry | null = null;
  let queue: WorkQueue<FineTuneItem> | null = null;
  let runner: QueuedJobRunner | null = null;
  log.info({ queue: url.replace(/\/\/[^@]*@/, '//***@'), replica, role: config.role, storage }, 'joined the cluster');
  return {
    replica,
    storage,
    adapterIndex,
    async announce(models) {
      registry = new ReplicaRegistry(requests, prefix, { id: replica, role: config.role, models: Object.fromEntries(models.map((m) => [m.id, m.manifest.weights_sha256])), startedAt: new Date().toISOString() }, log);
      await registry.start();
    },
    async jobs(parts) {
      if (!registry) throw new Error('announce the replica before starting its jobs');
      queue = new WorkQueue<FineTuneItem>({
        url,
        prefix,
        name: FINE_TUNE_QUEUE,
        schema: JOB_RECORD_SCHEMA,
        replica,
        lockMs: config.queue.lockMs,
        stalledCheckMs: config.queue.stalledCheckMs,
        // Our own count (jobs.maxResumes) fails the job with a sentence first.
        maxStalls: parts.maxResumes + 2,
        log,
      });
      await queue.connected(config.queue.connectTimeoutMs);
      const channel = bus.channelName(JOB_EVENTS_CHANNEL);
      runner = new QueuedJobRunner({
        ...parts,
        requests: new RedisJobStore(requests, prefix, channel, log),
        records: new RedisJobStore(writes, prefix, channel, log),
        queue,
        bus,
        replicas: registry,
        replica,
        root: path.join(storage, 'jobs'),
      });
      await runner.start();
      return runner;
    },
    async followAdapters(service) {
      await service.follow({
        subscribe: (handler) =>
          bus.subscribe(ADAPTERS_CHANNEL, (m) => {
            const { model, prepare } = (m ?? {}) as { model?: unknown; prepare?: unknown };
            if (typeof model !== 'string') return;
            handler(typeof prepare === 'number' && Number.isInteger(prepare) && prepare > 0 ? { model, prepare } : { model });
          }),
        onReconnect: (fn) => bus.onReconnect(fn),
        announce: (model, version) => bus.publish(ADAPTERS_CHANNEL, { model, prepare: version }),
      });
    },
    async close() {
      await runner?.close();
      await registry?.close();
      bus.close();
      for (const c of connections) c.disconnect();
    },
  };
}
