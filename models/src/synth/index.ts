/** Synthetic phantoms (dermoscopy, CT slices and CT volumes, generic scenes) with per-site acquisition, and dataset folders. */
export { SITES, siteProfile, type CtSiteProfile, type SiteProfile } from './sites.js';
export { DERMOSCOPY_LESION_DIAMETER, dermoscopyPhantom, type Phantom } from './dermoscopy.js';
export { CT_WINDOW, ctPhantom, windowToRgb, type CtOrgan, type CtPhantom } from './ct.js';
export { CT_PHASES, ctVolume, type CtPhase, type CtVolume, type CtVolumeOptions } from './ct-volume.js';
export {
  STRUCTURE_CLASSES,
  components3d,
  labelMapTargets,
  outlineIds,
  sliceLabels,
  sliceMask,
  sliceTargets,
  type LabelVolume,
  type SliceTarget,
  type StructureClass,
  type VolumeObject,
} from './volume-objects.js';
export {
  loadItemLabels,
  sliceLesionMask,
  volumeGeometry,
  volumeSliceImage,
  writeVolumeDataset,
  type VolumeDatasetOptions,
  type VolumeGeometry,
} from './volume-dataset.js';
export { readNifti, writeNifti, type NiftiVolume } from './nifti.js';
export { genericScene, type LabelledScene } from './scenes.js';
export {
  PHANTOM_KINDS,
  isInsidePath,
  itemSeed,
  loadDatasetItem,
  phantomItem,
  readDataset,
  writePhantomDataset,
  type Dataset,
  type DatasetItem,
  type DatasetManifest,
  type DatasetVolume,
  type PhantomDatasetOptions,
  type PhantomKind,
} from './dataset.js';
export { lesionStack, lesionStackImage, type LesionStack, type LesionStackOptions } from './lesion-stack.js';
