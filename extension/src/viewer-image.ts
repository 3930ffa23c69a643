/**
 * The image a viewport shows, as the server references it: the DICOM UIDs and frame of an image id
 * (read from Cornerstone's metadata), its size, and the viewport's window/level as the server's
 * VOI (what the user sees is what the model gets).
 */
import type { ImageRef, Voi } from '@glmedsa/server/api';
import type { CornerstoneCore, StackViewport } from './viewer-types.js';

export interface ImageInfo {
  imageId: string;
  ref: Omit<ImageRef, 'voi'>;
  voi?: Voi;
  width: number;
  height: number;
}

/** The 1-based frame of a multi-frame image id (WADO-RS `.../frames/N`), 1 for any other. */
function frameOf(imageId: string): number {
  const m = /\/frames\/(\d+)/.exec(imageId);
  return m ? Number(m[1]) : 1;
}

const round = (v: number) => Math.round(v * 10) / 10;

/** An image id's reference from its instance metadata alone, or null when the metadata lacks a UID (not loaded yet). */
export function refFor(cs: CornerstoneCore, imageId: string): Omit<ImageRef, 'voi'> | null {
  const inst = cs.metaData.get('instance', imageId);
  if (!inst?.StudyInstanceUID || !inst.SeriesInstanceUID || !inst.SOPInstanceUID) return null;
  return { studyInstanceUID: inst.StudyInstanceUID, seriesInstanceUID: inst.SeriesInstanceUID, sopInstanceUID: inst.SOPInstanceUID, frame: frameOf(imageId) };
}

/** The image on show in a viewport; throws a reason when it is not a DICOM image with UIDs. */
export function imageInfo(cs: CornerstoneCore, viewport: StackViewport): ImageInfo {
  const imageId = viewport.getCurrentImageId();
  if (!imageId) throw new Error('the viewport shows no image');
  const inst = cs.metaData.get('instance', imageId) ?? {};
  const pixel = cs.metaData.get('imagePixelModule', imageId) ?? {};
  const study = inst.StudyInstanceUID ?? cs.metaData.get('generalStudyModule', imageId)?.studyInstanceUID;
  const series = inst.SeriesInstanceUID ?? cs.metaData.get('generalSeriesModule', imageId)?.seriesInstanceUID;
  const sop = inst.SOPInstanceUID ?? cs.metaData.get('sopCommonModule', imageId)?.sopInstanceUID;
  if (!study || !series || !sop) throw new Error('this image has no DICOM study, series and instance UIDs');
  const width = Number(inst.Columns ?? pixel.columns);
  const height = Number(inst.Rows ?? pixel.rows);
  const samples = Number(inst.SamplesPerPixel ?? pixel.samplesPerPixel ?? 1);
  let voi: Voi | undefined;
  const range = viewport.getProperties?.()?.voiRange;
  if (samples === 1 && range && Number.isFinite(range.lower) && Number.isFinite(range.upper) && range.upper > range.lower) {
    voi = { center: round((range.lower + range.upper) / 2), width: round(range.upper - range.lower) };
  }
  return { imageId, ref: { studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop, frame: frameOf(imageId) }, ...(voi ? { voi } : {}), width, height };
}
