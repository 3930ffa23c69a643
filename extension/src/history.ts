/**
 * Accepted masks in the viewer's own undo history: Cornerstone's DefaultHistoryMemo, the ring
 * OHIF's undo/redo commands (Ctrl+Z, Ctrl+Y, the toolbar's undo/redo) walk. Each accept is one
 * step: one memo for one slice, and for a proposal over many slices one memo per slice recorded as
 * a group (`startGroupRecording` / `endGroupRecording`), which the history undoes and redoes as a
 * whole. Memos take the form the viewer's own memos take ({ id, operationType, restoreMemo(undo) },
 * as OHIF's segmentation service writes its segment memos) and hold the pixels the accept changed.
 */
import { applyEdit, type LabelmapEdit, type Pixels } from './labelmap-edit.js';
import type { Peers } from './peers.js';

interface LabelmapTarget {
  segmentationId: string;
  labelmapImageId: string;
}

interface HistoryMemoItem {
  id: string;
  operationType: string;
  segmentationId: string;
  restoreMemo(undo?: boolean): void;
}

/** The labelmap image's pixel array (the very array Cornerstone renders from). */
export function labelmapPixels(peers: Peers, labelmapImageId: string): Pixels {
  const image = peers.cornerstone.cache.getImage(labelmapImageId) as unknown as { getPixelData?: () => Pixels; voxelManager?: { getScalarData?: () => Pixels } } | undefined;
  const data = image?.voxelManager?.getScalarData?.() ?? image?.getPixelData?.();
  if (!data) throw new Error('the labelmap image is not loaded');
  return data;
}

interface RecordHooks<T extends LabelmapTarget> {
  /** Runs first on each undo or redo (the preview drops what it is proposing, so the two never mix). */
  beforeRestore(): void;
  /** Tells Cornerstone the labelmap of `target` changed. */
  modified(target: T): void;
}

function memoOf<T extends LabelmapTarget>(peers: Peers, id: string, edits: readonly { target: T; edit: LabelmapEdit }[], hooks: RecordHooks<T>): HistoryMemoItem {
  return {
    id,
    operationType: 'labelmap',
    segmentationId: edits[0]!.target.segmentationId,
    restoreMemo(undo?: boolean) {
      hooks.beforeRestore();
      for (const { target, edit } of edits) {
        let pixels: Pixels;
        try {
          pixels = labelmapPixels(peers, target.labelmapImageId);
        } catch {
          continue; // the segmentation is gone (removed, or the study closed): nothing left to restore
        }
        applyEdit(pixels, edit, undo === false ? 'redo' : 'undo');
        hooks.modified(target);
      }
    },
  };
}

/**
 * Pushes the edits of one accept (one per labelmap image) onto the viewer's undo history as one
 * step. Returns false where the viewer has no undo history.
 */
export function recordLabelmapEdits<T extends LabelmapTarget>(peers: Peers, edits: readonly { target: T; edit: LabelmapEdit }[], hooks: RecordHooks<T>): boolean {
  const history = peers.cornerstone.utilities.HistoryMemo?.DefaultHistoryMemo;
  if (!history || edits.length === 0) return false;
  const newId = () => peers.cornerstone.utilities.uuidv4?.() ?? `glmedsa-${Date.now()}-${Math.random()}`;
  if (edits.length === 1 || !history.startGroupRecording || !history.endGroupRecording) {
    // One slice, or a history without groups: one memo holds every slice's pixels.
    history.push(memoOf(peers, newId(), edits, hooks));
    return true;
  }
  history.startGroupRecording();
  try {
    for (const e of edits) history.push(memoOf(peers, newId(), [e], hooks));
  } finally {
    history.endGroupRecording();
  }
  return true;
}
