/**
 * The DICOM JSON model (PS3.18 F.2) as WADO-RS metadata returns it, with typed accessors for the
 * attributes the image path reads. Tags are 8 upper-case hex digits ("00280010").
 */
import { PacsBadResponse } from './errors.js';

/** One attribute of a DICOM JSON dataset. */
interface DicomJsonAttribute {
  readonly vr: string;
  readonly Value?: readonly unknown[];
  readonly BulkDataURI?: string;
  readonly InlineBinary?: string;
}

/** A DICOM JSON dataset: tag -> attribute. */
export type DicomJsonDataset = Readonly<Record<string, DicomJsonAttribute>>;

/** Tags the image path reads, by keyword. */
export const TAGS = {
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  Modality: '00080060',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SamplesPerPixel: '00280002',
  PhotometricInterpretation: '00280004',
  PlanarConfiguration: '00280006',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  BitsAllocated: '00280100',
  BitsStored: '00280101',
  HighBit: '00280102',
  PixelRepresentation: '00280103',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleIntercept: '00281052',
  RescaleSlope: '00281053',
  VOILUTFunction: '00281056',
  FloatPixelData: '7FE00008',
  DoubleFloatPixelData: '7FE00009',
  PixelData: '7FE00010',
} as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that a parsed WADO-RS metadata body is an array holding one DICOM JSON dataset and
 * returns that dataset; throws {@link PacsBadResponse} otherwise.
 */
export function parseInstanceMetadata(body: unknown): DicomJsonDataset {
  const dataset = Array.isArray(body) ? body[0] : body;
  if (!isRecord(dataset) || (Array.isArray(body) && body.length !== 1)) {
    throw new PacsBadResponse(`instance metadata must be a JSON array with one dataset, got ${Array.isArray(body) ? `an array of ${body.length}` : typeof body}`);
  }
  for (const [tag, attribute] of Object.entries(dataset)) {
    if (!/^[0-9A-Fa-f]{8}$/.test(tag) || !isRecord(attribute) || typeof attribute['vr'] !== 'string') {
      throw new PacsBadResponse(`instance metadata has a malformed attribute ${JSON.stringify(tag)}`);
    }
    const value = attribute['Value'];
    if (value !== undefined && !Array.isArray(value)) {
      throw new PacsBadResponse(`instance metadata attribute ${tag} has a non-array Value`);
    }
  }
  const normalized: Record<string, DicomJsonAttribute> = {};
  for (const [tag, attribute] of Object.entries(dataset)) {
    normalized[tag.toUpperCase()] = attribute as unknown as DicomJsonAttribute;
  }
  return normalized;
}

/** True when the dataset has the attribute (with or without a value). */
export function hasAttribute(dataset: DicomJsonDataset, tag: string): boolean {
  return dataset[tag] !== undefined;
}

/** All values of an attribute (empty when absent). */
export function values(dataset: DicomJsonDataset, tag: string): readonly unknown[] {
  return dataset[tag]?.Value ?? [];
}

/** First value as a string, or undefined. */
export function stringValue(dataset: DicomJsonDataset, tag: string): string | undefined {
  const v = values(dataset, tag)[0];
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
}

/**
 * Value `index` as a finite number, or undefined. DS and IS values may arrive as numbers or as
 * strings (both occur in the wild); both are accepted.
 */
export function numberValue(dataset: DicomJsonDataset, tag: string, index = 0): number | undefined {
  const v = values(dataset, tag)[index];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}
