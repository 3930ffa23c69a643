/**
 * The 3D half of the click tool: P propagates the proposal (or the accepted mask) on the slice on
 * show through the series; a click on a slice of the 3D proposal on show refines that slice and
 * re-propagates outward from it; "Fill between" propagates from two accepted slices toward each
 * other across the empty slices between them. The proposal through the series is a VolumeProposal;
 * the controller keeps the prompts of the slice being clicked and asks here what its answers mean.
 */
import { decodeMask, type Voi } from '@glmedsa/server/api';
import { labelmapPixels } from '../history.js';
import { labelmapImageIdOf, type LabelmapPreview } from '../labelmap.js';
import { previewIndexFor, runsOf } from '../labelmap-edit.js';
import type { Peers } from '../peers.js';
import type { PromptSession } from '../prompts.js';
import type { ReportFailure } from '../report-failure.js';
import type { StatusStore } from '../status.js';
import type { ImageInfo } from '../viewer-image.js';
import type { OhifServices, StackViewport } from '../viewer-types.js';
import type { PropagationClient } from './propagation-client.js';
import { gapsBetween, type Outward, outwardFrom } from './proposal-slices.js';
import { type ViewerSeries, displaySetOf, viewerSeries } from './viewer-series.js';
import { type PropagationTiming, type Seed, VolumeProposal } from './volume-proposal.js';

/** A click's answers are carried outward this long after the last one (M and U come in bursts). */
const REPROPAGATE_AFTER_MS = 350;

interface PropagatorDeps {
  peers: Peers;
  services: OhifServices;
  preview: LabelmapPreview;
  client: PropagationClient;
  status: StatusStore;
  fail: ReportFailure;
  /** The model clicks go to (undefined: the server's default). */
  model(): string | undefined;
}

export class Propagator {
  volume: VolumeProposal | null = null;
  /** For the benchmark and tests: the propagations of this page, oldest first. */
  readonly timings: PropagationTiming[] = [];
  /** The slice being refined by clicks, and where its answers are carried. */
  private refining: { session: PromptSession; index: number; outward: Outward } | null = null;
  private pending: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly deps: PropagatorDeps) {}

  /** The viewport's series, or null after saying in the panel why there is none. */
  private seriesOrFail(viewportId: string): ViewerSeries | null {
    try {
      return viewerSeries(this.deps.peers, this.deps.services, viewportId);
    } catch (err) {
      this.deps.fail(err);
      return null;
    }
  }

  /** Whether a click on `imageId` in this viewport refines the 3D proposal on show (same series, same segmentation). */
  covers(viewport: StackViewport, imageId: string): boolean {
    const v = this.volume;
    if (!v) return false;
    if (displaySetOf(this.deps.services, viewport.id)?.displaySetInstanceUID !== v.series.displaySetInstanceUID) return false;
    if (this.deps.services.segmentationService.getActiveSegmentation(viewport.id)?.segmentationId !== v.owner.segmentationId) return false;
    return !!v.series.index.ofImageId(imageId);
  }

  /** P: the proposal (`session`, on the slice on show) or else the mask on show there, through the series both ways. */
  async propagate(viewport: StackViewport, info: ImageInfo, session: PromptSession | null): Promise<boolean> {
    const say = (notice: string) => (this.deps.status.set({ notice }), false);
    const series = this.seriesOrFail(viewport.id);
    if (!series) return false;
    if (series.index.length < 2) return say('This series has one image: there is nothing to propagate through.');
    const slice = series.index.ofImageId(info.imageId);
    if (!slice) return say('The image on show is not one of its series: P cannot place it.');
    if (this.volume?.running) return say('A propagation is running: wait for it, or press Esc to stop it.');
    const answer = session?.current() ?? null;
    let seed: Seed;
    let mask: Uint8Array | null = null;
    let owner: { viewportId: string; segmentationId: string; segmentIndex: number };
    try {
      const target = await this.deps.preview.target(viewport.id, info.imageId, slice.index);
      owner = { viewportId: viewport.id, segmentationId: target.segmentationId, segmentIndex: target.segmentIndex };
      if (answer) {
        mask = decodeMask(answer.mask.counts, answer.width, answer.height);
        const maskId = session!.currentMaskId();
        seed = { index: slice.index, counts: answer.mask.counts, ...(maskId ? { maskId } : {}) };
      } else {
        // The mask on show on this slice: accepted, or a slice of the 3D proposal on show.
        const preview = previewIndexFor(target.segmentIndex);
        const onShow = runsOf(labelmapPixels(this.deps.peers, target.labelmapImageId), (v) => v === target.segmentIndex || (!!this.volume && v === preview));
        if (onShow.area === 0) return say('Click on the lesion first (or accept a mask on this slice): P carries it through the series.');
        seed = { index: slice.index, counts: onShow.counts };
      }
    } catch (err) {
      this.deps.fail(err);
      return false;
    }
    let volume = this.volume;
    if (!volume || volume.series.displaySetInstanceUID !== series.displaySetInstanceUID || volume.owner.segmentationId !== owner.segmentationId || volume.owner.segmentIndex !== owner.segmentIndex) {
      this.end();
      volume = this.volume = this.newVolume(owner, series, info.voi);
    }
    const whole = volume.whole;
    const generation = volume.slices.nextGeneration();
    if (mask) volume.place(slice.index, mask, { generation, seed: slice.index, range: whole }, { batch: false });
    volume.claim(generation, whole, slice.index);
    const outward = outwardFrom(slice.index, null, whole);
    if (session && answer) this.refining = { session, index: slice.index, outward };
    volume.start('propagate', generation, outward.runs.map((r) => ({ seed, ...r })));
    this.deps.status.set({ notice: null, error: null, errorKind: null });
    return true;
  }

  /**
   * A click's answer on slice `info` of the 3D proposal on show: drawn there in place of the
   * slice's mask, and (a moment later, once the clicks stop) carried outward from it, replacing the
   * slices beyond (see outwardFrom).
   */
  refine(info: ImageInfo, session: PromptSession, mask: Uint8Array): void {
    const volume = this.volume;
    const slice = volume?.series.index.ofImageId(info.imageId);
    if (!volume || !slice) return;
    if (this.refining?.session !== session) {
      this.refining = { session, index: slice.index, outward: outwardFrom(slice.index, volume.slices.ownerNear(slice.index), volume.whole) };
    }
    const { outward } = this.refining;
    const generation = volume.slices.nextGeneration();
    const range = { lo: Math.min(outward.range.lo, slice.index), hi: Math.max(outward.range.hi, slice.index) };
    volume.place(slice.index, mask, { generation, seed: slice.index, range }, { batch: false });
    volume.claim(generation, outward.range, slice.index);
    if (this.pending) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = null;
      if (this.volume !== volume || this.refining?.session !== session) return;
      const answer = session.current();
      if (!answer || outward.runs.length === 0) return;
      const maskId = session.currentMaskId();
      const seed: Seed = { index: slice.index, counts: answer.mask.counts, ...(maskId ? { maskId } : {}) };
      volume.start('refine', generation, outward.runs.map((r) => ({ seed, ...r })));
    }, REPROPAGATE_AFTER_MS);
  }

  /**
   * The box of the proposal's mask on the slice on show (widened by 10% of its size on each side,
   * as the propagation prompts a slice), or null when the slice holds none of a shown proposal.
   */
  proposalBox(viewport: StackViewport, info: ImageInfo): { x1: number; y1: number; x2: number; y2: number } | null {
    const volume = this.volume;
    if (!volume || !this.covers(viewport, info.imageId)) return null;
    const id = labelmapImageIdOf(this.deps.peers, info.imageId, volume.owner.segmentationId);
    if (!id) return null;
    let px;
    try {
      px = labelmapPixels(this.deps.peers, id);
    } catch {
      return null;
    }
    const preview = previewIndexFor(volume.owner.segmentIndex);
    const w = info.width;
    let x1 = Infinity;
    let y1 = Infinity;
    let x2 = -1;
    let y2 = -1;
    for (let i = 0; i < px.length; i++) {
      if (px[i] !== preview) continue;
      const x = i % w;
      const y = (i - x) / w;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
    if (x2 < 0) return null;
    const mx = Math.max(1, Math.round((x2 - x1 + 1) * 0.1));
    const my = Math.max(1, Math.round((y2 - y1 + 1) * 0.1));
    return { x1: Math.max(0, x1 - mx), y1: Math.max(0, y1 - my), x2: Math.min(w - 1, x2 + mx), y2: Math.min(info.height - 1, y2 + my) };
  }

  /** The prompts on a slice of the proposal were all taken back (U): that slice shows nothing proposed. */
  unrefine(info: ImageInfo): void {
    const volume = this.volume;
    const slice = volume?.series.index.ofImageId(info.imageId);
    if (!volume || !slice) return;
    if (this.pending) clearTimeout(this.pending);
    this.pending = null;
    this.refining = null;
    volume.slices.drop(slice.index);
    this.deps.preview.clear(labelmapImageIdOf(this.deps.peers, slice.imageId, volume.owner.segmentationId));
  }

  /**
   * Fill between: the gaps of the active segment (empty slices between two slices that hold it)
   * filled by propagating from both ends toward each other; the gap round the slice on show, or
   * every gap when the slice on show is in none. The result is a 3D proposal like any other.
   */
  async fillBetween(viewport: StackViewport, info: ImageInfo): Promise<boolean> {
    const say = (notice: string) => (this.deps.status.set({ notice }), false);
    const active = this.deps.services.segmentationService.getActiveSegmentation(viewport.id);
    if (!active) return say('Accept masks on two slices with empty slices between them first: Fill between propagates from each toward the other.');
    const series = this.seriesOrFail(viewport.id);
    if (!series) return false;
    const segmentIndex = this.deps.peers.cornerstoneTools.segmentation.segmentIndex.getActiveSegmentIndex(active.segmentationId) || 1;
    const seeds = new Map<number, number[]>();
    for (const s of series.index.series.slices) {
      const id = labelmapImageIdOf(this.deps.peers, s.imageId, active.segmentationId);
      if (!id) continue;
      let px;
      try {
        px = labelmapPixels(this.deps.peers, id);
      } catch {
        continue;
      }
      const r = runsOf(px, (v) => v === segmentIndex);
      if (r.area > 0) seeds.set(s.index, r.counts);
    }
    const all = gapsBetween([...seeds.keys()]);
    if (all.length === 0) return say('There is no gap to fill: accept masks on two slices with empty slices between them first.');
    const here = series.index.ofImageId(info.imageId)?.index;
    const inGap = all.filter((g) => here !== undefined && here > g.from && here < g.to);
    const gaps = inGap.length ? inGap : all;
    this.end();
    const owner = { viewportId: viewport.id, segmentationId: active.segmentationId, segmentIndex };
    const volume = (this.volume = this.newVolume(owner, series, info.voi));
    const generation = volume.slices.nextGeneration();
    const asks = gaps.flatMap(({ from, to }) => {
      const range = { lo: from + 1, hi: to - 1 };
      const maxSlices = to - from - 1;
      volume.claim(generation, range, -1);
      return [
        { seed: { index: from, counts: seeds.get(from)! }, direction: 'forward' as const, maxSlices, range },
        { seed: { index: to, counts: seeds.get(to)! }, direction: 'backward' as const, maxSlices, range },
      ];
    });
    volume.start('fill', generation, asks);
    this.deps.status.set({ notice: null, error: null, errorKind: null });
    return true;
  }

  private newVolume(owner: { viewportId: string; segmentationId: string; segmentIndex: number }, series: ViewerSeries, voi: Voi | undefined): VolumeProposal {
    return new VolumeProposal({ client: this.deps.client, preview: this.deps.preview, status: this.deps.status, fail: this.deps.fail, timings: this.timings }, owner, series, { model: this.deps.model(), voi });
  }

  /** Stops the propagations (what they drew stays, to be accepted or rejected). */
  stop(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = null;
    this.volume?.stop();
  }

  /** Forgets the 3D proposal (after it was accepted or rejected). */
  end(): void {
    this.stop();
    this.volume = null;
    this.refining = null;
    this.deps.status.set({ propagation: null });
  }
}
