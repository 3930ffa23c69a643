/**
 * One propagation as the server remembers it: its summary (state, progress, why each direction
 * ended) and the slices that hold a mask, each kept as run lengths only (a 2,000-slice series
 * costs the runs of its masks, not 2,000 images).
 */
import type { PropagationDirection, PropagationEnd, PropagationRecord, PropagationSlice, PropagationSummary } from '../api/index.js';
import { MASK_ENCODING } from '../api/index.js';
import type { LoadedSeries } from '../series/series-reader.js';

interface StoredSlice {
  index: number;
  counts: Uint32Array;
  bbox: PropagationSlice['bbox'];
  area: number;
  score: number | null;
  from: PropagationSlice['from'];
}

export class PropagationRun {
  state: PropagationSummary['state'] = 'queued';
  reason: string | null = null;
  readonly createdAt = new Date();
  startedAt: Date | null = null;
  finishedAt: Date | null = null;
  private readonly slices = new Map<number, StoredSlice>();
  private done = 0;
  private current: number | null = null;
  /** Per direction: the slice index its front has reached, and how many slices it has decided. */
  private readonly fronts: Record<'forward' | 'backward', { at: number; decided: number; end: PropagationEnd | null }>;
  private startedMs = 0;
  /** Bytes the slices' runs take (for the retention bound). */
  bytes = 0;

  constructor(
    readonly id: string,
    readonly model: { id: string; adapterVersion: number | null },
    readonly series: LoadedSeries,
    readonly seedIndex: number,
    readonly direction: PropagationDirection,
    readonly maxSlices: number | null,
  ) {
    const idle = (dir: 'forward' | 'backward') => direction === 'both' || direction === dir;
    this.fronts = {
      forward: { at: seedIndex, decided: 0, end: idle('forward') ? null : { reason: 'not-asked', last: seedIndex } },
      backward: { at: seedIndex, decided: 0, end: idle('backward') ? null : { reason: 'not-asked', last: seedIndex } },
    };
  }

  get finished(): boolean {
    return this.state === 'succeeded' || this.state === 'failed' || this.state === 'cancelled';
  }

  get kept(): number {
    return this.slices.size;
  }

  start(): void {
    this.state = 'running';
    this.startedAt = new Date();
    this.startedMs = performance.now();
  }

  /** Keeps a slice's mask; returns it as the API shows it. */
  keep(index: number, s: { counts: ArrayLike<number>; bbox: PropagationSlice['bbox']; area: number; score: number | null; from: PropagationSlice['from'] }): PropagationSlice {
    const stored: StoredSlice = { index, counts: Uint32Array.from(s.counts), bbox: { ...s.bbox }, area: s.area, score: s.score, from: s.from };
    this.slices.set(index, stored);
    this.bytes += stored.counts.byteLength + 96;
    return this.show(stored);
  }

  /** A slice was decided (kept or not) by the front going `dir`. */
  decided(index: number, dir: 'forward' | 'backward'): void {
    this.done++;
    this.current = index;
    this.fronts[dir].at = index;
    this.fronts[dir].decided++;
  }

  ended(dir: 'forward' | 'backward', end: PropagationEnd): void {
    this.fronts[dir].end = end;
  }

  finish(state: 'succeeded' | 'failed' | 'cancelled', reason: string | null): void {
    this.state = state;
    this.reason = reason;
    this.finishedAt = new Date();
    for (const dir of ['forward', 'backward'] as const) {
      const f = this.fronts[dir];
      f.end ??= { reason: 'stopped', last: this.lastKept(dir) };
    }
  }

  private lastKept(dir: 'forward' | 'backward'): number {
    let last = this.seedIndex;
    for (const s of this.slices.values()) if (s.from === dir && (dir === 'forward' ? s.index > last : s.index < last)) last = s.index;
    return last;
  }

  private show(s: StoredSlice): PropagationSlice {
    const v = this.series.slices[s.index]!;
    return { sopInstanceUID: v.sopInstanceUID, frame: v.frame, index: s.index, position: v.distance, counts: Array.from(s.counts), bbox: s.bbox, area: s.area, score: s.score, from: s.from };
  }

  private ref(index: number) {
    const v = this.series.slices[index]!;
    return { sopInstanceUID: v.sopInstanceUID, frame: v.frame, index };
  }

  /** At most how many slices are left: each running front to its end of the series or its maxSlices. */
  private remainingAtMost(): number {
    if (this.finished) return 0;
    const n = this.series.slices.length;
    let left = 0;
    for (const dir of ['forward', 'backward'] as const) {
      const f = this.fronts[dir];
      if (f.end) continue;
      const toEnd = dir === 'forward' ? n - 1 - f.at : f.at;
      left += Math.min(toEnd, this.maxSlices === null ? Infinity : this.maxSlices - f.decided);
    }
    return left;
  }

  progress(): PropagationSummary['progress'] {
    const seconds = this.startedAt ? ((this.finishedAt ? this.finishedAt.getTime() - this.startedAt.getTime() : performance.now() - this.startedMs)) / 1000 : 0;
    const rate = this.done > 0 && seconds > 0 ? this.done / seconds : null;
    const remainingAtMost = this.remainingAtMost();
    return {
      done: this.done,
      kept: this.slices.size,
      current: this.current === null ? null : this.ref(this.current),
      remainingAtMost,
      slicesPerSecond: rate === null ? null : Math.round(rate * 100) / 100,
      etaSecondsAtMost: rate === null ? null : Math.round((remainingAtMost / rate) * 10) / 10,
    };
  }

  summary(): PropagationSummary {
    const s = this.series;
    return {
      id: this.id,
      state: this.state,
      reason: this.reason,
      model: this.model.id,
      adapterVersion: this.model.adapterVersion === null ? null : String(this.model.adapterVersion),
      series: { ...s.ref, slices: s.slices.length, spacing: s.spacing, missing: s.missing.map((m) => ({ ...m })) },
      seed: this.ref(this.seedIndex),
      direction: this.direction,
      maxSlices: this.maxSlices,
      width: s.columns,
      height: s.rows,
      encoding: MASK_ENCODING,
      progress: this.progress(),
      ended: { forward: this.fronts.forward.end, backward: this.fronts.backward.end },
      createdAt: this.createdAt.toISOString(),
      startedAt: this.startedAt?.toISOString() ?? null,
      finishedAt: this.finishedAt?.toISOString() ?? null,
    };
  }

  /** The kept slices in series order. */
  shownSlices(): PropagationSlice[] {
    return [...this.slices.values()].sort((a, b) => a.index - b.index).map((s) => this.show(s));
  }

  record(): PropagationRecord {
    return { ...this.summary(), slices: this.shownSlices() };
  }
}
