/**
 * The panel's figures of the active segment of the active viewport's segmentation: its volume in
 * mL and its longest axial diameter in mm over the whole series, as accepted and with the proposal
 * on show added. Recomputed (debounced) whenever a labelmap changes, from the labelmap images of
 * every slice, a few slices per turn of the event loop so a long series never freezes the viewer.
 */
import { activeViewport } from '../active-viewport.js';
import { labelmapImageIdOf } from '../labelmap.js';
import { previewIndexFor } from '../labelmap-edit.js';
import type { Peers } from '../peers.js';
import { type ViewerSeries, viewerSeries } from '../propagation/viewer-series.js';
import type { LesionFigures, StatusStore } from '../status.js';
import type { OhifServices } from '../viewer-types.js';
import { lesionMeasures } from './lesion-measures.js';

/** Slices read per turn of the event loop. */
const SLICES_PER_TURN = 64;

export class SegmentMeasures {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Bumped by every new computation, so an older one still running stops. */
  private run = 0;

  constructor(
    private readonly peers: Peers,
    private readonly services: OhifServices,
    private readonly status: StatusStore,
    private readonly seriesOf: (viewportId: string) => ViewerSeries = (id) => viewerSeries(peers, services, id),
  ) {}

  /** Recomputes soon (changes come in bursts: a propagation's slices, an undo of many). */
  schedule(delayMs = 300): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.compute();
    }, delayMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.run++;
  }

  /** Computes the figures now; resolves when they are in the panel's state. */
  async compute(): Promise<void> {
    const run = ++this.run;
    const vp = activeViewport(this.services);
    const seg = vp && this.services.segmentationService.getActiveSegmentation(vp.id);
    if (!vp || !seg) {
      this.status.set({ measures: null });
      return;
    }
    let series: ViewerSeries;
    try {
      series = this.seriesOf(vp.id);
    } catch {
      this.status.set({ measures: null });
      return;
    }
    const geometry = series.index.series;
    if (!geometry.positioned || !geometry.pixelSpacingKnown || series.index.length < 2) {
      // A photograph or a single image: no millimetres to measure a volume in.
      this.status.set({ measures: null });
      return;
    }
    const tools = this.peers.cornerstoneTools.segmentation;
    const segmentIndex = tools.segmentIndex.getActiveSegmentIndex(seg.segmentationId) || 1;
    const preview = previewIndexFor(segmentIndex);
    const pixels: (ArrayLike<number> | null)[] = [];
    for (let k = 0; k < series.index.length; k++) {
      if (k > 0 && k % SLICES_PER_TURN === 0) {
        await new Promise((r) => setTimeout(r, 0));
        if (run !== this.run) return;
      }
      const slice = series.index.at(k)!;
      const id = labelmapImageIdOf(this.peers, slice.imageId, seg.segmentationId);
      const image = id ? (this.peers.cornerstone.cache.getImage(id) as unknown as { voxelManager?: { getScalarData?: () => ArrayLike<number> }; getPixelData?: () => ArrayLike<number> } | undefined) : undefined;
      pixels.push(image?.voxelManager?.getScalarData?.() ?? image?.getPixelData?.() ?? null);
    }
    const { pixelSpacing, sliceSpacing } = series.index.series;
    const spacing = { ...pixelSpacing, slice: sliceSpacing };
    const figures = (member: (v: number) => boolean): LesionFigures | null => {
      const m = lesionMeasures(pixels, series.width, series.height, spacing, member);
      if (m.voxels === 0) return null;
      return {
        volumeMl: m.volumeMl,
        voxels: m.voxels,
        longestAxialMm: m.longestAxial?.mm ?? null,
        longestOnImage: m.longestAxial ? series.index.at(m.longestAxial.slice)!.viewIndex + 1 : null,
        slices: m.slices,
      };
    };
    const segment = figures((v) => v === segmentIndex);
    const withProposal = pixels.some((p) => p && hasValue(p, preview)) ? figures((v) => v === segmentIndex || v === preview) : null;
    if (run !== this.run) return;
    const label = (this.services.segmentationService as unknown as { getSegmentation?(id: string): { segments?: Record<number, { label?: string }> } | undefined }).getSegmentation?.(seg.segmentationId)?.segments?.[segmentIndex]?.label;
    this.status.set({ measures: { segment, withProposal, segmentLabel: label || `Segment ${segmentIndex}` } });
  }
}

function hasValue(p: ArrayLike<number>, value: number): boolean {
  for (let i = 0; i < p.length; i++) if (p[i] === value) return true;
  return false;
}
