/**
 * The preview of a proposed mask on the active segment of a stack labelmap, as Cornerstone's own
 * labelmap previews do it: the proposal paints the pixels no segment holds with a preview segment
 * index (255) drawn in a lighter shade of the segment's colour; each new proposal first takes the
 * previous one off; accept turns its pixels into the segment (one memo in the viewer's undo
 * history, so Ctrl+Z / Ctrl+Y undo and redo it); reject takes them off. Only pixels that still hold
 * the preview index are ever changed, so what OHIF's brush, eraser or undo did to the labelmap
 * while a proposal was on show stays, a stroke of the same segment over the proposal included.
 * Creates a labelmap for the display set when the viewport has none.
 */
import { labelmapPixels, recordLabelmapEdit } from './history.js';
import { lighter, paint, type Pixels, previewIndexFor, promote, unpaint } from './labelmap-edit.js';
import type { Peers } from './peers.js';
import type { DisplaySet, OhifServices } from './viewer-types.js';

interface Target {
  viewportId: string;
  segmentationId: string;
  segmentIndex: number;
  labelmapImageId: string;
}

export class LabelmapPreview {
  /** The proposal on show: where, and the pixels it painted. */
  private shown: { target: Target; painted: Uint32Array } | null = null;
  /** Called when the viewer's undo/redo drops the proposal on show (so the prompts go too). */
  onDiscarded: (() => void) | null = null;

  constructor(
    private readonly peers: Peers,
    private readonly services: OhifServices,
  ) {}

  /** The active segmentation of the viewport (created for the display set when there is none) and its labelmap image for `imageId`. */
  async target(viewportId: string, imageId: string): Promise<Target> {
    const { segmentationService, viewportGridService, displaySetService } = this.services;
    let active = segmentationService.getActiveSegmentation(viewportId);
    if (!active) {
      const uid = viewportGridService.getDisplaySetsUIDsForViewport(viewportId)?.[0];
      const ds: DisplaySet | undefined = uid ? displaySetService.getDisplaySetByUID(uid) : undefined;
      if (!ds) throw new Error('there is no image in this viewport to segment');
      const segmentationId = await segmentationService.createLabelmapForDisplaySet(ds, {
        label: 'GLMed-SA',
        segments: { 1: { label: 'Lesion', active: true } },
      });
      await segmentationService.addSegmentationRepresentation(viewportId, { segmentationId });
      active = { segmentationId };
    }
    const { segmentationId } = active;
    const seg = this.peers.cornerstoneTools.segmentation;
    const segmentIndex = seg.segmentIndex.getActiveSegmentIndex(segmentationId) ?? 1;
    const ids = seg.getLabelmapImageIdsForImageId?.(imageId, segmentationId);
    const labelmapImageId = Array.isArray(ids) ? ids[0] : ids;
    if (!labelmapImageId) throw new Error('the segmentation has no labelmap for this image');
    return { viewportId, segmentationId, segmentIndex: segmentIndex || 1, labelmapImageId };
  }

  private pixels(labelmapImageId: string): Pixels {
    return labelmapPixels(this.peers, labelmapImageId);
  }

  /** Draws `mask` (0/1, row-major, width x height) as the preview, in place of the previous one. */
  show(target: Target, mask: Uint8Array): void {
    if (this.shown && this.shown.target.labelmapImageId !== target.labelmapImageId) this.reject();
    const px = this.pixels(target.labelmapImageId);
    if (px.length !== mask.length) throw new Error(`the mask (${mask.length} pixels) does not fit the labelmap (${px.length})`);
    this.takeOff(px);
    this.colourPreview(target);
    this.shown = { target, painted: paint(px, mask, previewIndexFor(target.segmentIndex)) };
    this.modified(target);
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

  /** Takes the proposal's pixels off the labelmap (if it is still there). */
  private takeOff(px?: Pixels): void {
    if (!this.shown) return;
    try {
      unpaint(px ?? this.pixels(this.shown.target.labelmapImageId), this.shown.painted, previewIndexFor(this.shown.target.segmentIndex));
    } catch {
      // The labelmap went away under the proposal: nothing is left to take off.
    }
    this.shown = { ...this.shown, painted: new Uint32Array(0) };
  }

  /** Shows nothing proposed (the labelmap without the proposal) but keeps previewing. */
  clear(): void {
    if (!this.shown) return;
    this.takeOff();
    this.modified(this.shown.target);
  }

  get active(): boolean {
    return this.shown !== null;
  }

  /** Keeps the proposal and records it, as one step, in the viewer's undo history. */
  accept(): boolean {
    if (!this.shown) return false;
    const { target, painted } = this.shown;
    this.shown = null;
    let edit = null;
    try {
      // The preview's pixels that are still the preview's become the segment; the memo holds them and nothing else.
      edit = promote(this.pixels(target.labelmapImageId), painted, previewIndexFor(target.segmentIndex), target.segmentIndex);
    } catch {
      // The labelmap went away under the proposal: there is nothing to record.
    }
    if (edit) {
      this.modified(target);
      recordLabelmapEdit(this.peers, target, edit, {
        beforeRestore: () => {
          // An undo/redo while a proposal is on show drops the proposal first, so the two never mix.
          if (this.reject()) this.onDiscarded?.();
        },
        modified: (t) => this.peers.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(t.segmentationId),
      });
    }
    return true;
  }

  reject(): boolean {
    if (!this.shown) return false;
    this.clear();
    this.shown = null;
    return true;
  }

  private modified(target: Target): void {
    this.peers.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(target.segmentationId);
  }
}
