/**
 * The frames of a series' images and their geometry, read from WADO-RS metadata (DICOM JSON):
 * single-frame images by their Image Position / Orientation (Patient), multi-frame images (enhanced
 * CT/MR, ...) by the per-frame functional groups (Plane Position Sequence), with the orientation
 * per frame or from the shared functional groups. Objects that are not images (SEG, RT, SR,
 * presentation states, ...) are left out.
 */
import { TAGS, type DicomJsonDataset, numberValue, stringValue, values } from '../dicom/dicom-json.js';
import type { FrameGeometry, Vec3 } from './geometry.js';

const TAG = {
  InstanceNumber: '00200013',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  SharedFunctionalGroupsSequence: '52009229',
  PerFrameFunctionalGroupsSequence: '52009230',
  PlanePositionSequence: '00209113',
  PlaneOrientationSequence: '00209116',
} as const;

/** SOP classes that carry Rows and Columns but are not images to segment (segmentations, RT dose/structures...). */
const NOT_IMAGES = [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.66(\.|$)/, /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.481\./, /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\./, /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.11\./];

/** The items of a sequence attribute (DICOM JSON: objects keyed by tag). */
function items(ds: DicomJsonDataset | undefined, tag: string): DicomJsonDataset[] {
  if (!ds) return [];
  return values(ds, tag).filter((v): v is DicomJsonDataset => typeof v === 'object' && v !== null && !Array.isArray(v));
}

/** `count` numbers of a multi-valued attribute, or null unless all are there and finite. */
function vector(ds: DicomJsonDataset | undefined, tag: string, count: number): number[] | null {
  if (!ds) return null;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = numberValue(ds, tag, i);
    if (v === undefined) return null;
    out.push(v);
  }
  return out;
}

const asVec3 = (v: number[] | null): Vec3 | null => (v ? [v[0]!, v[1]!, v[2]!] : null);
const asOrientation = (v: number[] | null): FrameGeometry['orientation'] => (v ? [v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!] : null);

/** Whether an instance's metadata describes an image (pixels to segment). */
export function isImage(ds: DicomJsonDataset): boolean {
  if (numberValue(ds, TAGS.Rows) === undefined || numberValue(ds, TAGS.Columns) === undefined) return false;
  const sopClass = stringValue(ds, TAGS.SOPClassUID) ?? '';
  return !NOT_IMAGES.some((re) => re.test(sopClass));
}

/** Every frame of one image instance with its geometry. */
export function framesOf(ds: DicomJsonDataset): FrameGeometry[] {
  const sopInstanceUID = stringValue(ds, TAGS.SOPInstanceUID) ?? '';
  const rows = numberValue(ds, TAGS.Rows) ?? 0;
  const columns = numberValue(ds, TAGS.Columns) ?? 0;
  const samplesPerPixel = numberValue(ds, TAGS.SamplesPerPixel) ?? 1;
  const instanceNumber = numberValue(ds, TAG.InstanceNumber);
  const count = Math.max(1, numberValue(ds, TAGS.NumberOfFrames) ?? 1);
  const perFrame = items(ds, TAG.PerFrameFunctionalGroupsSequence);
  const shared = items(ds, TAG.SharedFunctionalGroupsSequence)[0];
  const sharedPosition = asVec3(vector(items(shared, TAG.PlanePositionSequence)[0], TAG.ImagePositionPatient, 3));
  const sharedOrientation = asOrientation(vector(items(shared, TAG.PlaneOrientationSequence)[0], TAG.ImageOrientationPatient, 6));
  const topPosition = asVec3(vector(ds, TAG.ImagePositionPatient, 3));
  const topOrientation = asOrientation(vector(ds, TAG.ImageOrientationPatient, 6));
  const frames: FrameGeometry[] = [];
  for (let f = 1; f <= count; f++) {
    const group = perFrame[f - 1];
    const position = asVec3(vector(items(group, TAG.PlanePositionSequence)[0], TAG.ImagePositionPatient, 3)) ?? sharedPosition ?? (count === 1 ? topPosition : null);
    const orientation = asOrientation(vector(items(group, TAG.PlaneOrientationSequence)[0], TAG.ImageOrientationPatient, 6)) ?? sharedOrientation ?? topOrientation;
    frames.push({ sopInstanceUID, frame: f, rows, columns, samplesPerPixel, position, orientation, ...(instanceNumber !== undefined ? { instanceNumber } : {}) });
  }
  return frames;
}

/**
 * The attributes the image path reads to fetch and decode a frame (readPixelModule), so a long
 * series keeps a few hundred bytes per instance instead of its whole metadata.
 */
export function pixelModuleOf(ds: DicomJsonDataset): DicomJsonDataset {
  const kept: Record<string, DicomJsonDataset[string]> = {};
  for (const tag of Object.values(TAGS)) if (ds[tag] !== undefined) kept[tag] = ds[tag];
  return kept;
}
