/**
 * Fine-tuning jobs in a cluster: records in Redis (`redis-job-store.ts`), work on the shared queue
 * (`queue/work-queue.ts`, BullMQ), events on the bus. Any replica takes a job (POST /v1/jobs),
 * lists it and streams its events; trainers (role 'trainer' or 'all') run it, one at a time each,
 * with its work folder (prepared data, checkpoints) on the shared storage, so that when a trainer
 * dies the queue's stalled-job check hands the job to another, which resumes from the last
 * checkpoint, until `jobs.maxResumes` is spent and the job fails with that sentence.
 *
 * A trainer holds a job by its queue lock and writes its record only while it owns it (the record
 * names the owner); one that lost the job (its lock expired while it was cut off) stops at its next
 * write. A job for base weights this trainer does not serve is left to a trainer that serves them,
 * or failed with a sentence when none on the queue does.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Logger } from 'pino';
import { Busy, Conflict, InvalidRequest } from '../errors.js';
import type { RedisBus } from '../redis/bus.js';
import { orUnavailable } from '../redis/connection.js';
import type { ReplicaRegistry } from '../queue/replicas.js';
import type { WorkContext, WorkItem, WorkOutcome, WorkQueue } from '../queue/work-queue.js';
import { type FineTuneParts, FineTuneRun } from './fine-tune.js';
import { type JobEvent, type JobService, newJobRecord, storedDataset } from './job-service.js';
import { JOB_RECORD_SCHEMA, LostJob, type RedisJobStore } from './redis-job-store.js';
import { FINISHED_STATES, JobEventSchema, type JobRecord, type JobRequest } from '../api/jobs.js';

/** The queue of fine-tuning jobs. */
export const FINE_TUNE_QUEUE = 'fine-tune';

/** What the queue carries for a job: its id, and the base model it was submitted for. */
export interface FineTuneItem extends WorkItem {
  model: string;
  /** The base weights' sha256 on the replica that took the job. */
  weights: string;
}

/** Bus channels: every job record change (published by the store), and cancellations of running jobs. */
export const JOB_EVENTS_CHANNEL = 'jobs';
const CANCEL_CHANNEL = 'job-cancel';

interface QueuedJobRunnerOptions extends FineTuneParts {
  /** The store on a fail-fast connection (HTTP requests answer 503 while Redis is away). */
  requests: RedisJobStore;
  /** The store on a waiting connection (a trainer's writes wait through a Redis restart). */
  records: RedisJobStore;
  queue: WorkQueue<FineTuneItem>;
  bus: RedisBus;
  replicas: ReplicaRegistry;
  /** This replica's name. */
  replica: string;
  /** Whether this replica runs jobs (role 'trainer' or 'all'). */
  trains: boolean;
  /** STORAGE/jobs: one work folder per job, on the shared storage. */
  root: string;
  queueLimit: number;
  maxResumes: number;
  log: Logger;
}

const now = () => new Date().toISOString();

export class QueuedJobRunner implements JobService {
  private readonly emitter = new EventEmitter();
  private current: { id: string; run: FineTuneRun } | null = null;
  private readonly offs: (() => void)[] = [];
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly o: QueuedJobRunnerOptions) {
    this.emitter.setMaxListeners(0);
  }

  async start(): Promise<void> {
    this.offs.push(
      await this.o.bus.subscribe(JOB_EVENTS_CHANNEL, (m) => {
        const e = JobEventSchema.safeParse(m);
        if (e.success && e.data.type !== 'end') this.emitter.emit('job', { type: e.data.type, job: e.data.job } satisfies JobEvent);
      }),
    );
    // Changes published while Redis was away are lost to pub/sub: send the current records again.
    this.offs.push(this.o.bus.onReconnect(() => void this.resync()));
    if (!this.o.trains) return;
    this.offs.push(
      await this.o.bus.subscribe(CANCEL_CHANNEL, (m) => {
        const id = (m as { id?: unknown })?.id;
        if (this.current && this.current.id === id) this.current.run.stop('cancel');
      }),
    );
    this.o.queue.work((item, ctx) => this.take(item, ctx));
  }

  private async resync(): Promise<void> {
    try {
      for (const job of await this.o.requests.unfinished()) this.emitter.emit('job', { type: 'state', job } satisfies JobEvent);
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message }, 'could not read the jobs again after a reconnection');
    }
  }

  on(listener: (e: JobEvent) => void): () => void {
    this.emitter.on('job', listener);
    return () => this.emitter.off('job', listener);
  }

  get(id: string): Promise<JobRecord> {
    return this.o.requests.get(id);
  }

  list(): Promise<JobRecord[]> {
    return this.o.requests.list();
  }

  async submit(req: JobRequest, requestedBy: string, defaultModel: string): Promise<JobRecord> {
    if (this.closed) throw new Busy('the server is shutting down', 5);
    const model = req.model ?? defaultModel;
    const base = this.o.catalog.base(model);
    if (!base) throw new InvalidRequest(`there is no model '${model}' (available: ${this.o.catalog.ids().join(', ')})`, { model: 'unknown model' });
    const dataset = storedDataset(req);
    await this.o.datasets.check(dataset);
    const waiting = await this.o.queue.waiting();
    if (waiting >= this.o.queueLimit) {
      throw new Busy(`${waiting} fine-tuning jobs are already waiting (the limit is ${this.o.queueLimit}); try again when one has finished`, 600);
    }
    const job = newJobRecord(req, model, requestedBy, dataset);
    await this.o.requests.insert(job);
    try {
      await this.o.queue.add({ schema: JOB_RECORD_SCHEMA, id: job.id, model, weights: base.manifest.weights_sha256 });
    } catch (err) {
      await this.o.requests.update(job.id, { state: 'failed', reason: 'the job could not be queued (the shared queue was unreachable)', finishedAt: now() }).catch(() => undefined);
      throw err;
    }
    return job;
  }

  async cancel(id: string): Promise<JobRecord> {
    const job = await this.o.requests.get(id);
    if (FINISHED_STATES.includes(job.state)) throw new Conflict(`job ${id} has already ${job.state === 'succeeded' ? 'finished' : `been ${job.state}`}`);
    if (job.state === 'queued' && (await this.o.queue.removeWaiting(id))) {
      return (await orUnavailable(() => this.o.requests.update(id, { state: 'cancelled', reason: 'cancelled before it started', pid: null, finishedAt: now() }))).record;
    }
    // Taken by a trainer: it stops the job at the message, or at its next write (the record says so).
    const marked = await orUnavailable(() => this.o.requests.update(id, {}, { cancel: true }));
    await this.o.bus.publish(CANCEL_CHANNEL, { id }).catch(() => undefined);
    return marked.record;
  }

  /** A trainer's side: one job from the queue, run to its end or given back. */
  private async take(item: FineTuneItem, ctx: WorkContext): Promise<WorkOutcome> {
    const o = this.o;
    if (this.closed) return 'requeue';
    const refusal = await this.refusal(item);
    if (refusal === 'elsewhere') return 'elsewhere';
    const records = o.records;
    let envelope;
    try {
      envelope = await records.envelope(item.id);
    } catch (err) {
      o.log.warn({ job: item.id, reason: (err as Error).message }, 'a queued job has no readable record; dropped from the queue');
      return 'done';
    }
    const job = envelope.record;
    if (FINISHED_STATES.includes(job.state)) return 'done';
    const end = async (state: 'failed' | 'cancelled', reason: string) => {
      await records.update(item.id, { state, reason, pid: null, finishedAt: now() }, { owner: null });
      return 'done' as const;
    };
    if (refusal) return end('failed', refusal);
    if (envelope.cancel) return end('cancelled', job.state === 'running' ? 'cancelled while running' : 'cancelled before it started');
    // Left 'running' by a trainer that stopped without giving it back (killed, or cut off).
    const resumed = job.state === 'running';
    if (resumed && job.resumes >= o.maxResumes) {
      return end('failed', `the trainer running this job stopped ${job.resumes + 1} times (last: ${job.replica ?? 'unknown'}); it is not resumed again`);
    }
    if (resumed) o.log.warn({ job: item.id, step: job.progress.step, from: job.replica }, 'resuming a job whose trainer stopped, from its last checkpoint');
    const owner = `${o.replica}/${ctx.token}`;
    const claimed = await records.update(item.id, { replica: o.replica, pid: null, ...(resumed ? { resumes: job.resumes + 1 } : {}) }, { owner });
    const run: FineTuneRun = new FineTuneRun(claimed.record, path.join(o.root, item.id), o, async (patch, type) => {
      const written = await records.update(item.id, patch, { type, asOwner: owner });
      if (written.cancel) run.stop('cancel');
      return written.record;
    });
    this.current = { id: item.id, run };
    const lost = () => run.stop('shutdown');
    ctx.signal.addEventListener('abort', lost);
    try {
      const outcome = await run.run();
      // The lock was lost: the record is no longer ours to write; the queue hands the job on.
      if (ctx.signal.aborted) return 'done';
      if (outcome === 'interrupted') {
        await records.update(item.id, { state: 'queued', phase: 'waiting', pid: null }, { asOwner: owner, owner: null });
        return 'requeue';
      }
      await records.update(item.id, {}, { asOwner: owner, owner: null }).catch(() => undefined);
      return 'done';
    } catch (err) {
      if (err instanceof LostJob) {
        o.log.warn({ job: item.id, reason: err.message }, 'another trainer holds this job now');
        return 'done';
      }
      o.log.error({ job: item.id, err }, 'a job record could not be written');
      await records.update(item.id, { state: 'failed', reason: `the job's record could not be written (${(err as Error).message})`, pid: null, finishedAt: now() }, { asOwner: owner, owner: null }).catch(() => undefined);
      return 'done';
    } finally {
      ctx.signal.removeEventListener('abort', lost);
      this.current = null;
    }
  }

  /**
   * Null when this trainer serves the job's base weights; 'elsewhere' when another live trainer
   * does; else the sentence the job fails with.
   */
  private async refusal(item: FineTuneItem): Promise<string | 'elsewhere' | null> {
    const base = this.o.catalog.base(item.model);
    const mine = base?.manifest.weights_sha256;
    if (mine === item.weights) return null;
    const others = (await this.o.replicas.list().catch(() => [])).filter((r) => r.id !== this.o.replica && r.role !== 'api' && r.models[item.model] === item.weights);
    if (others.length) {
      this.o.log.info({ job: item.id, model: item.model, trainers: others.map((r) => r.id) }, 'a job for base weights this trainer does not serve is left to a trainer that serves them');
      return 'elsewhere';
    }
    const serves = mine ? `base weights ${mine.slice(0, 12)}` : `no model '${item.model}'`;
    return (
      `trainer ${this.o.replica} refused this job: it was submitted for model '${item.model}' with base weights ${item.weights.slice(0, 12)}, this trainer serves ${serves}, ` +
      `and no trainer on the queue serves those weights (every replica on one queue must serve the same base models)`
    );
  }

  /** Stops the running job (it writes its checkpoint and goes back to the queue for another trainer). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.current?.run.stop('shutdown');
      await this.o.queue.close();
      for (const off of this.offs.splice(0)) off();
    })();
    return this.closing;
  }
}
