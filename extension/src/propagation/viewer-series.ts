/**
 * The series a viewport shows, read from the viewer: the display set's image ids (the same for a
 * stack and for the MPR layout's volume viewports), each image's UIDs and geometry from
 * Cornerstone's metadata, ordered as the server orders them (series-slices.ts).
 */
import type { Peers } from '../peers.js';
import { refFor } from '../viewer-image.js';
import type { DisplaySet, OhifServices } from '../viewer-types.js';
import { orderSlices, SeriesIndex } from './series-slices.js';

export interface ViewerSeries {
  displaySetInstanceUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  index: SeriesIndex;
  width: number;
  height: number;
  /** Whether the viewer can build a volume of it (OHIF's isReconstructable, when the display set says). */
  reconstructable: boolean | undefined;
}

/** The display set shown in a viewport. */
export function displaySetOf(services: OhifServices, viewportId: string): DisplaySet | undefined {
  const uid = services.viewportGridService.getDisplaySetsUIDsForViewport(viewportId)?.[0];
  return uid ? services.displaySetService.getDisplaySetByUID(uid) : undefined;
}

/** The series of a viewport's display set; throws a reason when it has no images with UIDs. */
export function viewerSeries(peers: Peers, services: OhifServices, viewportId: string): ViewerSeries {
  const ds = displaySetOf(services, viewportId);
  const imageIds = ds?.imageIds ?? [];
  if (!ds || imageIds.length === 0) throw new Error('this viewport shows no series of images');
  const cs = peers.cornerstone;
  const inputs = imageIds.map((imageId) => {
    const ref = refFor(cs, imageId);
    if (!ref) throw new Error('the series is not loaded yet (its images have no UIDs): wait a moment and try again');
    const plane = cs.metaData.get('imagePlaneModule', imageId) ?? {};
    const spacing = plane.rowPixelSpacing && plane.columnPixelSpacing ? [Number(plane.rowPixelSpacing), Number(plane.columnPixelSpacing)] : plane.pixelSpacing;
    return { imageId, sopInstanceUID: ref.sopInstanceUID, frame: ref.frame, position: plane.imagePositionPatient, orientation: plane.imageOrientationPatient, pixelSpacing: spacing };
  });
  const first = cs.metaData.get('imagePixelModule', imageIds[0]!) ?? {};
  const inst = cs.metaData.get('instance', imageIds[0]!) ?? {};
  return {
    displaySetInstanceUID: ds.displaySetInstanceUID,
    studyInstanceUID: ds.StudyInstanceUID,
    seriesInstanceUID: ds.SeriesInstanceUID,
    index: new SeriesIndex(orderSlices(inputs)),
    width: Number(inst.Columns ?? first.columns),
    height: Number(inst.Rows ?? first.rows),
    reconstructable: ds.isReconstructable,
  };
}
