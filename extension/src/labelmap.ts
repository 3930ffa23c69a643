/**
 * The preview of a proposed mask on the active segment of a stack labelmap, on one slice or on
 * many (a proposal propagated through the series), as Cornerstone's own labelmap previews do it:
 * the proposal paints the pixels no segment holds with a preview segment index (255) drawn in a
 * lighter shade of the segment's colour; a new mask for a slice first takes that slice's previous
 * one off; accept turns the pixels of every slice into the segment (one step in the viewer's undo
 * history, however many slices, so Ctrl+Z / Ctrl+Y undo and redo it whole); reject takes them off.
 * Only pixels that still hold the preview index are ever changed, so what OHIF's brush, eraser or
 * undo did to the labelmap while a proposal was on show stays, a stroke of the same segment over
 * the proposal included. Creates a labelmap for the display set when the viewport has none.
 */
import { labelmapPixels, recordLabelmapEdits } from './history.js';
import { type LabelmapEdit, lighter, paint, type Pixels, previewIndexFor, promote, unpaint } from './labelmap-edit.js';
import type { Peers } from './peers.js';
import type { DisplaySet, OhifServices, StackViewport } from './viewer-types.js';

interface Target {
  viewportId: string;
  segmentationId: string;
  segmentIndex: number;
  labelmapImageId: string;
  /** The slice's k index in the position-sorted volume (what volume viewports update), when known. */
  sliceIndex?: number;
}

/** Per segmentation: source image id -> labelmap image id, read from the labelmap images themselves. */
const byReference = new Map<string, Map<string, string>>();

/**
 * The labelmap image of `imageId` in a segmentation (the first layer's, as OHIF's stack labelmaps
 * hold one). Cornerstone knows it once a stack viewport has shown the segmentation; a segmentation
 * made in the MPR layout's volume viewports is not in that map yet (OHIF 3.12), so then each labelmap
 * image's own `referencedImageId` says which source image it belongs to.
 */
export function labelmapImageIdOf(peers: Peers, imageId: string, segmentationId: string): string | undefined {
  const seg = peers.cornerstoneTools.segmentation;
  const ids = seg.getLabelmapImageIdsForImageId?.(imageId, segmentationId);
  const id = Array.isArray(ids) ? ids[0] : ids;
  if (id) return id;
  const labelmap = seg.state?.getSegmentation?.(segmentationId)?.representationData?.Labelmap;
  const all = [...(labelmap?.imageIds ?? []), ...Object.values(labelmap?.labelmaps ?? {}).flatMap((l) => l?.imageIds ?? [])];
  let map = byReference.get(segmentationId);
  if (!map || map.size < all.length) {
    map = new Map();
    for (const lid of all) {
      const ref = (peers.cornerstone.cache.getImage(lid) as { referencedImageId?: string } | undefined)?.referencedImageId;
      if (ref && !map.has(ref)) map.set(ref, lid);
    }
    byReference.set(segmentationId, map);
  }
  return map.get(imageId);
}

export class LabelmapPreview {
  /** The proposal on show, per labelmap image: where, and the pixels it painted there. */
  private readonly shown = new Map<string, { target: Target; painted: Uint32Array }>();
  /** Slices whose labelmap changed since the last notice to Cornerstone, per segmentation. */
  private pending = new Map<string, { slices: Set<number>; all: boolean; segmentIndex?: number }>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** Called when the viewer's undo/redo drops the proposal on show (so the prompts go too). */
  onDiscarded: (() => void) | null = null;

  constructor(
    private readonly peers: Peers,
    private readonly services: OhifServices,
  ) {}

  /** The active segmentation of the viewport (created for the display set when there is none) and its labelmap image for `imageId`. */
  async target(viewportId: string, imageId: string, sliceIndex?: number): Promise<Target> {
    const { segmentationService, viewportGridService, displaySetService } = this.services;
    let active = segmentationService.getActiveSegmentation(viewportId);
    if (!active) {
      const uid = viewportGridService.getDisplaySetsUIDsForViewport(viewportId)?.[0];
      const ds: DisplaySet | undefined = uid ? displaySetService.getDisplaySetByUID(uid) : undefined;
      if (!ds) throw new Error('there is no image in this viewport to segment');
      // A volume viewport (the MPR layout) resets its camera when the labelmap volume joins it: the
      // slice the user clicked on must stay the slice on show, so the camera is put back.
      const vp = this.services.cornerstoneViewportService.getCornerstoneViewport(viewportId) as (StackViewport & CameraHolder) | undefined;
      const camera = vp?.getCamera?.();
      const segmentationId = await segmentationService.createLabelmapForDisplaySet(ds, {
        label: 'GLMed-SA',
        segments: { 1: { label: 'Lesion', active: true } },
      });
      await segmentationService.addSegmentationRepresentation(viewportId, { segmentationId });
      if (camera) keepCamera(() => this.services.cornerstoneViewportService.getCornerstoneViewport(viewportId) as (StackViewport & CameraHolder) | undefined, camera, this.peers.cornerstone.Enums.Events['CAMERA_MODIFIED']);
      active = { segmentationId };
    }
    const { segmentationId } = active;
    const seg = this.peers.cornerstoneTools.segmentation;
    const segmentIndex = seg.segmentIndex.getActiveSegmentIndex(segmentationId) ?? 1;
    return this.targetIn({ viewportId, segmentationId, segmentIndex: segmentIndex || 1 }, imageId, sliceIndex);
  }

  /** The target of another image of a segmentation already chosen (the slices of a propagation). */
  targetIn(owner: { viewportId: string; segmentationId: string; segmentIndex: number }, imageId: string, sliceIndex?: number): Target {
    const labelmapImageId = labelmapImageIdOf(this.peers, imageId, owner.segmentationId);
    if (!labelmapImageId) throw new Error('the segmentation has no labelmap for this image');
    return { ...owner, labelmapImageId, ...(sliceIndex !== undefined ? { sliceIndex } : {}) };
  }

  private pixels(labelmapImageId: string): Pixels {
    return labelmapPixels(this.peers, labelmapImageId);
  }

  /**
   * Draws `mask` (0/1, row-major, width x height) as the preview of the target's slice: in place of
   * that slice's previous proposal, or added to it (`add`). A target of another segmentation or
   * segment than the proposal on show replaces the whole proposal. `batch` groups the notice to
   * Cornerstone with other slices' (a propagation's slices arrive many a second).
   */
  show(target: Target, mask: Uint8Array, o: { add?: boolean; batch?: boolean } = {}): void {
    const first = this.shown.values().next().value;
    if (first && (first.target.segmentationId !== target.segmentationId || first.target.segmentIndex !== target.segmentIndex)) this.reject();
    const px = this.pixels(target.labelmapImageId);
    if (px.length !== mask.length) throw new Error(`the mask (${mask.length} pixels) does not fit the labelmap (${px.length})`);
    const previous = this.shown.get(target.labelmapImageId);
    if (previous && !o.add) this.takeOff(previous, px);
    this.colourPreview(target);
    const painted = paint(px, mask, previewIndexFor(target.segmentIndex));
    const kept = previous && o.add ? concat(previous.painted, painted) : painted;
    this.shown.set(target.labelmapImageId, { target, painted: kept });
    this.modified(target, { batch: o.batch });
  }

  /** Gives the preview index a lighter shade of the segment's colour in every viewport showing the segmentation. */
  private colourPreview(target: Target): void {
    const seg = this.peers.cornerstoneTools.segmentation;
    const color = seg.config?.color;
    if (!color) return; // a Cornerstone without per-index colours: the preview keeps the LUT's colour
    const preview = previewIndexFor(target.segmentIndex);
    let viewportIds = [target.viewportId];
    try {
      viewportIds = seg.state?.getViewportIdsWithSegmentation?.(target.segmentationId) ?? viewportIds;
    } catch {
      // Keep the target's own viewport.
    }
    for (const viewportId of viewportIds) {
      try {
        const segmentColor = color.getSegmentIndexColor(viewportId, target.segmentationId, target.segmentIndex);
        if (segmentColor) color.setSegmentIndexColor(viewportId, target.segmentationId, preview, lighter(segmentColor));
      } catch {
        // No colour LUT in this viewport yet: the preview is drawn there in the LUT's colour for its index.
      }
    }
  }

  /** Takes a slice's proposal pixels off its labelmap (if they are still there). */
  private takeOff(slice: { target: Target; painted: Uint32Array }, px?: Pixels): void {
    try {
      unpaint(px ?? this.pixels(slice.target.labelmapImageId), slice.painted, previewIndexFor(slice.target.segmentIndex));
    } catch {
      // The labelmap went away under the proposal: nothing is left to take off.
    }
  }

  /** Takes the proposal off one slice (by its labelmap image), or off every slice; returns whether there was one. */
  clear(labelmapImageId?: string, o: { batch?: boolean } = {}): boolean {
    const ids = labelmapImageId === undefined ? [...this.shown.keys()] : this.shown.has(labelmapImageId) ? [labelmapImageId] : [];
    for (const id of ids) {
      const slice = this.shown.get(id)!;
      this.takeOff(slice);
      this.shown.delete(id);
      this.modified(slice.target, { batch: o.batch ?? ids.length > 1 });
    }
    return ids.length > 0;
  }

  /** Whether a proposal is on show. */
  get active(): boolean {
    return this.shown.size > 0;
  }

  /** The labelmap images the proposal is on. */
  slices(): string[] {
    return [...this.shown.keys()];
  }

  /** Keeps the proposal on every slice and records it, as one step, in the viewer's undo history. */
  accept(): boolean {
    if (this.shown.size === 0) return false;
    const slices = [...this.shown.values()];
    this.shown.clear();
    const edits: { target: Target; edit: LabelmapEdit }[] = [];
    for (const { target, painted } of slices) {
      try {
        // The preview's pixels that are still the preview's become the segment; the memo holds them and nothing else.
        const edit = promote(this.pixels(target.labelmapImageId), painted, previewIndexFor(target.segmentIndex), target.segmentIndex);
        if (edit) edits.push({ target, edit });
      } catch {
        // The labelmap went away under the proposal: there is nothing to record.
      }
    }
    for (const { target } of edits) this.modified(target, { batch: edits.length > 1, segmentIndex: target.segmentIndex });
    recordLabelmapEdits(this.peers, edits, {
      beforeRestore: () => {
        // An undo/redo while a proposal is on show drops the proposal first, so the two never mix.
        if (this.reject()) this.onDiscarded?.();
      },
      modified: (t) => this.modified(t, { batch: edits.length > 1, segmentIndex: t.segmentIndex }),
    });
    return true;
  }

  reject(): boolean {
    return this.clear();
  }

  /**
   * Tells Cornerstone a slice changed: at once, or (batch) with the other slices changed within the
   * same moment, in one notice naming them all.
   */
  private modified(target: Target, o: { batch?: boolean | undefined; segmentIndex?: number } = {}): void {
    const p = this.pending.get(target.segmentationId) ?? { slices: new Set<number>(), all: false };
    if (target.sliceIndex === undefined) p.all = true;
    else p.slices.add(target.sliceIndex);
    if (o.segmentIndex !== undefined) p.segmentIndex = o.segmentIndex;
    this.pending.set(target.segmentationId, p);
    if (!o.batch) {
      this.flush();
      return;
    }
    this.flushTimer ??= setTimeout(() => this.flush(), 40);
  }

  /** Sends the pending notices now. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    const pending = this.pending;
    this.pending = new Map();
    const trigger = this.peers.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified;
    for (const [segmentationId, p] of pending) {
      const slices = p.all ? undefined : [...p.slices].sort((a, b) => a - b);
      try {
        trigger(segmentationId, slices, p.segmentIndex);
      } catch {
        // The segmentation was removed meanwhile: nothing to update.
      }
    }
  }
}

interface Camera {
  focalPoint: number[];
  position: number[];
  viewUp?: number[];
  parallelScale?: number;
}

interface CameraHolder {
  getCamera?(): Camera;
  setCamera?(c: Camera): void;
}

/**
 * Puts the camera back where it was whenever it moves in the next moments (the viewport resets
 * itself once the labelmap volume is in: OHIF 3.12-3.14 do so a second or two later, not at once),
 * on the viewport's own camera event, so the slice the user clicked stays on show.
 */
function keepCamera(viewport: () => (StackViewport & CameraHolder) | undefined, camera: Camera, cameraModified: string | undefined, forMs = 3000): void {
  const moved = (now: Camera) => now.focalPoint.some((v, k) => Math.abs(v - camera.focalPoint[k]!) > 1e-3);
  const check = () => {
    const vp = viewport();
    const now = vp?.getCamera?.();
    if (vp?.setCamera && now && moved(now)) {
      vp.setCamera({ ...camera });
      vp.render();
    }
  };
  check();
  const element = viewport()?.element;
  if (cameraModified && element) element.addEventListener(cameraModified, check);
  // The event where the viewport has one; a poll besides, for a viewport replaced meanwhile.
  const timer = setInterval(check, 100);
  setTimeout(() => {
    clearInterval(timer);
    if (cameraModified && element) element.removeEventListener(cameraModified, check);
  }, forMs);
}

function concat(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
