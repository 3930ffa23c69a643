/**
 * The embedded job runner of one machine: jobs in DATA/jobs.sqlite, run one at a time (one device,
 * one job; the rest wait in a bounded queue), each as a {@link FineTuneRun} with its children at a
 * bounded thread count so that clicks stay fast. Every change of state goes to the store first,
 * then to the listeners (the events stream). A cluster uses `queued-job-runner.ts` instead.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Logger } from 'pino';
import { Busy, Conflict, InvalidRequest, NotFound } from '../errors.js';
import type { ModelCatalog } from '../catalog/model-catalog.js';
import { type FineTuneParts, FineTuneRun, type JobEventType } from './fine-tune.js';
import type { JobStore } from './job-store.js';
import { type JobEvent, type JobService, newJobRecord, storedDataset } from './job-service.js';
import { FINISHED_STATES, type JobRecord, type JobRequest } from '../api/jobs.js';

interface JobRunnerOptions extends FineTuneParts {
  store: JobStore;
  catalog: ModelCatalog;
  /** DATA/jobs: one work folder per job (checkpoints, the trained adapter before publication). */
  root: string;
  queueLimit: number;
  /** How many server restarts a job survives before it is failed. */
  maxResumes: number;
  log: Logger;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class JobRunner implements JobService {
  private readonly emitter = new EventEmitter();
  private current: FineTuneRun | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: JobRunnerOptions) {
    this.emitter.setMaxListeners(0);
  }

  /** Jobs a previous server left running: resumed from their checkpoint, or failed with the reason. */
  async recover(): Promise<void> {
    for (const job of this.o.store.inState('running')) {
      if (job.pid && job.pid !== process.pid && alive(job.pid)) {
        // A child of the dead server: it stops itself (child-guard); make sure before resuming.
        process.kill(job.pid, 'SIGTERM');
        for (let i = 0; i < 120 && alive(job.pid); i++) await new Promise((r) => setTimeout(r, 250));
        if (alive(job.pid)) process.kill(job.pid, 'SIGKILL');
      }
      if (!this.o.catalog.base(job.model)) {
        this.finish(job.id, 'failed', `the server restarted during this job and model '${job.model}' is no longer served`);
      } else if (job.resumes >= this.o.maxResumes) {
        this.finish(job.id, 'failed', `the server stopped ${job.resumes + 1} times during this job; it is not resumed again`);
      } else {
        this.o.log.warn({ job: job.id, step: job.progress.step }, 'resuming a job the previous server left running');
        this.update(job.id, { state: 'queued', phase: 'waiting', pid: null, resumes: job.resumes + 1 });
      }
    }
    this.kick();
  }

  on(listener: (e: JobEvent) => void): () => void {
    this.emitter.on('job', listener);
    return () => this.emitter.off('job', listener);
  }

  private record(id: string): JobRecord {
    const job = this.o.store.get(id);
    if (!job) throw new NotFound(`there is no job ${id}`);
    return job;
  }

  async get(id: string): Promise<JobRecord> {
    return this.record(id);
  }

  async list(): Promise<JobRecord[]> {
    return this.o.store.list();
  }

  async submit(req: JobRequest, requestedBy: string, defaultModel: string): Promise<JobRecord> {
    if (this.closed) throw new Busy('the server is shutting down', 5);
    const model = req.model ?? defaultModel;
    if (!this.o.catalog.base(model)) throw new InvalidRequest(`there is no model '${model}' (available: ${this.o.catalog.ids().join(', ')})`, { model: 'unknown model' });
    const dataset = storedDataset(req);
    await this.o.datasets.check(dataset);
    const waiting = this.o.store.inState('queued').length;
    if (waiting >= this.o.queueLimit) {
      throw new Busy(`${waiting} fine-tuning jobs are already waiting (the limit is ${this.o.queueLimit}); try again when one has finished`, 600);
    }
    const job = newJobRecord(req, model, requestedBy, dataset);
    this.o.store.insert(job);
    this.emit('state', job);
    this.kick();
    return this.record(job.id);
  }

  async cancel(id: string): Promise<JobRecord> {
    const job = this.record(id);
    if (FINISHED_STATES.includes(job.state)) throw new Conflict(`job ${id} has already ${job.state === 'succeeded' ? 'finished' : `been ${job.state}`}`);
    if (this.current?.id === id) {
      this.current.stop('cancel');
      return this.record(id);
    }
    return this.finish(id, 'cancelled', 'cancelled before it started');
  }

  private emit(type: JobEventType, job: JobRecord): void {
    this.emitter.emit('job', { type, job } satisfies JobEvent);
  }

  private update(id: string, patch: Partial<JobRecord>, type: JobEventType = 'state'): JobRecord {
    const next = this.o.store.update(id, patch);
    if (!next) throw new NotFound(`there is no job ${id}`);
    this.emit(type, next);
    return next;
  }

  private finish(id: string, state: 'failed' | 'cancelled', reason: string): JobRecord {
    return this.update(id, { state, reason, pid: null, finishedAt: new Date().toISOString() });
  }

  private kick(): void {
    if (this.running || this.closed) return;
    const next = this.o.store.inState('queued')[0];
    if (!next) return;
    const run = new FineTuneRun(next, path.join(this.o.root, next.id), this.o, async (patch, type) => this.update(next.id, patch, type));
    this.current = run;
    this.running = run
      .run()
      .then((outcome) => {
        // Shutdown: the checkpoint is written; the next start resumes the job.
        if (outcome === 'interrupted') this.update(next.id, { state: 'queued', phase: 'waiting', pid: null });
      })
      .catch((err: unknown) => this.o.log.error({ err, job: next.id }, 'job runner failed'))
      .finally(() => {
        this.current = null;
        this.running = null;
        this.kick();
      });
  }

  /** Stops the running job (it writes its checkpoint and waits for the next start); queued jobs stay queued. */
  async close(): Promise<void> {
    this.closed = true;
    this.current?.stop('shutdown');
    await this.running;
  }
}
