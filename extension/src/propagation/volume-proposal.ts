/**
 * A proposal through a series (a 3D proposal): the masks of one segment on many slices, drawn in
 * the preview shade as they arrive from the server's propagations, with the progress of those
 * propagations for the panel. It starts propagations (from a slice's proposal or accepted mask,
 * both ways, one way, or from the two ends of a gap), follows their event streams, writes each
 * slice's mask into the labelmap image of its source image, and cancels them. Which mask a slice
 * shows when several propagations reach it is proposal-slices.ts's rule. Accepting and rejecting
 * the masks is the labelmap preview's (one undo step); this stops the propagations first.
 */
import { decodeMask, type PropagationRecord, type PropagationSlice, type PropagationSummary, type Voi } from '@glmedsa/server/api';
import { ServerError } from '../client.js';
import type { LabelmapPreview } from '../labelmap.js';
import type { ReportFailure } from '../report-failure.js';
import type { PropagationKind, PropagationView, StatusStore } from '../status.js';
import type { PropagationClient, PropagationEvent } from './propagation-client.js';
import { type MaskOrigin, ProposalSlices, type SliceRange } from './proposal-slices.js';
import type { ViewerSeries } from './viewer-series.js';

/** The mask a propagation starts from: a mask id of POST /v1/segment, or run lengths (with the id's fallback). */
export interface Seed {
  index: number;
  maskId?: string;
  counts: number[];
}

/** For the benchmark and tests: when a propagation was asked for, and when its slices were drawn. */
export interface PropagationTiming {
  kind: PropagationKind;
  askedAt: number;
  acceptedAt: number | null;
  firstSliceAt: number | null;
  lastSliceAt: number | null;
  endedAt: number | null;
  slicesDrawn: number;
  state: string;
}

interface Run {
  kind: PropagationKind;
  generation: number;
  seed: number;
  range: SliceRange;
  id: string | null;
  abort: AbortController;
  state: PropagationSummary['state'] | 'starting';
  progress: PropagationSummary['progress'] | null;
  reason: string | null;
  timing: PropagationTiming;
  ended: boolean;
}

interface VolumeOwner {
  viewportId: string;
  segmentationId: string;
  segmentIndex: number;
}

interface VolumeProposalDeps {
  client: PropagationClient;
  preview: LabelmapPreview;
  status: StatusStore;
  fail: ReportFailure;
  /** Where finished timings go (the controller keeps the last few). */
  timings: PropagationTiming[];
}

export class VolumeProposal {
  readonly slices = new ProposalSlices();
  private runs: Run[] = [];
  /** The runs the panel's progress is about (those of the latest request). */
  private latest: Run[] = [];
  private stopped = false;

  constructor(
    private readonly deps: VolumeProposalDeps,
    readonly owner: VolumeOwner,
    readonly series: ViewerSeries,
    private readonly request: { model?: string | undefined; voi?: Voi | undefined },
  ) {}

  /** All slices of the series, as a range. */
  get whole(): SliceRange {
    return { lo: 0, hi: this.series.index.length - 1 };
  }

  /** Whether a propagation is still running (or starting). */
  get running(): boolean {
    return this.runs.some((r) => !r.ended);
  }

  /**
   * Shows `mask` on slice `index` if the proposal's rule lets it (see ProposalSlices.offer); taken
   * off slices are forgotten. Returns whether it was drawn.
   */
  place(index: number, mask: Uint8Array, origin: MaskOrigin, o: { batch?: boolean } = {}): boolean {
    const decision = this.slices.offer(index, origin);
    if (decision === 'refused') return false;
    const slice = this.series.index.at(index);
    if (!slice) return false;
    const target = this.deps.preview.targetIn(this.owner, slice.imageId, index);
    this.deps.preview.show(target, mask, { add: decision === 'union', batch: o.batch ?? true });
    return true;
  }

  /**
   * Generation `generation` takes `range` (its seed `except` kept): the masks older generations
   * show there come off, and their propagations that have nothing left to give stop.
   */
  claim(generation: number, range: SliceRange, except: number): void {
    for (const index of this.slices.claim(generation, range, except)) {
      const slice = this.series.index.at(index);
      if (!slice) continue;
      try {
        this.deps.preview.clear(this.deps.preview.targetIn(this.owner, slice.imageId, index).labelmapImageId, { batch: true });
      } catch {
        // That slice's labelmap is gone: nothing to take off.
      }
    }
    for (const run of this.runs) {
      if (!run.ended && run.generation < generation && this.slices.superseded(run.generation, run.range, run.seed)) void this.cancelRun(run);
    }
  }

  /**
   * Starts the propagations of one request (one for a slice's proposal, two for a gap): each from
   * its seed, one way or both, at most `maxSlices` slices, its masks offered for its `range`.
   */
  start(kind: PropagationKind, generation: number, asks: { seed: Seed; direction: 'both' | 'forward' | 'backward'; maxSlices: number; range: SliceRange }[]): void {
    const askedAt = performance.now();
    const runs = asks.map((a) => {
      const run: Run = {
        kind,
        generation,
        seed: a.seed.index,
        range: a.range,
        id: null,
        abort: new AbortController(),
        state: 'starting',
        progress: null,
        reason: null,
        ended: false,
        timing: { kind, askedAt, acceptedAt: null, firstSliceAt: null, lastSliceAt: null, endedAt: null, slicesDrawn: 0, state: 'starting' },
      };
      return { run, ask: a };
    });
    this.runs.push(...runs.map((r) => r.run));
    this.latest = runs.map((r) => r.run);
    this.report();
    for (const { run, ask } of runs) void this.follow(run, ask);
  }

  private async follow(run: Run, ask: { seed: Seed; direction: 'both' | 'forward' | 'backward'; maxSlices: number }): Promise<void> {
    const slice = this.series.index.at(ask.seed.index);
    if (!slice) return this.end(run, 'failed', 'the seed slice is not in the series');
    const body = (withId: boolean) => ({
      ...(this.request.model ? { model: this.request.model } : {}),
      series: { studyInstanceUID: this.series.studyInstanceUID, seriesInstanceUID: this.series.seriesInstanceUID },
      seed: { sopInstanceUID: slice.sopInstanceUID, frame: slice.frame, ...(withId && ask.seed.maskId ? { maskId: ask.seed.maskId } : { mask: { counts: ask.seed.counts } }) },
      direction: ask.direction,
      maxSlices: ask.maxSlices,
      ...(this.request.voi ? { voi: this.request.voi } : {}),
    });
    let record: PropagationRecord | null = null;
    for (let attempt = 0; !record; attempt++) {
      if (run.ended) return;
      try {
        record = await this.deps.client.start(body(attempt === 0));
      } catch (err) {
        if (run.ended) return;
        // The seed's mask id expired or was made with another window: its run lengths are the same mask.
        if (err instanceof ServerError && (err.status === 409 || err.status === 404) && ask.seed.maskId && attempt === 0) continue;
        if (err instanceof ServerError && err.kind === 'busy' && attempt < 5) {
          run.reason = err.message;
          this.report();
          await new Promise((r) => setTimeout(r, (err.retryAfterSeconds ?? 1) * 1000));
          continue;
        }
        this.deps.fail(err);
        return this.end(run, 'failed', (err as Error).message);
      }
    }
    run.id = record.id;
    run.timing.acceptedAt = performance.now();
    run.state = record.state;
    run.reason = null;
    if (run.ended) {
      // Stopped while it was being asked for: stop it on the server too.
      void this.deps.client.cancel(record.id).catch(() => undefined);
      return;
    }
    this.report();
    let how: 'ended' | 'dropped' = 'dropped';
    try {
      how = await this.deps.client.events(record.id, (e) => this.onEvent(run, e), run.abort.signal);
    } catch (err) {
      if (!run.ended) this.deps.fail(err);
    }
    if (run.ended) return;
    if (how === 'dropped') {
      // The stream broke before the end: the server kept every slice; take the record as it is now.
      try {
        const now = await this.deps.client.get(record.id);
        for (const s of now.slices) this.onSlice(run, s);
        const finished = now.state === 'succeeded' || now.state === 'cancelled' || now.state === 'failed';
        return this.end(run, finished ? now.state : 'failed', finished ? now.reason : 'the connection to the server broke during the propagation; the slices found until then are shown');
      } catch (err) {
        this.deps.fail(err);
        return this.end(run, 'failed', (err as Error).message);
      }
    }
  }

  private onEvent(run: Run, e: PropagationEvent): void {
    if (run.ended) return;
    if (e.type === 'slice') this.onSlice(run, e.slice);
    else if (e.type === 'progress') run.progress = e.progress;
    else {
      run.state = e.summary.state;
      run.progress = e.summary.progress;
      if (e.type === 'end') return this.end(run, e.summary.state, e.summary.reason);
    }
    this.report();
  }

  private onSlice(run: Run, s: PropagationSlice): void {
    if (s.from === 'seed') return; // the seed is the mask the viewer sent
    const slice = this.series.index.ofRef(s.sopInstanceUID, s.frame);
    if (!slice) return;
    if (s.counts.length === 0) return;
    let mask: Uint8Array;
    try {
      mask = decodeMask(s.counts, this.series.width, this.series.height);
    } catch (err) {
      this.deps.fail(new Error(`the server's mask for image ${slice.viewIndex + 1} does not fit it (${(err as Error).message})`));
      return;
    }
    try {
      if (this.place(slice.index, mask, { generation: run.generation, seed: run.seed, range: run.range })) {
        run.timing.slicesDrawn++;
        run.timing.firstSliceAt ??= performance.now();
        run.timing.lastSliceAt = performance.now();
      }
    } catch (err) {
      this.deps.fail(err);
    }
  }

  private end(run: Run, state: string, reason: string | null): void {
    if (run.ended) return;
    run.ended = true;
    run.state = state as Run['state'];
    run.reason = reason;
    run.abort.abort();
    this.deps.preview.flush();
    run.timing.endedAt = performance.now();
    run.timing.state = state;
    this.deps.timings.push(run.timing);
    if (this.deps.timings.length > 50) this.deps.timings.shift();
    this.report();
  }

  private async cancelRun(run: Run): Promise<void> {
    if (run.ended) return;
    const id = run.id;
    this.end(run, 'cancelled', null);
    if (id) await this.deps.client.cancel(id).catch(() => undefined);
  }

  /** Stops every propagation (the masks already drawn stay, to be accepted or rejected). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const run of this.runs) void this.cancelRun(run);
    this.deps.preview.flush();
  }

  /** The panel's line: slices done of at most how many, the current slice, the time left, why it ended. */
  private report(): void {
    if (this.stopped) return;
    const runs = this.latest;
    const kind = runs[0]?.kind ?? 'propagate';
    const running = runs.some((r) => !r.ended);
    const failed = runs.find((r) => r.state === 'failed');
    let done = 0;
    let total = 0;
    let eta: number | null = null;
    let rate: number | null = null;
    let current: number | null = null;
    for (const r of runs) {
      const p = r.progress;
      if (!p) continue;
      done += p.done;
      total += p.done + (r.ended ? 0 : p.remainingAtMost);
      if (!r.ended && p.etaSecondsAtMost !== null) eta = Math.max(eta ?? 0, p.etaSecondsAtMost);
      if (p.slicesPerSecond !== null) rate = (rate ?? 0) + p.slicesPerSecond;
      if (p.current) {
        const s = this.series.index.ofRef(p.current.sopInstanceUID, p.current.frame);
        if (s) current = s.viewIndex + 1;
      }
    }
    const state: PropagationView['state'] = running
      ? runs.some((r) => r.state === 'running')
        ? 'running'
        : runs.some((r) => r.state === 'queued')
          ? 'queued'
          : 'starting'
      : failed
        ? 'failed'
        : runs.every((r) => r.state === 'cancelled')
          ? 'cancelled'
          : 'done';
    const views = this.slices.indices().map((i) => this.series.index.at(i)!.viewIndex + 1);
    this.deps.status.set({
      propagation: {
        kind,
        state,
        done,
        total: Math.max(total, done),
        current,
        images: this.series.index.length,
        etaSeconds: running ? eta : null,
        slicesPerSecond: rate === null ? null : Math.round(rate * 10) / 10,
        slices: this.slices.size,
        first: views.length ? Math.min(...views) : null,
        last: views.length ? Math.max(...views) : null,
        reason: failed?.reason ?? runs.find((r) => r.reason)?.reason ?? null,
      },
    });
  }
}
