/**
 * A pool of inference worker threads with a bounded, two-level queue: interactive jobs (clicks)
 * go before background ones (embedding warm-up). A full queue is refused at once (503 with
 * Retry-After) rather than left waiting.
 *
 * Bad or huge inputs cost one worker, briefly: each worker runs under V8 heap limits
 * (`resourceLimits`), a job that overruns its time has its worker terminated (its computation
 * stops and its sessions' memory is freed) and a replacement that loads and warms its sessions
 * before it takes work; a job whose caller gave up while it was queued is dropped. With two or
 * more workers, encodes (seconds) may occupy all workers but one, so a click on an image whose
 * embedding is cached (milliseconds) never waits behind a slow image.
 *
 * Large images (more than limits.largeImagePixels) have a lane of their own: one of their jobs
 * (encode or decode) runs at a time, with two or more workers never on the last free one, and
 * other jobs queued behind one go first. So three 8192 x 8192 uploads cost the others one worker,
 * not the whole encode queue; a large job that has waited {@link LARGE_PATIENCE_MS} is no longer
 * kept off the last free worker, so a steady stream of small work cannot starve it.
 *
 * Background work (warm-ups, propagations through a series) waits behind every click and counts
 * against the queue limit with everything queued; a click is refused only when clicks alone fill
 * the queue, so a series being propagated never makes a click wait for more than the one job a
 * worker is running, nor answer 503.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Busy, DomainError, ERROR_KINDS, InternalFailure, TooLarge } from '../errors.js';
import type { ImageLimits } from '../images/limits.js';
import { newGuardWord, terminateWhenSafe } from './native-guard.js';
import type { DecodeJob, DecodeResult, EncodeJob, EncodeResult, Job, ModelToLoad, ThreadMemory, WorkerRequest, WorkerResponse } from './messages.js';

export type Priority = 'interactive' | 'background';

/** How long a large-image job waits for a second free worker before it takes the last one. */
const LARGE_PATIENCE_MS = 5_000;

/** The pixels of the image a job works on (encodes say it when known; decodes always know it). */
function pixelsOf(job: Job): number {
  return job.kind === 'encode' ? (job.pixels ?? 0) : job.originalSize[0] * job.originalSize[1];
}

interface Pending {
  id: number;
  job: Job;
  transfer: ArrayBuffer[];
  resolve: (r: EncodeResult | DecodeResult) => void;
  reject: (e: Error) => void;
  enqueuedAt: number;
  /** Set while queued: drops the job if the caller gives up before it starts. */
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
  timer: NodeJS.Timeout | null;
  ready: boolean;
  /** Asked to close (shutdown, or replaced after overrunning a job): takes no more work. */
  retiring: boolean;
  /** Models being loaded by loadModel: id -> called with the error, or undefined on success. */
  loading: Map<string, (error?: string) => void>;
  /** Shared with the worker: whether it is inside an onnxruntime call (see native-guard.ts). */
  guard: Int32Array;
  /** The error the thread died of, if any (ERR_WORKER_OUT_OF_MEMORY when it hit its heap limit). */
  error: (Error & { code?: string }) | null;
  /** Memory reports asked for and not answered yet: request id -> resolve. */
  memoryWaiters: Map<number, (m: ThreadMemory) => void>;
  /** The worker's last memory report (kept for when it is too busy to answer in time). */
  lastMemory: ThreadMemory | null;
}

/** One worker's memory, as the pool reports it. */
interface WorkerMemory extends ThreadMemory {
  threadId: number;
  /** False when the worker did not answer in time and this is its previous report. */
  fresh: boolean;
}

/** The caller gave up (its client disconnected) before the job started. */
export class Cancelled extends DomainError {
  constructor() {
    super('busy', 'the request was cancelled before it started', { retryAfterSeconds: 1 });
  }
}

interface PoolOptions {
  count: number;
  threads: number;
  device: 'auto' | 'cuda' | 'cpu';
  /** onnxruntime's CPU memory arena in each session (see config workers.cpuMemArena). */
  cpuMemArena: boolean;
  /** onnxruntime's CPU threads spin between runs (config workers.spinning; default off). */
  spinning?: boolean;
  models: ModelToLoad[];
  queueLimit: number;
  jobTimeoutMs: number;
  /** Bounds every image a worker decodes; largeImagePixels also picks the jobs of the large-image lane. */
  limits: ImageLimits;
  /** V8 old-generation heap of each worker, in MB. */
  workerHeapMb: number;
  log: Logger;
  /** Called with the job and the milliseconds it waited in the queue when it starts. */
  onStart?: (job: Job, waitedMs: number) => void;
}

export class InferencePool {
  private slots: Slot[] = [];
  private queues: Record<Priority, Pending[]> = { interactive: [], background: [] };
  private nextId = 1;
  private closed = false;
  /** What each model loaded on (from the first worker). */
  providers: { id: string; provider: 'cuda' | 'cpu'; fallback?: string }[] = [];
  private readonly workerUrl = new URL('./worker.js', import.meta.url);
  /** Models held loaded by long work (see hold), by runtime id: how many holders. */
  private readonly holds = new Map<string, number>();
  /** Workers terminated because a job overran its time (each was replaced). */
  terminatedWorkers = 0;

  constructor(private readonly o: PoolOptions) {}

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.count }, () => this.spawn()));
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(this.workerUrl, { resourceLimits: { maxOldGenerationSizeMb: this.o.workerHeapMb } });
      const slot: Slot = { worker, busy: null, timer: null, ready: false, retiring: false, guard: newGuardWord(), error: null, loading: new Map(), memoryWaiters: new Map(), lastMemory: null };
      this.slots.push(slot);
      worker.on('message', (msg: WorkerResponse) => {
        if (msg.type === 'ready') {
          slot.ready = true;
          if (!this.providers.length) this.providers = msg.models;
          // Without CUDA libraries, 'auto' meaning the CPU is normal; asking for 'cuda' and not getting it is not.
          for (const m of msg.models) if (m.fallback) this.o.log[this.o.device === 'cuda' ? 'warn' : 'info']({ model: m.id }, m.fallback);
          resolve();
          this.dispatch();
        } else if (msg.type === 'model-loaded') {
          slot.loading.get(msg.id)?.(msg.error);
          slot.loading.delete(msg.id);
        } else if (msg.type === 'memory') {
          slot.lastMemory = msg.usage;
          slot.memoryWaiters.get(msg.id)?.(msg.usage);
          slot.memoryWaiters.delete(msg.id);
        } else if (msg.type === 'load-failed') {
          reject(new Error(`a worker could not load the models: ${msg.message}`));
          void this.retire(slot);
        } else {
          this.finish(slot, msg);
        }
      });
      worker.on('error', (err) => {
        this.o.log.error({ err }, 'inference worker crashed');
        slot.error = err;
        if (!slot.ready) reject(err);
      });
      worker.on('exit', (code) => this.onExit(slot, code));
      const load: WorkerRequest = { type: 'load', models: [...this.o.models], device: this.o.device, threads: this.o.threads, cpuMemArena: this.o.cpuMemArena, spinning: this.o.spinning ?? false, limits: this.o.limits, guard: slot.guard };
      worker.postMessage(load);
    });
  }

  private onExit(slot: Slot, code: number): void {
    this.slots = this.slots.filter((s) => s !== slot);
    if (slot.timer) clearTimeout(slot.timer);
    if (slot.busy) {
      slot.busy.reject(
        slot.error?.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new TooLarge(`the image needed more memory than an inference worker may use (${this.o.workerHeapMb} MB)`)
          : new InternalFailure('the inference worker stopped while computing; please try again'),
      );
    }
    if (!this.closed && slot.ready && !slot.retiring) {
      this.o.log.warn({ code }, 'restarting an inference worker');
      this.spawn().catch((err: unknown) => this.o.log.error({ err }, 'could not restart an inference worker'));
    }
  }

  private finish(slot: Slot, msg: WorkerResponse): void {
    const p = slot.busy;
    if (!p || (msg.type !== 'done' && msg.type !== 'failed') || msg.id !== p.id) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.busy = null;
    slot.timer = null;
    if (msg.type === 'done') p.resolve(msg.result);
    else {
      // Only errors the worker threw on purpose keep their sentence; anything else is our bug.
      const kind = msg.kind && msg.kind !== 'internal' && ERROR_KINDS.includes(msg.kind) ? msg.kind : null;
      p.reject(
        kind
          ? new DomainError(kind, msg.message, { code: msg.code })
          : new InternalFailure('the model could not process this request; the error was logged'),
      );
      if (!kind) this.o.log.error({ message: msg.message }, 'inference job failed');
    }
    this.dispatch();
  }

  /** How many workers encodes may occupy at once: all but one when there are two or more. */
  private get encodeCap(): number {
    return Math.max(1, this.o.count - 1);
  }

  private isLarge(job: Job): boolean {
    return pixelsOf(job) > this.o.limits.largeImagePixels;
  }

  /**
   * The next job a free worker may take: FIFO within priority, encodes only below their cap.
   * Large-image jobs run one at a time and let the others in their queue go first; with two or
   * more workers they start only while another worker stays free. A large job that has waited
   * LARGE_PATIENCE_MS keeps its place in the queue and may take the last free worker.
   */
  private takeNext(): Pending | undefined {
    const busy = this.slots.filter((s) => s.busy);
    const encoding = busy.filter((s) => s.busy!.job.kind === 'encode').length;
    const largeRunning = busy.some((s) => this.isLarge(s.busy!.job));
    const free = this.slots.filter((s) => s.ready && !s.busy && !s.retiring).length;
    const now = performance.now();
    const patient = (p: Pending) => now - p.enqueuedAt >= LARGE_PATIENCE_MS;
    const eligible = (p: Pending) => {
      if (p.job.kind === 'encode' && encoding >= this.encodeCap) return false;
      if (!this.isLarge(p.job)) return true;
      return !largeRunning && (this.o.count < 2 || free >= 2 || patient(p));
    };
    for (const q of [this.queues.interactive, this.queues.background]) {
      let i = q.findIndex((p) => eligible(p) && (!this.isLarge(p.job) || patient(p)));
      if (i < 0) i = q.findIndex(eligible);
      if (i >= 0) return q.splice(i, 1)[0];
    }
    return undefined;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.busy || slot.retiring) continue;
      const next = this.takeNext();
      if (!next) return;
      if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
      slot.busy = next;
      this.o.onStart?.(next.job, performance.now() - next.enqueuedAt);
      slot.timer = setTimeout(() => this.overran(slot, next), this.o.jobTimeoutMs);
      const msg: WorkerRequest = { type: 'job', id: next.id, job: next.job };
      slot.worker.postMessage(msg, next.transfer);
    }
  }

  /**
   * A job ran past its time: its worker is terminated, which stops the computation and frees the
   * thread's memory, sessions included. Decoding and preprocessing (JavaScript) stop at once; an
   * onnxruntime call in flight is let return first (terminating inside one aborts the process),
   * and no new one starts. A replacement loads and warms its sessions before it takes work.
   */
  private overran(slot: Slot, job: Pending): void {
    this.o.log.error({ kind: job.job.kind, ms: this.o.jobTimeoutMs }, 'inference job timed out; terminating its worker');
    slot.busy = null;
    slot.timer = null;
    slot.retiring = true;
    job.reject(new Busy(`the model took longer than ${seconds(this.o.jobTimeoutMs)}; try again later`, 10));
    this.terminatedWorkers++;
    terminateWhenSafe(slot.guard, () => void slot.worker.terminate());
    this.spawn().catch((err: unknown) => this.o.log.error({ err }, 'could not start a replacement inference worker'));
  }

  get queueDepth(): number {
    return this.queues.interactive.length + this.queues.background.length;
  }

  get busyWorkers(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  get readyWorkers(): number {
    return this.slots.filter((s) => s.ready && !s.retiring).length;
  }

  /** The thread ids of the live workers (a replaced worker's id disappears). */
  get workerThreadIds(): number[] {
    return this.slots.map((s) => s.worker.threadId);
  }

  /**
   * Each live worker's V8 memory (heap used, external, array buffers). A worker answers between
   * its JavaScript tasks; one busy rendering an image past `waitMs` is reported with its previous
   * answer (fresh: false), or left out if it never answered.
   */
  async memory(waitMs = 1000): Promise<WorkerMemory[]> {
    const asked = this.slots.map(async (slot): Promise<WorkerMemory | null> => {
      const id = this.nextId++;
      const answer = new Promise<ThreadMemory | null>((resolve) => {
        const timer = setTimeout(() => {
          slot.memoryWaiters.delete(id);
          resolve(null);
        }, waitMs);
        slot.memoryWaiters.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
      slot.worker.postMessage({ type: 'memory', id } satisfies WorkerRequest);
      const m = await answer;
      const usage = m ?? slot.lastMemory;
      return usage ? { threadId: slot.worker.threadId, ...usage, fresh: m !== null } : null;
    });
    return (await Promise.all(asked)).filter((m): m is WorkerMemory => m !== null);
  }

  /**
   * Ends a worker: an idle one is asked to release its sessions and exit, and terminated (outside
   * onnxruntime calls, see native-guard.ts) if it has not within `graceMs`; one still computing
   * (its job ran past the close grace) is terminated as soon as its onnxruntime call returns.
   */
  private async retire(slot: Slot, graceMs = 5_000): Promise<void> {
    slot.retiring = true;
    if (slot.worker.threadId < 0) return; // already exited
    const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    const terminate = () => terminateWhenSafe(slot.guard, () => void slot.worker.terminate());
    let timer: NodeJS.Timeout | undefined;
    if (slot.busy) terminate();
    else {
      slot.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
      timer = setTimeout(terminate, graceMs);
    }
    await exited;
    clearTimeout(timer);
  }

  private submit<T extends EncodeResult | DecodeResult>(job: Job, priority: Priority, signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new Busy('the server is shutting down', 5));
    if (signal?.aborted) return Promise.reject(new Cancelled());
    const queued = priority === 'interactive' ? this.queues.interactive.length : this.queueDepth;
    if (queued >= this.o.queueLimit) {
      return Promise.reject(
        new Busy(`the segmentation queue is full (${this.o.queueLimit} waiting); try again in a moment`, 2),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const queue = this.queues[priority];
      const pending: Pending = {
        id: this.nextId++,
        job,
        transfer: [],
        resolve: resolve as (r: EncodeResult | DecodeResult) => void,
        reject,
        enqueuedAt: performance.now(),
        signal,
        onAbort: undefined,
      };
      if (signal) {
        pending.onAbort = () => {
          const i = queue.indexOf(pending);
          if (i < 0) return; // already started: it runs to completion (an encode's result is cached)
          queue.splice(i, 1);
          reject(new Cancelled());
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      queue.push(pending);
      // A large job kept off the last free worker may take it after LARGE_PATIENCE_MS: look again then.
      if (this.isLarge(job)) setTimeout(() => this.dispatch(), LARGE_PATIENCE_MS + 1).unref();
      this.dispatch();
    });
  }

  /** Runs an encode; `signal` drops it if the caller gives up while it is still queued. */
  encode(job: EncodeJob, priority: Priority, signal?: AbortSignal): Promise<EncodeResult> {
    return this.submit<EncodeResult>(job, priority, signal);
  }

  /** Runs a decode (a click's by default; a propagation's at background priority). */
  decode(job: DecodeJob, signal?: AbortSignal, priority: Priority = 'interactive'): Promise<DecodeResult> {
    return this.submit<DecodeResult>(job, priority, signal);
  }

  /**
   * Keeps model `id` loaded until the returned function is called, as a queued or running job
   * would (a propagation holds the adapter version it started on between its jobs).
   */
  hold(id: string): () => void {
    this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.holds.get(id) ?? 1) - 1;
      if (left > 0) this.holds.set(id, left);
      else this.holds.delete(id);
    };
  }

  /**
   * Loads one more model (e.g. an adapter version) into every worker, next to the models they
   * hold; workers started later load it too. Resolves when all have it (at once if they do).
   */
  async loadModel(model: ModelToLoad): Promise<void> {
    // Still loaded (re-activated within its release grace): nothing to do.
    if (this.o.models.some((m) => m.id === model.id && m.dir === model.dir)) return;
    this.o.models.push(model);
    const slots = this.slots.filter((s) => s.ready && !s.retiring);
    const results = await Promise.all(
      slots.map(
        (slot) =>
          new Promise<string | undefined>((resolve) => {
            slot.loading.set(model.id, resolve);
            slot.worker.once('exit', () => resolve(undefined));
            slot.worker.postMessage({ type: 'load-model', model } satisfies WorkerRequest);
          }),
      ),
    );
    const error = results.find((e) => e !== undefined);
    if (error) {
      this.unloadModel(model.id);
      throw new Error(`the workers could not load model ${model.id}: ${error}`);
    }
  }

  /** Whether any queued or running job uses model `id`, or something holds it (see hold). */
  hasJobsFor(id: string): boolean {
    if (this.holds.has(id)) return true;
    return [...this.queues.interactive, ...this.queues.background, ...this.slots.flatMap((s) => (s.busy ? [s.busy] : []))].some((p) => p.job.model === id);
  }

  /** Releases a model in every worker; jobs for it must be finished (the caller waits for them). */
  unloadModel(id: string): void {
    this.o.models = this.o.models.filter((m) => m.id !== id);
    for (const slot of this.slots) slot.worker.postMessage({ type: 'unload-model', id } satisfies WorkerRequest);
  }

  /**
   * Stops taking jobs (new ones are answered 503) and answers the queued and running ones 503
   * with a sentence at once; a worker still computing is left to retire(), which terminates it
   * outside onnxruntime calls. The server calls this when its shutdown grace has passed.
   */
  abortJobs(): void {
    this.closed = true;
    const stopping = () => new Busy('the server is shutting down; try again in a moment', 5);
    for (const q of Object.values(this.queues)) for (const p of q.splice(0)) p.reject(stopping());
    for (const slot of this.slots) {
      if (!slot.busy) continue;
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      slot.busy.reject(stopping());
      // The slot stays busy (its worker is still computing) until the worker answers or is terminated.
      slot.busy = { ...slot.busy, resolve: () => undefined, reject: () => undefined };
    }
  }

  /** Answers what is still queued or running 503 (see abortJobs) and ends every worker. */
  async close(): Promise<void> {
    this.abortJobs();
    await Promise.all(this.slots.map((s) => this.retire(s)));
  }
}

/** A duration for a sentence: '120 s', or '200 ms' under a second. */
const seconds = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`);
