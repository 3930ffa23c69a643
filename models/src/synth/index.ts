/** Synthetic lesion phantoms (dermoscopy and CT) with per-site acquisition, and dataset folders. */
export { SITES, siteProfile, type CtSiteProfile, type SiteProfile } from './sites.js';
export { DERMOSCOPY_LESION_DIAMETER, dermoscopyPhantom, type Phantom } from './dermoscopy.js';
export { CT_WINDOW, ctPhantom, windowToRgb, type CtOrgan, type CtPhantom } from './ct.js';
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
  type PhantomDatasetOptions,
  type PhantomKind,
} from './dataset.js';
export { lesionStack, lesionStackImage, type LesionStack, type LesionStackOptions } from './lesion-stack.js';
