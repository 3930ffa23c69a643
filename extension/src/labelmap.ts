/**
 * The preview of a proposed mask on the active segment of a stack labelmap: the labelmap's
 * pixels are kept as they were before the first preview, each new proposal is drawn over that
 * copy, accept keeps it (one memo in the viewer's undo history, so Ctrl+Z / Ctrl+Y undo and redo
 * it), reject puts the copy back. Creates a labelmap for the display set when the viewport has none.
 */
import { labelmapPixels, recordLabelmapEdit } from './history.js';
import { diffPixels, type Pixels } from './labelmap-edit.js';
import type { Peers } from './peers.js';
import type { DisplaySet, OhifServices } from './viewer-types.js';

interface Target {
  segmentationId: string;
  segmentIndex: number;
  labelmapImageId: string;
}

export class LabelmapPreview {
  private backup: { target: Target; pixels: Uint8Array | Uint16Array | Float32Array } | null = null;
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
    return { segmentationId, segmentIndex: segmentIndex || 1, labelmapImageId };
  }

  private pixels(labelmapImageId: string): Pixels {
    return labelmapPixels(this.peers, labelmapImageId);
  }

  /** Draws `mask` (0/1, row-major, width x height) as the preview. */
  show(target: Target, mask: Uint8Array): void {
    if (this.backup && this.backup.target.labelmapImageId !== target.labelmapImageId) this.reject();
    const px = this.pixels(target.labelmapImageId);
    if (px.length !== mask.length) throw new Error(`the mask (${mask.length} pixels) does not fit the labelmap (${px.length})`);
    if (!this.backup) {
      const copy = new (px.constructor as new (n: number) => Uint8Array)(px.length);
      for (let i = 0; i < px.length; i++) copy[i] = px[i]!;
      this.backup = { target, pixels: copy };
    }
    const before = this.backup.pixels;
    const v = target.segmentIndex;
    for (let i = 0; i < px.length; i++) {
      const old = before[i]!;
      // The proposal paints the active segment; pixels of other segments stay theirs.
      px[i] = mask[i] && old === 0 ? v : old;
    }
    this.modified(target);
  }

  /** Shows nothing proposed (the labelmap as before the first preview) but keeps previewing. */
  clear(): void {
    if (!this.backup) return;
    const px = this.pixels(this.backup.target.labelmapImageId);
    for (let i = 0; i < px.length; i++) px[i] = this.backup.pixels[i]!;
    this.modified(this.backup.target);
  }

  get active(): boolean {
    return this.backup !== null;
  }

  /** Keeps the proposal and records it, as one step, in the viewer's undo history. */
  accept(): boolean {
    if (!this.backup) return false;
    const { target, pixels: before } = this.backup;
    this.backup = null;
    let edit = null;
    try {
      edit = diffPixels(before, this.pixels(target.labelmapImageId));
    } catch {
      // The labelmap went away under the proposal: there is nothing to record.
    }
    if (edit) {
      recordLabelmapEdit(this.peers, target, edit, {
        beforeRestore: () => {
          // An undo/redo while a proposal is on show drops the proposal first: its copy of the
          // labelmap would otherwise bring the undone pixels back on the next prompt or reject.
          if (this.reject()) this.onDiscarded?.();
        },
        modified: (t) => this.peers.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(t.segmentationId),
      });
    }
    return true;
  }

  reject(): boolean {
    if (!this.backup) return false;
    this.clear();
    this.backup = null;
    return true;
  }

  private modified(target: Target): void {
    this.peers.cornerstoneTools.segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(target.segmentationId);
  }
}
