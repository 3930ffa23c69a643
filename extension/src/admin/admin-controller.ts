/**
 * What the fine-tuning panel knows and does: the caller's role (GET /v1/whoami), the served
 * model's adapter versions and which one is active (everyone), and for admins the jobs, each
 * unfinished one followed live through its events stream (polling GET /v1/jobs/:id when the
 * stream cannot be had), starting and cancelling jobs, activating, rolling back and deactivating
 * versions. Errors become sentences in the state; nothing here throws at the panel.
 */
import { type AdapterInfo, FINISHED_STATES, type JobRecord, type Role } from '@glmedsa/server/api';
import { ServerError } from '../client.js';
import { modelLabel } from '../status.js';
import type { AdminClient } from './admin-client.js';
import { type JobForm, jobRequest } from './job-form.js';
import { jobNotice } from './job-notice.js';

export interface AdminState {
  /** The caller's role, null until known. */
  role: Role | null;
  /** The model's id (what the API's paths take). */
  model: string | null;
  /** What the panels call the model: the server's display name, or the id when it has none. */
  modelName: string | null;
  /** The active adapter version (null: the base model). */
  active: number | null;
  adapters: AdapterInfo[];
  /** Newest first. */
  jobs: JobRecord[];
  /** How each unfinished job is followed. */
  following: Record<string, 'stream' | 'polling'>;
  submitting: boolean;
  /** Sentences saying what to fix in the form (client-side check or the server's 400). */
  formProblems: string[];
  /** A version switch in progress. */
  switching: number | 'base' | null;
  /** The last failure, as a sentence. */
  error: string | null;
  notice: string | null;
  /** The job the notice speaks of (the one this admin started): the notice follows its record. */
  noticeJob: string | null;
}

type Listener = (s: AdminState) => void;

const POLL_MS = 2000;

/**
 * A model's name as GET /v1/models gives it, the one the main panel shows. It is read again after
 * every change: the server names the served model after its active version (e.g. 'glmedsa-starter-v1').
 */
function nameIn(models: { id: string; name: string }[], id: string): string {
  const info = models.find((m) => m.id === id);
  return info ? modelLabel(info) : id;
}

function sentenceOf(err: unknown): string {
  if (err instanceof ServerError) return err.message;
  return `Something went wrong in the fine-tuning panel: ${(err as Error)?.message ?? String(err)}.`;
}

export class AdminController {
  private state: AdminState = { role: null, model: null, modelName: null, active: null, adapters: [], jobs: [], following: {}, submitting: false, formProblems: [], switching: null, error: null, notice: null, noticeJob: null };
  private readonly listeners = new Set<Listener>();
  private readonly watchers = new Map<string, AbortController>();
  private started = false;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly client: AdminClient,
    /** The model the viewer segments with (null: the server's default). */
    private readonly preferredModel: () => string | null,
    /** Called after the served version changed (the main panel re-reads the models). */
    private readonly onSwitched: () => void = () => undefined,
  ) {}

  get(): AdminState {
    return this.state;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private set(patch: Partial<AdminState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l(this.state);
  }

  get isAdmin(): boolean {
    return this.state.role === 'admin';
  }

  /** Learns the role and the versions; idempotent (the panel calls it on every mount). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.refresh();
    // Versions change when another admin (or a finished job) publishes or activates one.
    this.timer = setInterval(() => void this.refresh(true), 15_000);
  }

  stop(): void {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const w of this.watchers.values()) w.abort();
    this.watchers.clear();
  }

  async refresh(quiet = false): Promise<void> {
    try {
      const who = await this.client.whoami();
      const { models } = await this.client.models();
      // The model the main panel segments with now (the user may have picked another), else the one shown so far, else the server's default.
      const model = this.preferredModel() ?? this.state.model ?? (models.find((m) => m.default) ?? models[0])?.id ?? null;
      if (!model) throw new ServerError('server', 'The segmentation server serves no model.');
      const versions = await this.client.adapters(model);
      this.set({ role: who.role, model, modelName: nameIn(models, model), active: versions.active, adapters: versions.adapters, ...(quiet ? {} : { error: null }) });
      if (who.role === 'admin') {
        const { jobs } = await this.client.jobs();
        this.set(this.withJobs(jobs));
        for (const j of jobs) if (!FINISHED_STATES.includes(j.state)) this.follow(j.id);
      }
    } catch (err) {
      if (!quiet || !this.state.error) this.set({ error: sentenceOf(err) });
    }
  }

  /** Every change of the job list goes through here, so that the notice says what its job does now. */
  private withJobs(jobs: JobRecord[]): Pick<AdminState, 'jobs'> & Partial<AdminState> {
    const followed = this.state.noticeJob === null ? undefined : jobs.find((j) => j.id === this.state.noticeJob);
    return followed ? { jobs, notice: jobNotice(followed) } : { jobs };
  }

  private withJob(job: JobRecord): Pick<AdminState, 'jobs'> & Partial<AdminState> {
    return this.withJobs(this.state.jobs.some((j) => j.id === job.id) ? this.state.jobs.map((j) => (j.id === job.id ? job : j)) : [job, ...this.state.jobs]);
  }

  private upsert(job: JobRecord): void {
    if (FINISHED_STATES.includes(job.state) && this.watchers.has(job.id)) return this.stopFollowing(job);
    this.set(this.withJob(job));
  }

  /** Stops following a finished job; its final record and the end of following show up together. */
  private stopFollowing(job: JobRecord): void {
    this.watchers.get(job.id)?.abort();
    this.watchers.delete(job.id);
    const { [job.id]: _gone, ...rest } = this.state.following;
    this.set({ ...this.withJob(job), following: rest });
  }

  /** Follows a job through its events stream until it ends; polls when the stream is refused or breaks. */
  private follow(id: string): void {
    if (this.watchers.has(id)) return;
    const abort = new AbortController();
    this.watchers.set(id, abort);
    const finished = async (job: JobRecord) => {
      if (abort.signal.aborted) return true;
      this.upsert(job);
      if (!FINISHED_STATES.includes(job.state)) return false;
      // A succeeded job has published a version: show it.
      if (job.state === 'succeeded') await this.refreshVersions();
      return true;
    };
    const run = async () => {
      this.set({ following: { ...this.state.following, [id]: 'stream' } });
      let ended = false;
      try {
        ended = (await this.client.events(id, (e) => void finished(e.job), abort.signal)) === 'ended';
      } catch {
        ended = false;
      }
      if (ended || abort.signal.aborted) return;
      this.set({ following: { ...this.state.following, [id]: 'polling' } });
      while (!abort.signal.aborted) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        if (abort.signal.aborted) return;
        try {
          if (await finished(await this.client.job(id))) return;
        } catch (err) {
          this.set({ error: sentenceOf(err) });
        }
      }
    };
    void run();
  }

  private async refreshVersions(): Promise<void> {
    if (!this.state.model) return;
    try {
      const v = await this.client.adapters(this.state.model);
      this.set({ active: v.active, adapters: v.adapters });
    } catch (err) {
      this.set({ error: sentenceOf(err) });
    }
  }

  /** The served model's name follows the version in use (the main panel re-reads it too, onSwitched). */
  private async refreshName(): Promise<void> {
    const model = this.state.model;
    if (!model) return;
    try {
      this.set({ modelName: nameIn((await this.client.models()).models, model) });
    } catch {
      // The switch itself worked; the next refresh reads the name again.
    }
  }

  /** Checks the form with the API's schema, then starts the job; the server's refusal is shown as its sentence. */
  async submit(form: JobForm): Promise<JobRecord | null> {
    const req = jobRequest(form);
    if (!req.body) {
      this.set({ formProblems: req.problems });
      return null;
    }
    this.set({ submitting: true, formProblems: [], error: null, notice: null, noticeJob: null });
    try {
      const job = await this.client.submit({ ...req.body, ...(this.state.model ? { model: this.state.model } : {}) });
      // From here on the notice is remade from each new record of this job (withJobs).
      this.set({ noticeJob: job.id });
      this.upsert(job);
      this.follow(job.id);
      return job;
    } catch (err) {
      if (err instanceof ServerError && err.status === 400) this.set({ formProblems: [err.message] });
      else this.set({ error: sentenceOf(err) });
      return null;
    } finally {
      this.set({ submitting: false });
    }
  }

  async cancel(id: string): Promise<void> {
    try {
      this.upsert(await this.client.cancel(id));
      this.set({ error: null });
    } catch (err) {
      this.set({ error: sentenceOf(err) });
    }
  }

  /** Serves version `version` (an activation, or a rollback to an earlier one). */
  async activate(version: number): Promise<void> {
    await this.switchTo(version, () => this.client.activate(this.state.model!, version), `Version ${version} is now served.`);
  }

  /** Back to the base model. */
  async deactivate(): Promise<void> {
    await this.switchTo('base', () => this.client.deactivate(this.state.model!), 'The base model is now served (no adapter).');
  }

  private async switchTo(target: number | 'base', call: () => Promise<{ active: number | null; adapters: AdapterInfo[] }>, notice: string): Promise<void> {
    if (!this.state.model || this.state.switching !== null) return;
    // A version switch has a notice of its own; the job's notice stops following the job.
    this.set({ switching: target, error: null, notice: null, noticeJob: null });
    try {
      const v = await call();
      this.set({ active: v.active, adapters: v.adapters, notice });
      this.onSwitched();
      await this.refreshName();
    } catch (err) {
      this.set({ error: sentenceOf(err) });
    } finally {
      this.set({ switching: null });
    }
  }
}
