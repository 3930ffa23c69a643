/**
 * DICOM Part 10 files built with dcmjs (naturalized dataset -> DicomDict -> write): the CT slices
 * and RGB photographs of the demo studies, and the building blocks of other instances (the tests'
 * builders of unusual and broken files live in test/helpers/dicom-factory.ts). Every instance gets
 * fresh 2.25.<random> UIDs (unless the study or series is given) and enough Patient/Study/Series
 * attributes for Orthanc and OHIF.
 */
import { randomBytes } from 'node:crypto';
import dcmjs, { type data } from 'dcmjs';
import type { InstanceRef } from './image-ref.js';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

const EXPLICIT_LE = '1.2.840.10008.1.2.1';

export const SOP_CLASSES = {
  ct: '1.2.840.10008.5.1.4.1.1.2',
  mr: '1.2.840.10008.5.1.4.1.1.4',
  cr: '1.2.840.10008.5.1.4.1.1.1',
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
  multiFrameByteSc: '1.2.840.10008.5.1.4.1.1.7.2',
  multiFrameWordSc: '1.2.840.10008.5.1.4.1.1.7.3',
  vlPhoto: '1.2.840.10008.5.1.4.1.1.77.1.4',
  basicTextSr: '1.2.840.10008.5.1.4.1.1.88.11',
  segmentation: '1.2.840.10008.5.1.4.1.1.66.4',
} as const;

/** A built file and the UIDs that address it. */
export interface DicomFile {
  readonly bytes: Uint8Array;
  readonly ref: InstanceRef;
  readonly sopClassUID: string;
}

/** Patient and study shared by several instances. */
export interface StudyContext {
  readonly StudyInstanceUID: string;
  readonly PatientID: string;
  readonly PatientName: string;
  readonly StudyID: string;
  readonly StudyDescription: string;
}

/** Options every builder takes. */
export interface CommonOptions {
  /** Puts the instance in this study (a new one otherwise). */
  readonly study?: StudyContext | undefined;
  /** Puts the instance in this series (a new one otherwise). */
  readonly seriesInstanceUID?: string | undefined;
  /** The instance's own UID (a new one otherwise). */
  readonly sopInstanceUID?: string | undefined;
  readonly seriesDescription?: string | undefined;
  readonly instanceNumber?: number | undefined;
}

/** A fresh UID under the UUID-derived root 2.25 (at most 44 characters). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString()}`;
}

/** A new patient + study. */
export function newStudy(description = 'GLMed-SA test study'): StudyContext {
  const id = randomBytes(4).toString('hex').toUpperCase();
  return { StudyInstanceUID: newUid(), PatientID: `TEST-${id}`, PatientName: `Test^Patient^${id}`, StudyID: id.slice(0, 8), StudyDescription: description };
}

/** The Patient/Study/Series/Instance attributes every built instance has, and its UIDs. */
export function baseDataset(sopClassUID: string, modality: string, options: CommonOptions): { dataset: data.NaturalizedDataset; ref: InstanceRef } {
  const study = options.study ?? newStudy();
  const ref: InstanceRef = {
    studyInstanceUID: study.StudyInstanceUID,
    seriesInstanceUID: options.seriesInstanceUID ?? newUid(),
    sopInstanceUID: options.sopInstanceUID ?? newUid(),
  };
  const dataset: data.NaturalizedDataset = {
    SOPClassUID: sopClassUID,
    SOPInstanceUID: ref.sopInstanceUID,
    StudyInstanceUID: ref.studyInstanceUID,
    SeriesInstanceUID: ref.seriesInstanceUID,
    PatientName: study.PatientName,
    PatientID: study.PatientID,
    PatientBirthDate: '19700101',
    PatientSex: 'O',
    StudyDate: '20240101',
    StudyTime: '120000',
    StudyID: study.StudyID,
    StudyDescription: study.StudyDescription,
    AccessionNumber: '',
    ReferringPhysicianName: '',
    Modality: modality,
    SeriesNumber: 1,
    SeriesDescription: options.seriesDescription ?? `${modality} test series`,
    InstanceNumber: options.instanceNumber ?? 1,
    Manufacturer: 'GLMed-SA',
    SpecificCharacterSet: 'ISO_IR 192',
  };
  return { dataset, ref };
}

/** Serializes a naturalized dataset as a Part 10 file. */
export function writePart10(dataset: data.NaturalizedDataset, transferSyntaxUID = EXPLICIT_LE): Uint8Array {
  const meta: data.NaturalizedDataset = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset['SOPClassUID'],
    MediaStorageSOPInstanceUID: dataset['SOPInstanceUID'],
    TransferSyntaxUID: transferSyntaxUID,
    ImplementationClassUID: '2.25.80302813137786398554742050926734630921603366648225212145404',
    ImplementationVersionName: 'GLMEDSA',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}

/** The built file of a dataset. */
export function finish(dataset: data.NaturalizedDataset, ref: InstanceRef, transferSyntaxUID = EXPLICIT_LE): DicomFile {
  return { bytes: writePart10(dataset, transferSyntaxUID), ref, sopClassUID: String(dataset['SOPClassUID']) };
}

/** Bytes of a typed array as a fresh ArrayBuffer (little endian on every platform Node runs on). */
export function bufferOf(view: ArrayBufferView): ArrayBuffer {
  const out = new ArrayBuffer(view.byteLength);
  new Uint8Array(out).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return out;
}

/** The Image Pixel module attributes (no Pixel Data). */
export function imagePixelModule(rows: number, cols: number, bits: 8 | 16, stored: number, signed: boolean, photometric: string, samples: 1 | 3): data.NaturalizedDataset {
  return {
    Rows: rows,
    Columns: cols,
    SamplesPerPixel: samples,
    PhotometricInterpretation: photometric,
    BitsAllocated: bits,
    BitsStored: stored,
    HighBit: stored - 1,
    PixelRepresentation: signed ? 1 : 0,
    ...(samples === 3 ? { PlanarConfiguration: 0 } : {}),
  };
}

/** Throws unless `length` values fill rows x cols x perPixel. */
export function checkSize(rows: number, cols: number, length: number, perPixel: number, what: string): void {
  if (length !== rows * cols * perPixel) throw new RangeError(`${what}: expected ${rows * cols * perPixel} values for ${cols}x${rows}, got ${length}`);
}

/** A display window; arrays give multi-valued Window Center/Width. */
export interface WindowOption {
  readonly center: number | readonly number[];
  readonly width: number | readonly number[];
}

/** Window Center/Width attributes, none when no window is given. */
export function windowAttributes(window: WindowOption | undefined): data.NaturalizedDataset {
  if (window === undefined) return {};
  const list = (v: number | readonly number[]): number[] => (typeof v === 'number' ? [v] : [...v]);
  return { WindowCenter: list(window.center), WindowWidth: list(window.width) };
}

/** Options of {@link ctSlice}. */
interface CtOptions extends CommonOptions {
  readonly rows: number;
  readonly cols: number;
  /** Hounsfield units, row-major; (hu - intercept) / slope must be a 16-bit signed integer. */
  readonly hu: ArrayLike<number>;
  readonly slope?: number;
  readonly intercept?: number;
  readonly window?: WindowOption;
  /** Where the slice lies in a volume; without it the slice sits at the origin, axial, 0.7 mm pixels, 1 mm thick. */
  readonly geometry?: SliceGeometry;
}

/** The Image Plane module of a slice of a volume, and the frame of reference the series shares. */
export interface SliceGeometry {
  /** ImagePositionPatient: the centre of the top-left pixel, mm (LPS). */
  readonly position: readonly [number, number, number];
  /** ImageOrientationPatient: the row and column directions (default axial, [1,0,0,0,1,0]). */
  readonly orientation?: readonly [number, number, number, number, number, number];
  /** PixelSpacing: row spacing, column spacing, mm (default 0.7 x 0.7). */
  readonly pixelSpacing?: readonly [number, number];
  /** SliceThickness, mm (default 1). */
  readonly sliceThickness?: number;
  /** SpacingBetweenSlices, mm. */
  readonly sliceSpacing?: number;
  /** FrameOfReferenceUID the series shares (none written when absent). */
  readonly frameOfReferenceUID?: string;
}

/** A CT slice: 16-bit signed, MONOCHROME2, CT Image Storage, with rescale slope/intercept. */
export function ctSlice(options: CtOptions): DicomFile {
  const { rows, cols, hu } = options;
  const slope = options.slope ?? 1;
  const intercept = options.intercept ?? -1024;
  checkSize(rows, cols, hu.length, 1, 'ctSlice');
  const stored = new Int16Array(rows * cols);
  for (let i = 0; i < stored.length; i++) {
    const s = (hu[i]! - intercept) / slope;
    if (!Number.isInteger(s) || s < -32768 || s > 32767) throw new RangeError(`ctSlice: HU ${hu[i]} is not representable with slope ${slope}, intercept ${intercept}`);
    stored[i] = s;
  }
  const { dataset, ref } = baseDataset(SOP_CLASSES.ct, 'CT', options);
  Object.assign(dataset, imagePixelModule(rows, cols, 16, 16, true, 'MONOCHROME2', 1), {
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    RescaleSlope: slope,
    RescaleIntercept: intercept,
    RescaleType: 'HU',
    ...planeAttributes(options.geometry),
    ...windowAttributes(options.window),
    PixelData: [bufferOf(stored)],
    _vrMap: { PixelData: 'OW' },
  });
  return finish(dataset, ref);
}

/** The Image Plane attributes of a slice (and its frame of reference), or the defaults of a lone slice. */
function planeAttributes(g: SliceGeometry | undefined): data.NaturalizedDataset {
  if (!g) return { PixelSpacing: [0.7, 0.7], SliceThickness: 1, ImagePositionPatient: [0, 0, 0], ImageOrientationPatient: [1, 0, 0, 0, 1, 0] };
  const orientation = g.orientation ?? [1, 0, 0, 0, 1, 0];
  const [r1, r2, r3, c1, c2, c3] = orientation;
  // SliceLocation: the position along the normal (row x column)
  const normal = [r2 * c3 - r3 * c2, r3 * c1 - r1 * c3, r1 * c2 - r2 * c1];
  const location = g.position[0] * normal[0]! + g.position[1] * normal[1]! + g.position[2] * normal[2]!;
  return {
    ...(g.frameOfReferenceUID !== undefined ? { FrameOfReferenceUID: g.frameOfReferenceUID, PositionReferenceIndicator: '' } : {}),
    PixelSpacing: [...(g.pixelSpacing ?? [0.7, 0.7])],
    SliceThickness: g.sliceThickness ?? 1,
    ...(g.sliceSpacing !== undefined ? { SpacingBetweenSlices: g.sliceSpacing } : {}),
    ImagePositionPatient: [...g.position],
    ImageOrientationPatient: [...orientation],
    SliceLocation: Math.round(location * 1000) / 1000,
    PatientPosition: 'HFS',
  };
}

/** Options of {@link rgbPhoto}. */
export interface RgbOptions extends CommonOptions {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB bytes. */
  readonly rgb: Uint8Array;
  /** Store planes (RR..GG..BB..) instead of interleaved samples. */
  readonly planar?: boolean;
}

/** An 8-bit RGB photograph (VL Photographic Image Storage), interleaved or planar. */
export function rgbPhoto(options: RgbOptions): DicomFile {
  const { width, height, rgb } = options;
  checkSize(height, width, rgb.length, 3, 'rgbPhoto');
  const n = width * height;
  let pixels = rgb;
  if (options.planar) {
    pixels = new Uint8Array(n * 3);
    for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) pixels[c * n + p] = rgb[p * 3 + c]!;
  }
  const { dataset, ref } = baseDataset(SOP_CLASSES.vlPhoto, 'XC', options);
  Object.assign(dataset, imagePixelModule(height, width, 8, 8, false, 'RGB', 3), {
    PlanarConfiguration: options.planar ? 1 : 0,
    ImageType: ['ORIGINAL', 'PRIMARY'],
    PixelData: [bufferOf(pixels)],
    _vrMap: { PixelData: 'OB' },
  });
  return finish(dataset, ref);
}
