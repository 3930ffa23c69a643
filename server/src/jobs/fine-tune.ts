/**
 * One fine-tuning job, from its data to its published adapter version, whoever schedules it (the
 * embedded runner of one machine, or a trainer of the cluster's queue): validation Dice of the base
 * model (`glmedsa eval --json`), `glmedsa train --events` (SIGTERM: checkpoint and exit
 * CLI_EXIT.cancelled; `--resume` continues from the checkpoint in the job's work folder), validation
 * Dice of the adapter, publication as a new adapter version. The children's lines are parsed with
 * the models package's own schemas (its cli/contract.ts).
 *
 * The record is written through the scheduler's `write` (the store first, then the listeners). State
 * changes are awaited in order; progress lines, which come faster than a remote store may take them,
 * are coalesced: while one write is in flight, the next ones merge into a single pending patch.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CLI_EXIT, EvalSummarySchema, TrainEventSchema } from '@glmedsa/models';
import type { Logger } from 'pino';
import type { AdapterRegistry } from '../catalog/adapter-registry.js';
import type { ModelCatalog } from '../catalog/model-catalog.js';
import { type CliRun, lastError, runCli } from '../children/cli-process.js';
import type { DatasetProvider, PreparedDataset } from './dataset-provider.js';
import { type JobRecord, type JobValidation, defaultValidateEvery } from '../api/jobs.js';

/** What a job needs besides its record: where data comes from, where versions go, how children run. */
export interface FineTuneParts {
  datasets: DatasetProvider;
  registry: AdapterRegistry;
  catalog: ModelCatalog;
  device: 'auto' | 'cuda' | 'cpu';
  threads: number;
  checkpointEvery: number;
  /** Called after a version is published (the adapter service refreshes its list). */
  onPublished?: (model: string, version: number) => Promise<void>;
  log: Logger;
}

export type JobEventType = 'state' | 'progress';

/** Stores a patch of the job's record atomically and tells the listeners; answers the stored record. */
type WriteRecord = (patch: Partial<Omit<JobRecord, 'id'>>, type: JobEventType) => Promise<JobRecord>;

/**
 * How a run ended: finished (the record says so), or 'interrupted' by a shutdown with its checkpoint
 * written (the scheduler queues the job again; the next run resumes it).
 */
type RunOutcome = 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

class Stopped extends Error {}

/**
 * The validation record after a validation at `step`: `now` is its Dice, and it replaces any
 * entry of the history at or after that step (a resumed run repeats the steps after its checkpoint).
 */
function validatedAt(v: JobValidation, step: number, dice: number, images: number | null): JobValidation {
  const history = [...(v.history ?? []).filter((h) => h.step < step), { step, dice }];
  return { ...v, now: dice, step, images: images ?? v.images, history };
}

export class FineTuneRun {
  private child: CliRun | null = null;
  private stopping: 'cancel' | 'shutdown' | null = null;
  /** The first write that failed: the run stops (checkpoint written) and run() throws it. */
  private writeError: unknown = null;
  private pending: Partial<JobRecord> | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private job: JobRecord,
    /** The job's own folder (prepared data, checkpoints, the adapter before publication). */
    private readonly workDir: string,
    private readonly o: FineTuneParts,
    private readonly write: WriteRecord,
  ) {}

  get id(): string {
    return this.job.id;
  }

  /** Cancel: the trainer checkpoints and exits, the job ends 'cancelled'. Shutdown: the same, and the job waits for the next run. */
  stop(why: 'cancel' | 'shutdown'): void {
    this.stopping ??= why;
    this.child?.stop();
  }

  private failWrite(err: unknown): void {
    this.writeError ??= err;
    this.stop('shutdown');
  }

  /** Writes a state change after every write before it. */
  private save(patch: Partial<JobRecord>): Promise<JobRecord> {
    this.job = { ...this.job, ...patch };
    const next = this.writes.then(async () => {
      await this.flushProgress();
      return this.write(patch, 'state');
    });
    this.writes = next.catch((err: unknown) => this.failWrite(err));
    return next.catch((err: unknown) => {
      this.failWrite(err);
      throw err;
    });
  }

  /** Queues a progress patch; patches that wait behind a write in flight are merged into one. */
  private progress(patch: Partial<JobRecord>): void {
    this.job = { ...this.job, ...patch };
    const first = this.pending === null;
    this.pending = { ...this.pending, ...patch };
    if (!first) return;
    this.writes = this.writes.then(() => this.flushProgress()).catch((err: unknown) => this.failWrite(err));
  }

  private async flushProgress(): Promise<void> {
    const patch = this.pending;
    this.pending = null;
    if (patch) await this.write(patch, 'progress');
  }

  /** Runs a glmedsa command to its end; a stop (cancel, shutdown, a failed write) throws Stopped. */
  private async runChild(args: string[], onLine: (v: unknown) => void): Promise<void> {
    if (this.stopping) throw new Stopped();
    const run = runCli(args, { threads: this.o.threads, onLine });
    this.child = run;
    await this.save({ pid: run.pid }).catch(() => run.stop());
    const { code, stderrTail } = await run.exited;
    this.child = null;
    if (this.stopping) throw new Stopped();
    if (code === CLI_EXIT.cancelled) throw new Error('the training process was stopped from outside the server');
    if (code !== CLI_EXIT.ok) throw new Error(lastError(stderrTail));
  }

  /** Mean validation Dice of the base model, or of the base with an adapter, measured by `glmedsa eval --json`. */
  private async validate(baseDir: string, adapterDir: string | null, data: PreparedDataset, clicks: number): Promise<{ dice: number; n: number }> {
    let result: { dice: number; n: number } | null = null;
    const args = ['eval', '--model', baseDir, ...(adapterDir ? ['--adapter', adapterDir] : []), '--data', data.validation, '--clicks', String(clicks)];
    args.push('--threads', String(this.o.threads), '--device', this.o.device, '--json');
    await this.runChild(args, (v) => {
      const summary = EvalSummarySchema.safeParse(v);
      if (summary.success && summary.data.dice !== null) result = { dice: summary.data.dice, n: summary.data.n };
    });
    if (!result) throw new Error('the validation process reported no result');
    return result;
  }

  private async finish(state: 'succeeded' | 'failed' | 'cancelled', reason: string | null): Promise<void> {
    await this.save({ state, reason, pid: null, finishedAt: new Date().toISOString(), ...(state === 'succeeded' ? { phase: 'done' as const } : {}) });
  }

  /** Runs the job to its end (see {@link RunOutcome}); throws only when its record could not be written. */
  async run(): Promise<RunOutcome> {
    const id = this.job.id;
    const out = path.join(this.workDir, 'adapter');
    try {
      await this.save({ state: 'running', startedAt: this.job.startedAt ?? new Date().toISOString(), reason: null });
      const base = this.o.catalog.base(this.job.model);
      if (!base) throw new Error(`model '${this.job.model}' is not served by this server`);
      const hp = this.job.hyperparameters;
      const data = await this.o.datasets.prepare(this.job.dataset, this.workDir);
      await this.save({ data: data.summary });
      if (this.job.validation.before === null) {
        await this.save({ phase: 'validating-base' });
        const before = await this.validate(base.dir, null, data, hp.clicks);
        await this.save({ validation: { before: before.dice, now: before.dice, images: before.n, step: 0, history: [{ step: 0, dice: before.dice }] } });
      }
      await this.save({ phase: 'training' });
      const args = ['train', '--base', base.dir, '--variant', this.job.variant, '--trainable', 'adapters', '--data', data.train, '--out', out];
      args.push('--steps', String(hp.steps), '--batch', String(hp.batch), '--lr', String(hp.lr), '--clicks', String(hp.clicks), '--seed', String(hp.seed));
      args.push('--checkpoint-every', String(this.o.checkpointEvery), '--threads', String(this.o.threads), '--device', this.o.device, '--events', '--name', `job-${id}`);
      // Jobs stored before validateEvery existed get the default.
      args.push('--validation-data', data.validation, '--validate-every', String(hp.validateEvery ?? defaultValidateEvery(hp.steps)));
      if (existsSync(out)) args.push('--resume');
      let misread = false;
      await this.runChild(args, (v) => {
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
        this.progress({
          progress: { step: e.step, steps: e.steps, loss: e.smoothedLoss ?? e.loss, etaSeconds: e.etaSeconds, imagesPerSecond: e.imagesPerSecond },
          ...(dice !== null ? { validation: validatedAt(this.job.validation, e.step, dice, e.validation!.n) } : {}),
        });
      });
      await this.save({ phase: 'validating-adapter' });
      const after = await this.validate(base.dir, out, data, hp.clicks);
      // The published figure is the adapter's as written to disk, measured by its own process.
      await this.save({ validation: validatedAt(this.job.validation, hp.steps, after.dice, after.n) });
      await this.save({ phase: 'publishing' });
      const published = await this.o.registry.publish({
        model: this.job.model,
        adapterDir: out,
        data: data.summary,
        validation: { before: this.job.validation.before, after: after.dice, images: after.n },
        job: id,
      });
      await this.o.onPublished?.(this.job.model, published.version);
      await this.save({ adapterVersion: published.version });
      await this.finish('succeeded', null);
      return 'succeeded';
    } catch (err) {
      if (this.writeError) throw this.writeError;
      if (err instanceof Stopped) {
        if (this.stopping === 'cancel') {
          await this.finish('cancelled', 'cancelled while running');
          return 'cancelled';
        }
        return 'interrupted';
      }
      const reason = (err as Error).message || 'the job failed';
      this.o.log.warn({ job: id, reason }, 'job failed');
      await this.finish('failed', reason);
      return 'failed';
    }
  }
}
