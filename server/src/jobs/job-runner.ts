/**
 * Runs fine-tuning jobs one at a time (one device, one job; the rest wait in a bounded queue),
 * each in child processes at a bounded thread count so that clicks stay fast: validation Dice of
 * the base model (`glmedsa eval --json`), `glmedsa train --events` (SIGTERM: checkpoint and exit
 * CLI_EXIT.cancelled; `--resume` continues), validation Dice of the adapter, then publication as a
 * new adapter version. The children's lines are parsed with the models package's own schemas
 * (its cli/contract.ts). Every change of state goes to the store first, then to the listeners
 * (the events stream).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CLI_EXIT, EvalSummarySchema, TrainEventSchema } from '@glmedsa/models';
import type { Logger } from 'pino';
import { Busy, Conflict, InvalidRequest, NotFound } from '../errors.js';
import type { AdapterRegistry } from '../catalog/adapter-registry.js';
import type { ModelCatalog } from '../catalog/model-catalog.js';
import { type CliRun, lastError, runCli } from '../children/cli-process.js';
import type { DatasetProvider, PreparedDataset } from './dataset-provider.js';
import type { JobStore } from './job-store.js';
import { DEFAULT_HYPERPARAMETERS, FINISHED_STATES, type JobRecord, type JobRequest, type JobValidation, defaultValidateEvery } from '../api/jobs.js';

interface JobRunnerOptions {
  store: JobStore;
  datasets: DatasetProvider;
  registry: AdapterRegistry;
  catalog: ModelCatalog;
  /** DATA/jobs: one work folder per job (checkpoints, the trained adapter before publication). */
  root: string;
  device: 'auto' | 'cuda' | 'cpu';
  threads: number;
  queueLimit: number;
  checkpointEvery: number;
  /** How many server restarts a job survives before it is failed. */
  maxResumes: number;
  /** Called after a version is published (the adapter service refreshes its list). */
  onPublished?: (model: string, version: number) => Promise<void>;
  log: Logger;
}

type JobEvent = { type: 'state' | 'progress'; job: JobRecord };

class Stopped extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The validation record after a validation at `step`: `now` is its Dice, and it replaces any
 * entry of the history at or after that step (a resumed run repeats the steps after its checkpoint).
 */
function validatedAt(v: JobValidation, step: number, dice: number, images: number | null): JobValidation {
  const history = [...(v.history ?? []).filter((h) => h.step < step), { step, dice }];
  return { ...v, now: dice, step, images: images ?? v.images, history };
}

export class JobRunner {
  private readonly emitter = new EventEmitter();
  private current: { id: string; child: CliRun | null; cancel: boolean; shutdown: boolean } | null = null;
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

  get(id: string): JobRecord {
    const job = this.o.store.get(id);
    if (!job) throw new NotFound(`there is no job ${id}`);
    return job;
  }

  list(): JobRecord[] {
    return this.o.store.list();
  }

  async submit(req: JobRequest, requestedBy: string, defaultModel: string): Promise<JobRecord> {
    if (this.closed) throw new Busy('the server is shutting down', 5);
    const model = req.model ?? defaultModel;
    if (!this.o.catalog.base(model)) throw new InvalidRequest(`there is no model '${model}' (available: ${this.o.catalog.ids().join(', ')})`, { model: 'unknown model' });
    // What is checked is what is stored and later run: the filter as it will read back from the
    // store (a JSON document), not the in-memory object a validator made.
    const dataset = JSON.parse(JSON.stringify(req.dataset)) as Record<string, unknown>;
    await this.o.datasets.check(dataset);
    const waiting = this.o.store.inState('queued').length;
    if (waiting >= this.o.queueLimit) {
      throw new Busy(`${waiting} fine-tuning jobs are already waiting (the limit is ${this.o.queueLimit}); try again when one has finished`, 600);
    }
    const job: JobRecord = {
      id: randomUUID(),
      model,
      variant: req.variant,
      dataset,
      hyperparameters: { ...DEFAULT_HYPERPARAMETERS, validateEvery: defaultValidateEvery(req.hyperparameters.steps), ...req.hyperparameters },
      state: 'queued',
      phase: 'waiting',
      progress: { step: 0, steps: req.hyperparameters.steps, loss: null, etaSeconds: null, imagesPerSecond: null },
      validation: { before: null, now: null, images: null, step: null, history: [] },
      data: null,
      adapterVersion: null,
      reason: null,
      resumes: 0,
      pid: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      requestedBy,
    };
    this.o.store.insert(job);
    this.emit('state', job);
    this.kick();
    return this.get(job.id);
  }

  cancel(id: string): JobRecord {
    const job = this.get(id);
    if (FINISHED_STATES.includes(job.state)) throw new Conflict(`job ${id} has already ${job.state === 'succeeded' ? 'finished' : `been ${job.state}`}`);
    if (this.current?.id === id) {
      this.current.cancel = true;
      this.current.child?.stop();
      return this.get(id);
    }
    return this.finish(id, 'cancelled', 'cancelled before it started');
  }

  private emit(type: JobEvent['type'], job: JobRecord): void {
    this.emitter.emit('job', { type, job } satisfies JobEvent);
  }

  private update(id: string, patch: Partial<JobRecord>, type: JobEvent['type'] = 'state'): JobRecord {
    const next = this.o.store.update(id, patch);
    if (!next) throw new NotFound(`there is no job ${id}`);
    this.emit(type, next);
    return next;
  }

  private finish(id: string, state: 'succeeded' | 'failed' | 'cancelled', reason: string | null): JobRecord {
    return this.update(id, { state, reason, pid: null, finishedAt: new Date().toISOString(), ...(state === 'succeeded' ? { phase: 'done' as const } : {}) });
  }

  private kick(): void {
    if (this.running || this.closed) return;
    const next = this.o.store.inState('queued')[0];
    if (!next) return;
    this.current = { id: next.id, child: null, cancel: false, shutdown: false };
    this.running = this.run(next)
      .catch((err: unknown) => this.o.log.error({ err, job: next.id }, 'job runner failed'))
      .finally(() => {
        this.current = null;
        this.running = null;
        this.kick();
      });
  }

  /** Runs a glmedsa command to its end; a stop (cancel or shutdown) throws Stopped. */
  private async child(args: string[], onLine: (v: unknown) => void): Promise<void> {
    const cur = this.current!;
    if (cur.cancel || cur.shutdown) throw new Stopped();
    const run = runCli(args, { threads: this.o.threads, onLine });
    cur.child = run;
    this.update(cur.id, { pid: run.pid });
    const { code, stderrTail } = await run.exited;
    cur.child = null;
    if (cur.cancel || cur.shutdown) throw new Stopped();
    if (code === CLI_EXIT.cancelled) throw new Error('the training process was stopped from outside the server');
    if (code !== CLI_EXIT.ok) throw new Error(lastError(stderrTail));
  }

  /** Mean validation Dice of the base model, or of the base with an adapter, measured by `glmedsa eval --json`. */
  private async validate(baseDir: string, adapterDir: string | null, data: PreparedDataset, clicks: number): Promise<{ dice: number; n: number }> {
    let result: { dice: number; n: number } | null = null;
    const args = ['eval', '--model', baseDir, ...(adapterDir ? ['--adapter', adapterDir] : []), '--data', data.validation, '--clicks', String(clicks)];
    args.push('--threads', String(this.o.threads), '--device', this.o.device, '--json');
    await this.child(args, (v) => {
      const summary = EvalSummarySchema.safeParse(v);
      if (summary.success && summary.data.dice !== null) result = { dice: summary.data.dice, n: summary.data.n };
    });
    if (!result) throw new Error('the validation process reported no result');
    return result;
  }

  private async run(queued: JobRecord): Promise<void> {
    const id = queued.id;
    let job = this.update(id, { state: 'running', startedAt: queued.startedAt ?? new Date().toISOString(), reason: null });
    const base = this.o.catalog.base(job.model)!;
    const hp = job.hyperparameters;
    const workDir = path.join(this.o.root, id);
    const out = path.join(workDir, 'adapter');
    try {
      const data = await this.o.datasets.prepare(job.dataset, workDir);
      job = this.update(id, { data: data.summary });
      if (job.validation.before === null) {
        this.update(id, { phase: 'validating-base' });
        const before = await this.validate(base.dir, null, data, hp.clicks);
        job = this.update(id, { validation: { before: before.dice, now: before.dice, images: before.n, step: 0, history: [{ step: 0, dice: before.dice }] } });
      }
      this.update(id, { phase: 'training' });
      const args = ['train', '--base', base.dir, '--variant', job.variant, '--trainable', 'adapters', '--data', data.train, '--out', out];
      args.push('--steps', String(hp.steps), '--batch', String(hp.batch), '--lr', String(hp.lr), '--clicks', String(hp.clicks), '--seed', String(hp.seed));
      args.push('--checkpoint-every', String(this.o.checkpointEvery), '--threads', String(this.o.threads), '--device', this.o.device, '--events', '--name', `job-${id}`);
      // Jobs stored before validateEvery existed get the default.
      args.push('--validation-data', data.validation, '--validate-every', String(hp.validateEvery ?? defaultValidateEvery(hp.steps)));
      if (existsSync(out)) args.push('--resume');
      let misread = false;
      await this.child(args, (v) => {
        const parsed = TrainEventSchema.safeParse(v);
        if (!parsed.success) {
          // A line of another shape means the models package and this server disagree: say so once.
          if (!misread) this.o.log.warn({ job: id, issues: parsed.error.issues.slice(0, 3) }, 'the training process wrote an event this server does not read');
          misread = true;
          return;
        }
        const e = parsed.data;
        if (e.type !== 'progress') return;
        const dice = e.validation?.dice ?? null;
        this.update(
          id,
          {
            progress: { step: e.step, steps: e.steps, loss: e.smoothedLoss ?? e.loss, etaSeconds: e.etaSeconds, imagesPerSecond: e.imagesPerSecond },
            ...(dice !== null ? { validation: validatedAt(this.get(id).validation, e.step, dice, e.validation!.n) } : {}),
          },
          'progress',
        );
      });
      this.update(id, { phase: 'validating-adapter' });
      const after = await this.validate(base.dir, out, data, hp.clicks);
      // The published figure is the adapter's as written to disk, measured by its own process.
      job = this.update(id, { validation: validatedAt(this.get(id).validation, hp.steps, after.dice, after.n) });
      this.update(id, { phase: 'publishing' });
      const published = await this.o.registry.publish({
        model: job.model,
        adapterDir: out,
        data: data.summary,
        validation: { before: job.validation.before, after: after.dice, images: after.n },
        job: id,
      });
      await this.o.onPublished?.(job.model, published.version);
      this.update(id, { adapterVersion: published.version });
      this.finish(id, 'succeeded', null);
    } catch (err) {
      if (err instanceof Stopped) {
        if (this.current?.cancel) this.finish(id, 'cancelled', 'cancelled while running');
        // Shutdown: the checkpoint is written; the next start resumes the job.
        else this.update(id, { state: 'queued', phase: 'waiting', pid: null });
        return;
      }
      const reason = (err as Error).message || 'the job failed';
      this.o.log.warn({ job: id, reason }, 'job failed');
      this.finish(id, 'failed', reason);
    }
  }

  /** Stops the running job (it writes its checkpoint and waits for the next start); queued jobs stay queued. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.current) {
      this.current.shutdown = true;
      this.current.child?.stop();
    }
    await this.running;
  }
}
