/**
 * For tests and the benchmark: what is on show, read from the viewer (no control over it), as
 * `window.glmedsa`.
 */
import type { Controller } from './controller.js';
import { activeViewport } from './active-viewport.js';
import { labelmapImageIdOf } from './labelmap.js';
import { runsOf } from './labelmap-edit.js';
import { viewerSeries } from './propagation/viewer-series.js';
import { imageInfo } from './viewer-image.js';
import type { OhifServices } from './viewer-types.js';

export function diagnostics(c: Controller, services: OhifServices) {
  const cs = () => c.peers.cornerstone;
  return {
    status: () => c.status.get(),
    timeline: () => c.timeline.map((t) => ({ ...t })),
    /** Where image pixel (x, y) of the image on show is on the page (CSS pixels), to aim clicks. */
    pagePoint(x: number, y: number): { x: number; y: number } | null {
      const vp = activeViewport(services);
      if (!vp) return null;
      const world = cs().utilities.imageToWorldCoords(vp.getCurrentImageId(), [x, y]);
      if (!world) return null;
      const [cx, cy] = vp.worldToCanvas(world);
      const r = vp.element.getBoundingClientRect();
      return { x: r.left + cx, y: r.top + cy };
    },
    /** The viewport's display properties (window/level as voiRange). */
    properties: () => activeViewport(services)?.getProperties?.() ?? null,
    /** The image on show: its reference and size. */
    image: () => {
      const vp = activeViewport(services);
      return vp ? imageInfo(cs(), vp) : null;
    },
    /** The propagations of this page (when asked, first and last slice drawn, end), oldest first. */
    propagations: () => c.propagator.timings.map((t) => ({ ...t })),
    /**
     * The labelmap of the active segmentation on every slice of the active viewport's series, in
     * position order: each slice's run lengths (rle-row-major) of `segmentIndex`'s pixels (any
     * segment's when absent), its area and its place in the viewer's list.
     */
    seriesLabelmap(segmentIndex?: number) {
      const vp = activeViewport(services);
      const seg = vp && services.segmentationService.getActiveSegmentation(vp.id);
      if (!vp || !seg) return null;
      const series = viewerSeries(c.peers, services, vp.id);
      const slices = series.index.series.slices.map((s) => {
        const id = labelmapImageIdOf(c.peers, s.imageId, seg.segmentationId);
        const img = id ? (cs().cache.getImage(id) as unknown as { voxelManager?: { getScalarData?: () => ArrayLike<number> }; getPixelData?: () => ArrayLike<number> } | undefined) : undefined;
        const px = img?.voxelManager?.getScalarData?.() ?? img?.getPixelData?.();
        const runs = px ? runsOf(px, (v) => (segmentIndex === undefined ? v !== 0 : v === segmentIndex)) : { counts: [series.width * series.height], area: 0 };
        return { sopInstanceUID: s.sopInstanceUID, frame: s.frame, index: s.index, viewIndex: s.viewIndex, counts: runs.counts, area: runs.area };
      });
      return { width: series.width, height: series.height, slices };
    },
    /** How many viewports show the active segmentation (three in the MPR layout). */
    segmentationViewports(): number {
      const vp = activeViewport(services);
      const seg = vp && services.segmentationService.getActiveSegmentation(vp.id);
      if (!seg) return 0;
      return c.peers.cornerstoneTools.segmentation.state?.getViewportIdsWithSegmentation?.(seg.segmentationId)?.length ?? 0;
    },
    /** The labelmap of the active segmentation for the image on show, as 0/1 per pixel of `segmentIndex` (any segment when absent). */
    labelmap(segmentIndex?: number): { width: number; height: number; data: number[] } | null {
      const vp = activeViewport(services);
      if (!vp) return null;
      const seg = services.segmentationService.getActiveSegmentation(vp.id);
      if (!seg) return null;
      const imageId = vp.getCurrentImageId();
      const lid = labelmapImageIdOf(c.peers, imageId, seg.segmentationId);
      const img = lid ? (cs().cache.getImage(lid) as unknown as { rows: number; columns: number; voxelManager?: { getScalarData?: () => ArrayLike<number> }; getPixelData?: () => ArrayLike<number> }) : undefined;
      const px = img?.voxelManager?.getScalarData?.() ?? img?.getPixelData?.();
      if (!img || !px) return null;
      const data = Array.from(px, (v) => (segmentIndex === undefined ? (v ? 1 : 0) : v === segmentIndex ? 1 : 0));
      return { width: img.columns, height: img.rows, data };
    },
  };
}
