/**
 * Propagations of a mask through a series, a kind of long-running work beside fine-tuning jobs:
 * checked when asked for (the model, the series as a volume, the seed on one of its slices, the
 * seed mask of that very image), run a few at a time with the rest queued (and refused with
 * Retry-After beyond the queue), watched through events, cancelled on request, when the last
 * client watching goes away, or when nobody has asked about one for a while. Finished ones are
 * kept for a while, bounded in count.
 *
 * The propagation itself is the models package's loop (`propagate`); series-segmenter.ts runs it
 * on the inference workers and the embedding cache at background priority.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  type DirectionEnd,
  type PropagatedSlice,
  decodeRle,
  maskGeometry,
  maskPromptLogits,
  propagate,
  runStats,
  summarizeLogits,
  tensor,
  upsampleLogitsToOriginal,
} from '@glmedsa/models';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { PropagationEnd, PropagationRecord, PropagationRequest, PropagationSlice, PropagationSummary } from '../api/index.js';
import type { ServerConfig } from '../config/schema.js';
import type { DicomWebClient } from '../dicom/dicomweb-client.js';
import type { ImageRef } from '../dicom/image-ref.js';
import { Busy, Conflict, DomainError, InvalidRequest, NotFound, isDomainError } from '../errors.js';
import { type ImageLimits, checkImageSize } from '../images/limits.js';
import type { InferencePool } from '../inference/pool.js';
import type { ServedModel } from '../catalog/model-catalog.js';
import type { SegmentationService } from '../segmentation/service.js';
import { NotAVolume } from '../series/geometry.js';
import type { LoadedSeries, SeriesReader } from '../series/series-reader.js';
import { PropagationMetrics } from './propagation-metrics.js';
import { PropagationRun } from './propagation-run.js';
import { SeriesSegmenter } from './series-segmenter.js';

type PropagationEvent =
  | { type: 'state' | 'end'; id: string; summary: PropagationSummary }
  | { type: 'slice'; id: string; slice: PropagationSlice }
  | { type: 'progress'; id: string; progress: PropagationSummary['progress'] };

interface PropagationServiceOptions {
  config: ServerConfig['propagation'];
  service: SegmentationService;
  pool: InferencePool;
  series: SeriesReader;
  /** The DICOMweb client slices are fetched with (the click path's settings). */
  client: DicomWebClient;
  limits: ImageLimits;
  registry: Registry;
  log: Logger;
}

interface Entry {
  run: PropagationRun;
  model: ServedModel;
  ref: { studyInstanceUID: string; seriesInstanceUID: string };
  voi: PropagationRequest['voi'];
  seed: { counts: ArrayLike<number>; lowRes: Float32Array | null };
  abort: AbortController;
  /** Why it is being cancelled (set before aborting). */
  cancelReason: string | null;
  watchers: number;
  lastSeen: number;
  done: Promise<void> | null;
}

/** A sentence for a direction's end, kept short for the record. */
function endOf(e: DirectionEnd): PropagationEnd {
  return e.reason === 'object-ended' ? { reason: e.reason, cause: e.cause, last: e.last } : { reason: e.reason, last: e.last };
}

export class PropagationService {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
  private running = 0;
  private closed = false;
  private readonly emitter = new EventEmitter();
  readonly metrics: PropagationMetrics;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly o: PropagationServiceOptions) {
    this.emitter.setMaxListeners(0);
    this.metrics = new PropagationMetrics(o.registry);
    this.sweeper = setInterval(() => this.sweep(), Math.min(5000, o.config.idleTimeoutMs / 4));
    this.sweeper.unref();
  }

  private get capacity(): number {
    return this.o.config.maxRunning + this.o.config.queueLimit;
  }

  private refuseWhenFull(): void {
    if (this.closed) throw new Busy('the server is shutting down; try again in a moment', 5);
    if (this.running + this.queue.length >= this.capacity) {
      this.metrics.refused.inc({ reason: 'busy' });
      throw new Busy(
        `${this.running} propagations are running and ${this.queue.length} are waiting (the limit is ${this.capacity}); try again when one has finished`,
        Math.max(5, Math.min(60, 5 * (this.queue.length + 1))),
      );
    }
  }

  /**
   * Checks a request and queues its propagation: 404 (model, series, maskId), 409 (seed not in the
   * series, a mask of another image), 422 (not a volume), 413 (images too large), 503 (full).
   */
  async submit(req: PropagationRequest, signal?: AbortSignal): Promise<PropagationRecord> {
    try {
      return await this.admit(req, signal);
    } catch (err) {
      if (isDomainError(err) && err.kind !== 'busy') {
        this.metrics.refused.inc({ reason: err instanceof NotAVolume ? 'not_a_volume' : err.kind === 'conflict' ? 'conflict' : err.kind === 'invalid-request' ? 'invalid' : 'other' });
      }
      throw err;
    }
  }

  private async admit(req: PropagationRequest, signal?: AbortSignal): Promise<PropagationRecord> {
    const model = this.o.service.model(req.model);
    this.refuseWhenFull();
    const series = await this.o.series.read(req.series, signal);
    checkImageSize(series.columns, series.rows, this.o.limits, 'each image of the series');
    const seedIndex = series.slices.findIndex((s) => s.sopInstanceUID === req.seed.sopInstanceUID && s.frame === req.seed.frame);
    if (seedIndex < 0) {
      const inSeries = series.slices.some((s) => s.sopInstanceUID === req.seed.sopInstanceUID);
      throw new Conflict(
        inSeries
          ? `the seed's frame ${req.seed.frame} is not an image of series ${req.series.seriesInstanceUID}`
          : `the seed image ${req.seed.sopInstanceUID} is not in series ${req.series.seriesInstanceUID}; the seed must be a slice of the series to propagate through`,
      );
    }
    const seedRef: ImageRef = { ...req.series, sopInstanceUID: req.seed.sopInstanceUID, frame: req.seed.frame, ...(req.voi ? { voi: req.voi } : {}) };
    const seed = this.seed(req, model, series, seedRef);
    // The checks above waited on the PACS: the limit is checked again before taking a place.
    this.refuseWhenFull();
    const run = new PropagationRun(randomUUID(), { id: model.id, adapterVersion: model.adapterVersion }, series, seedIndex, req.direction, req.maxSlices ?? null);
    run.keep(seedIndex, { counts: seed.counts, bbox: seed.bbox, area: seed.area, score: null, from: 'seed' });
    const entry: Entry = { run, model, ref: req.series, voi: req.voi, seed: { counts: seed.counts, lowRes: seed.lowRes }, abort: new AbortController(), cancelReason: null, watchers: 0, lastSeen: performance.now(), done: null };
    this.entries.set(run.id, entry);
    this.queue.push(entry);
    this.metrics.queued.set(this.queue.length);
    this.emit({ type: 'state', id: run.id, summary: run.summary() });
    this.kick();
    return run.record();
  }

  /** The seed's mask as runs and the low-resolution logits that prompt its neighbours. */
  private seed(req: PropagationRequest, model: ServedModel, series: LoadedSeries, ref: ImageRef) {
    const W = series.columns;
    const H = series.rows;
    const m = model.manifest;
    let counts: ArrayLike<number>;
    let lowRes: Float32Array;
    if (req.seed.maskId) {
      let logits: Float32Array;
      try {
        logits = this.o.service.maskLogits(req.seed.maskId, model, ref);
      } catch (err) {
        if (err instanceof Conflict && /another image/.test(err.message)) {
          throw new Conflict(
            `the seed mask (maskId ${req.seed.maskId}) was made on another image${req.voi ? ' or with another window' : ''}: it must come from POST /v1/segment on image ${ref.sopInstanceUID} frame ${ref.frame} of this series${req.voi ? ', with the same voi' : ''}`,
          );
        }
        throw err;
      }
      const L = m.low_res_size;
      const full = upsampleLogitsToOriginal(tensor('float32', [1, 1, L, L], logits), maskGeometry([H, W], m.input_size));
      counts = summarizeLogits(full.data, W, H).counts;
      lowRes = logits;
    } else {
      const given = req.seed.mask!.counts;
      const total = given.reduce((a, b) => a + b, 0);
      if (total !== W * H) {
        throw new InvalidRequest(`seed.mask.counts add up to ${total} pixels; the series' images are ${W}x${H} (${W * H} pixels)`, { 'seed.mask.counts': `must add up to ${W * H}` });
      }
      counts = given;
      lowRes = maskPromptLogits(decodeRle({ size: [H, W], counts: given, order: 'row-major' }), W, H, m.input_size, m.low_res_size, this.o.config.seedMaskMagnitude);
    }
    const stats = runStats(counts, W);
    if (!stats.bbox) throw new InvalidRequest('the seed mask is empty: there is nothing to propagate', { seed: 'empty mask' });
    return { counts, lowRes, bbox: stats.bbox, area: stats.area };
  }

  /** Starts queued propagations while there is room. */
  private kick(): void {
    while (!this.closed && this.running < this.o.config.maxRunning && this.queue.length) {
      const entry = this.queue.shift()!;
      this.running++;
      this.metrics.queued.set(this.queue.length);
      this.metrics.running.set(this.running);
      entry.done = this.execute(entry)
        .catch((err: unknown) => this.o.log.error({ err, propagation: entry.run.id }, 'propagation runner failed'))
        .finally(() => {
          this.running--;
          this.metrics.running.set(this.running);
          this.kick();
        });
    }
  }

  private async execute(entry: Entry): Promise<void> {
    const { run, model } = entry;
    run.start();
    this.emit({ type: 'state', id: run.id, summary: run.summary() });
    const release = this.o.pool.hold(model.runtimeId);
    const started = performance.now();
    const lastDecided = { forward: started, backward: started };
    const segmenter = new SeriesSegmenter({
      service: this.o.service,
      pool: this.o.pool,
      client: this.o.client,
      model,
      series: run.series,
      voi: entry.voi,
      signal: entry.abort.signal,
      maxAhead: Math.max(1, 2 * this.o.config.lookahead),
    });
    const onSlice = (s: PropagatedSlice) => {
      if (run.finished) return;
      const slice = run.keep(s.index, { counts: s.counts, bbox: s.bbox, area: s.area, score: Math.round(s.score * 1e4) / 1e4, from: s.direction });
      this.emit({ type: 'slice', id: run.id, slice });
    };
    try {
      const result = await propagate({
        count: run.series.slices.length,
        width: run.series.columns,
        seedIndex: run.seedIndex,
        seed: entry.seed,
        direction: run.direction,
        ...(run.maxSlices !== null ? { maxSlices: run.maxSlices } : {}),
        segmenter,
        rule: this.o.config.stopRule,
        prompt: this.o.config.prompt,
        lookahead: this.o.config.lookahead,
        signal: entry.abort.signal,
        onSlice,
        onJudged: (j) => {
          if (run.finished) return;
          const now = performance.now();
          this.metrics.sliceSeconds.observe((now - lastDecided[j.direction]) / 1000);
          lastDecided[j.direction] = now;
          this.metrics.slices.inc({ result: j.cause ? 'ended' : 'kept' });
          run.decided(j.index, j.direction);
          this.emit({ type: 'progress', id: run.id, progress: run.progress() });
        },
      });
      run.ended('forward', endOf(result.forward));
      run.ended('backward', endOf(result.backward));
      // A cancel accepted while the last slice was being decided still ends it as cancelled: the client was told it would.
      if (entry.cancelReason !== null) this.finish(entry, 'cancelled', entry.cancelReason);
      else this.finish(entry, 'succeeded', null);
    } catch (err) {
      if (entry.cancelReason !== null) {
        this.finish(entry, 'cancelled', entry.cancelReason);
      } else if (isDomainError(err) && err.kind !== 'internal') {
        this.o.log.warn({ propagation: run.id, err: err.message, detail: err.detail }, 'propagation failed');
        this.finish(entry, 'failed', `${sentence(err.message)} The propagation stopped there; the ${run.kept} slice${run.kept === 1 ? '' : 's'} found until then ${run.kept === 1 ? 'is' : 'are'} kept.`);
      } else {
        this.o.log.error({ err, propagation: run.id }, 'propagation failed');
        this.finish(entry, 'failed', `The propagation failed on the server (the error was logged); the ${run.kept} slice${run.kept === 1 ? '' : 's'} found until then ${run.kept === 1 ? 'is' : 'are'} kept.`);
      }
    } finally {
      // Encodes still queued ahead of where the object ended are dropped (those running finish into the cache).
      if (!entry.abort.signal.aborted) entry.abort.abort(new DomainError('busy', 'the propagation has ended'));
      release();
    }
    this.metrics.seconds.observe({ state: run.state }, (performance.now() - started) / 1000);
  }

  private finish(entry: Entry, state: 'succeeded' | 'failed' | 'cancelled', reason: string | null): void {
    entry.run.finish(state, reason);
    this.metrics.finished.inc({ state });
    this.emit({ type: 'end', id: entry.run.id, summary: entry.run.summary() });
    this.prune();
  }

  private emit(e: PropagationEvent): void {
    this.emitter.emit('event', e);
  }

  private entry(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new NotFound(`there is no propagation ${id} (finished propagations are kept for ${Math.round(this.o.config.keepFinishedMs / 60_000)} minutes)`);
    return e;
  }

  /** GET /v1/propagations/:id (counts as the client still being there). */
  get(id: string): PropagationRecord {
    const e = this.entry(id);
    e.lastSeen = performance.now();
    return e.run.record();
  }

  /**
   * Watches a propagation: `listener` gets a summary (`state`), the slices kept so far, then every
   * event until `end`. The returned function stops watching; `gone` says the client went away
   * before the end, which cancels the propagation when nobody else watches it.
   */
  watch(id: string, listener: (e: PropagationEvent) => void): (gone: boolean) => void {
    const entry = this.entry(id);
    const { run } = entry;
    entry.watchers++;
    entry.lastSeen = performance.now();
    const own = (e: PropagationEvent) => {
      if (e.id === id) listener(e);
    };
    // Replayed and subscribed in one turn of the event loop: nothing is missed or sent twice.
    listener({ type: 'state', id, summary: run.summary() });
    for (const slice of run.shownSlices()) listener({ type: 'slice', id, slice });
    if (run.finished) listener({ type: 'end', id, summary: run.summary() });
    else this.emitter.on('event', own);
    let stopped = false;
    return (gone: boolean) => {
      if (stopped) return;
      stopped = true;
      this.emitter.off('event', own);
      entry.watchers--;
      entry.lastSeen = performance.now();
      if (gone && entry.watchers === 0 && !run.finished) this.stop(entry, 'The client watching it went away (the viewer was closed or lost its connection).');
    };
  }

  /** POST /v1/propagations/:id/cancel: 409 once it has ended. */
  cancel(id: string): PropagationSummary {
    const entry = this.entry(id);
    if (entry.run.finished) throw new Conflict(`propagation ${id} has already ${entry.run.state === 'succeeded' ? 'finished' : `been ${entry.run.state}`}`);
    this.stop(entry, 'Cancelled on request.');
    return entry.run.summary();
  }

  private stop(entry: Entry, reason: string): void {
    if (entry.run.finished || entry.cancelReason !== null) return;
    entry.cancelReason = reason;
    const i = this.queue.indexOf(entry);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.metrics.queued.set(this.queue.length);
      this.finish(entry, 'cancelled', reason);
      return;
    }
    entry.abort.abort(new DomainError('busy', reason));
  }

  /** Cancels what nobody watches or asks about any more; drops finished ones past their time. */
  private sweep(): void {
    const now = performance.now();
    for (const e of this.entries.values()) {
      if (!e.run.finished && e.watchers === 0 && now - e.lastSeen > this.o.config.idleTimeoutMs) {
        this.stop(e, `Nobody watched or asked about it for ${Math.round(this.o.config.idleTimeoutMs / 1000)} s, so it was taken for abandoned.`);
      }
    }
    this.prune();
  }

  /** Keeps at most keepFinished finished propagations, none older than keepFinishedMs. */
  private prune(): void {
    const finished = [...this.entries.values()].filter((e) => e.run.finished).sort((a, b) => a.run.finishedAt!.getTime() - b.run.finishedAt!.getTime());
    const now = Date.now();
    let excess = finished.length - this.o.config.keepFinished;
    for (const e of finished) {
      if (excess > 0 || now - e.run.finishedAt!.getTime() > this.o.config.keepFinishedMs) {
        this.entries.delete(e.run.id);
        excess--;
      }
    }
  }

  /** Running and queued propagations are cancelled with a sentence; waits for them to stop. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const e of this.entries.values()) this.stop(e, 'The server is shutting down.');
    await Promise.all([...this.entries.values()].map((e) => e.done));
  }
}

/** A message as a sentence: capital first letter, final full stop. */
function sentence(message: string): string {
  const s = message.trim();
  const capital = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
