/**
 * Accepted masks in the viewer's own undo history: Cornerstone's DefaultHistoryMemo, the ring
 * OHIF's undo/redo commands (Ctrl+Z, Ctrl+Y, the toolbar's undo/redo) walk. Each accept is one
 * memo in the form the viewer's own memos take ({ id, operationType, restoreMemo(undo) }, as
 * OHIF's segmentation service writes its segment memos), holding the pixels the accept changed.
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

/**
 * Pushes `edit` (made on `target`) onto the viewer's undo history. `beforeRestore` runs first on
 * each undo or redo (the preview drops what it is proposing, so the two never mix); `modified`
 * tells Cornerstone the labelmap changed. Returns false where the viewer has no undo history.
 */
export function recordLabelmapEdit(
  peers: Peers,
  target: LabelmapTarget,
  edit: LabelmapEdit,
  hooks: { beforeRestore(): void; modified(target: LabelmapTarget): void },
): boolean {
  const history = peers.cornerstone.utilities.HistoryMemo?.DefaultHistoryMemo;
  if (!history) return false;
  const memo: HistoryMemoItem = {
    id: peers.cornerstone.utilities.uuidv4?.() ?? `glmedsa-${Date.now()}-${Math.random()}`,
    operationType: 'labelmap',
    segmentationId: target.segmentationId,
    restoreMemo(undo?: boolean) {
      hooks.beforeRestore();
      let pixels: Pixels;
      try {
        pixels = labelmapPixels(peers, target.labelmapImageId);
      } catch {
        return; // the segmentation is gone (removed, or the study closed): nothing left to restore
      }
      applyEdit(pixels, edit, undo === false ? 'redo' : 'undo');
      hooks.modified(target);
    },
  };
  history.push(memo);
  return true;
}
