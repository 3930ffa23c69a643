/**
 * For tests and the benchmark: what is on show, read from the viewer (no control over it), as
 * `window.glmedsa`.
 */
import type { Controller } from './controller.js';
import { activeViewport } from './extension-state.js';
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
    /** The labelmap of the active segmentation for the image on show, as 0/1 per pixel of `segmentIndex` (any segment when absent). */
    labelmap(segmentIndex?: number): { width: number; height: number; data: number[] } | null {
      const vp = activeViewport(services);
      if (!vp) return null;
      const seg = services.segmentationService.getActiveSegmentation(vp.id);
      if (!seg) return null;
      const imageId = vp.getCurrentImageId();
      const ids = c.peers.cornerstoneTools.segmentation.getLabelmapImageIdsForImageId?.(imageId, seg.segmentationId);
      const lid = Array.isArray(ids) ? ids[0] : ids;
      const img = lid ? (cs().cache.getImage(lid) as unknown as { rows: number; columns: number; voxelManager?: { getScalarData?: () => ArrayLike<number> }; getPixelData?: () => ArrayLike<number> }) : undefined;
      const px = img?.voxelManager?.getScalarData?.() ?? img?.getPixelData?.();
      if (!img || !px) return null;
      const data = Array.from(px, (v) => (segmentIndex === undefined ? (v ? 1 : 0) : v === segmentIndex ? 1 : 0));
      return { width: img.columns, height: img.rows, data };
    },
  };
}
