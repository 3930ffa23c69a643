/**
 * The Image Pixel, Modality LUT and VOI LUT attributes of an instance, read from its DICOM JSON
 * metadata and checked before any pixel is fetched: objects without images raise
 * {@link NotAnImage}, encodings we cannot decode raise {@link UnsupportedImage}.
 */
import { hasAttribute, numberValue, stringValue, TAGS, type DicomJsonDataset } from './dicom-json.js';
import { NotAnImage, UnsupportedImage } from './errors.js';
import type { Voi } from './image-ref.js';

/**
 * Photometric interpretations the decoder handles. YBR_ICT and YBR_RCT describe JPEG 2000 colour
 * whose codestream applies the irreversible or reversible component transform (PS3.3
 * C.7.6.3.1.2): the JPEG 2000 decoder inverts it, so decoded frames are RGB.
 */
type Photometric = 'MONOCHROME1' | 'MONOCHROME2' | 'RGB' | 'YBR_FULL' | 'YBR_FULL_422' | 'YBR_ICT' | 'YBR_RCT';

/** VOI LUT functions of PS3.3 C.11.2.1.3. */
export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

/** What the decoder needs to know about an instance's pixels. */
export interface PixelModule {
  readonly sopClassUID: string | undefined;
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: 1 | 3;
  readonly photometric: Photometric;
  readonly bitsAllocated: 8 | 16 | 32;
  readonly bitsStored: number;
  readonly highBit: number;
  /** 0 unsigned, 1 two's complement. */
  readonly pixelRepresentation: 0 | 1;
  /** 0 interleaved (RGBRGB...), 1 planar (RR..GG..BB..). */
  readonly planarConfiguration: 0 | 1;
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
  /** The first default window in the metadata, if any (modality units). */
  readonly defaultVoi: Voi | undefined;
  readonly voiFunction: VoiFunction;
  readonly numberOfFrames: number;
}

/** SOP classes that hold no image to segment, by UID prefix or exact UID, with a readable name. */
const NON_IMAGE_CLASSES: ReadonlyArray<readonly [prefix: string, name: string]> = [
  ['1.2.840.10008.5.1.4.1.1.88.', 'a structured report'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'an encapsulated document'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'a presentation state'],
  ['1.2.840.10008.5.1.4.1.1.9.', 'a waveform'],
  ['1.2.840.10008.5.1.4.1.1.66.4', 'a segmentation'],
  ['1.2.840.10008.5.1.4.1.1.66.7', 'a segmentation'],
  ['1.2.840.10008.5.1.4.1.1.66.5', 'a surface segmentation'],
  ['1.2.840.10008.5.1.4.1.1.66.', 'a registration or fiducials object'],
  ['1.2.840.10008.5.1.4.1.1.66', 'raw data'],
  ['1.2.840.10008.5.1.4.1.1.481.3', 'an RT structure set'],
  ['1.2.840.10008.5.1.4.1.1.481.5', 'an RT plan'],
  ['1.2.840.10008.5.1.4.1.1.481.', 'an RT object'],
];

/** RT classes that are images (RT Image, RT Dose). */
const RT_IMAGE_CLASSES = new Set(['1.2.840.10008.5.1.4.1.1.481.1', '1.2.840.10008.5.1.4.1.1.481.2']);

function nonImageName(sopClassUID: string | undefined): string | undefined {
  if (sopClassUID === undefined || RT_IMAGE_CLASSES.has(sopClassUID)) return undefined;
  for (const [prefix, name] of NON_IMAGE_CLASSES) {
    if (prefix.endsWith('.') ? sopClassUID.startsWith(prefix) : sopClassUID === prefix) return name;
  }
  return undefined;
}

function requiredInteger(dataset: DicomJsonDataset, tag: string, name: string, sopClassUID: string | undefined): number {
  const v = numberValue(dataset, tag);
  if (v === undefined || !Number.isInteger(v)) {
    throw new UnsupportedImage(`its ${name} attribute is missing or invalid`, `${name} (${tag}) = ${String(v)}, SOP class ${sopClassUID ?? 'unknown'}`);
  }
  return v;
}

/**
 * Reads and checks the pixel description of an instance.
 * @throws NotAnImage for objects without pixel data or of a non-image SOP class
 * @throws UnsupportedImage for float pixels, palette colour, odd bit depths and the like
 */
export function readPixelModule(dataset: DicomJsonDataset): PixelModule {
  const sopClassUID = stringValue(dataset, TAGS.SOPClassUID);
  const nonImage = nonImageName(sopClassUID);
  if (nonImage !== undefined) throw new NotAnImage(nonImage, `SOP class ${sopClassUID}`);
  if (hasAttribute(dataset, TAGS.FloatPixelData) || hasAttribute(dataset, TAGS.DoubleFloatPixelData)) {
    throw new UnsupportedImage('it stores floating-point pixels, which are not supported yet', `SOP class ${sopClassUID ?? 'unknown'}`);
  }
  // Pixel Data itself is not required: Orthanc leaves it out of the metadata of compressed instances.
  if (!hasAttribute(dataset, TAGS.Rows) || !hasAttribute(dataset, TAGS.Columns)) {
    throw new NotAnImage(undefined, `no Rows/Columns; SOP class ${sopClassUID ?? 'unknown'}`);
  }
  const rows = requiredInteger(dataset, TAGS.Rows, 'Rows', sopClassUID);
  const columns = requiredInteger(dataset, TAGS.Columns, 'Columns', sopClassUID);
  if (rows < 1 || columns < 1 || rows > 65535 || columns > 65535) throw new UnsupportedImage(`its size ${columns}x${rows} is not valid`);
  const samplesPerPixel = numberValue(dataset, TAGS.SamplesPerPixel) ?? 1;
  const photometricRaw = (stringValue(dataset, TAGS.PhotometricInterpretation) ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).toUpperCase();
  if (photometricRaw === 'PALETTE COLOR') {
    throw new UnsupportedImage('it uses a colour palette (PALETTE COLOR), which is not supported');
  }
  const photometrics: readonly Photometric[] = ['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_ICT', 'YBR_RCT'];
  if (!(photometrics as readonly string[]).includes(photometricRaw)) {
    throw new UnsupportedImage(`its colour encoding ${photometricRaw} is not supported`);
  }
  const photometric = photometricRaw as Photometric;
  const expectedSamples = photometric.startsWith('MONOCHROME') ? 1 : 3;
  if (samplesPerPixel !== expectedSamples) {
    throw new UnsupportedImage(`it declares ${samplesPerPixel} samples per pixel for ${photometric}`);
  }
  const bitsAllocated = requiredInteger(dataset, TAGS.BitsAllocated, 'Bits Allocated', sopClassUID);
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new UnsupportedImage(`it uses ${bitsAllocated} bits per sample, which is not supported`);
  }
  const bitsStored = numberValue(dataset, TAGS.BitsStored) ?? bitsAllocated;
  const highBit = numberValue(dataset, TAGS.HighBit) ?? bitsStored - 1;
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > bitsAllocated || !Number.isInteger(highBit) || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new UnsupportedImage(`its bit layout (allocated ${bitsAllocated}, stored ${bitsStored}, high bit ${highBit}) is not valid`);
  }
  if (expectedSamples === 3 && bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new UnsupportedImage(`colour images with ${bitsAllocated} bits per sample are not supported`);
  }
  const pixelRepresentation = numberValue(dataset, TAGS.PixelRepresentation) ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new UnsupportedImage(`its Pixel Representation ${pixelRepresentation} is not valid`);
  }
  const planar = numberValue(dataset, TAGS.PlanarConfiguration) ?? 0;
  const planarConfiguration: 0 | 1 = expectedSamples === 3 && planar === 1 ? 1 : 0;
  const numberOfFrames = numberValue(dataset, TAGS.NumberOfFrames) ?? 1;
  if (!Number.isInteger(numberOfFrames) || numberOfFrames < 1) throw new UnsupportedImage(`its Number of Frames ${numberOfFrames} is not valid`);
  let rescaleSlope = numberValue(dataset, TAGS.RescaleSlope) ?? 1;
  if (rescaleSlope === 0) rescaleSlope = 1; // a zero slope is an encoding error; the identity is the safe reading
  const rescaleIntercept = numberValue(dataset, TAGS.RescaleIntercept) ?? 0;
  const center = numberValue(dataset, TAGS.WindowCenter);
  const width = numberValue(dataset, TAGS.WindowWidth);
  const defaultVoi = center !== undefined && width !== undefined && width > 0 ? { center, width } : undefined;
  const fn = (stringValue(dataset, TAGS.VOILUTFunction) ?? 'LINEAR').toUpperCase();
  const voiFunction: VoiFunction = fn === 'LINEAR_EXACT' || fn === 'SIGMOID' ? fn : 'LINEAR';
  return {
    sopClassUID,
    rows,
    columns,
    samplesPerPixel: expectedSamples,
    photometric,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    planarConfiguration,
    rescaleSlope,
    rescaleIntercept,
    defaultVoi,
    voiFunction,
    numberOfFrames,
  };
}
