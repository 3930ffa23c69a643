/**
 * DICOM Part 10 files built with dcmjs (naturalized dataset -> DicomDict -> write), for the demo
 * studies and the tests: CT, MR, RGB photographs, multi-frame, MONOCHROME1, YBR, JPEG-compressed,
 * non-image objects, and broken files. Every instance gets fresh 2.25.<random> UIDs (unless the
 * study or series is given) and enough Patient/Study/Series attributes for Orthanc and OHIF.
 */
import { randomBytes } from 'node:crypto';
import dcmjs, { type data } from 'dcmjs';
import jpeg from 'jpeg-js';
import type { InstanceRef } from './image-ref.js';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
export const JPEG_2000_LOSSLESS = '1.2.840.10008.1.2.4.90';

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

function baseDataset(sopClassUID: string, modality: string, options: CommonOptions): { dataset: data.NaturalizedDataset; ref: InstanceRef } {
  const study = options.study ?? newStudy();
  const ref: InstanceRef = {
    studyInstanceUID: study.StudyInstanceUID,
    seriesInstanceUID: options.seriesInstanceUID ?? newUid(),
    sopInstanceUID: newUid(),
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

function finish(dataset: data.NaturalizedDataset, ref: InstanceRef, transferSyntaxUID = EXPLICIT_LE): DicomFile {
  return { bytes: writePart10(dataset, transferSyntaxUID), ref, sopClassUID: String(dataset['SOPClassUID']) };
}

/** Bytes of a typed array as a fresh ArrayBuffer (little endian on every platform Node runs on). */
function bufferOf(view: ArrayBufferView): ArrayBuffer {
  const out = new ArrayBuffer(view.byteLength);
  new Uint8Array(out).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return out;
}

function imagePixelModule(rows: number, cols: number, bits: 8 | 16, stored: number, signed: boolean, photometric: string, samples: 1 | 3): data.NaturalizedDataset {
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

function checkSize(rows: number, cols: number, length: number, perPixel: number, what: string): void {
  if (length !== rows * cols * perPixel) throw new RangeError(`${what}: expected ${rows * cols * perPixel} values for ${cols}x${rows}, got ${length}`);
}

/** A display window; arrays give multi-valued Window Center/Width. */
export interface WindowOption {
  readonly center: number | readonly number[];
  readonly width: number | readonly number[];
}

function windowAttributes(window: WindowOption | undefined): data.NaturalizedDataset {
  if (window === undefined) return {};
  const list = (v: number | readonly number[]): number[] => (typeof v === 'number' ? [v] : [...v]);
  return { WindowCenter: list(window.center), WindowWidth: list(window.width) };
}

/** Options of {@link ctSlice}. */
export interface CtOptions extends CommonOptions {
  readonly rows: number;
  readonly cols: number;
  /** Hounsfield units, row-major; (hu - intercept) / slope must be a 16-bit signed integer. */
  readonly hu: ArrayLike<number>;
  readonly slope?: number;
  readonly intercept?: number;
  readonly window?: WindowOption;
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
    PixelSpacing: [0.7, 0.7],
    SliceThickness: 1,
    ImagePositionPatient: [0, 0, 0],
    ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
    ...windowAttributes(options.window),
    PixelData: [bufferOf(stored)],
    _vrMap: { PixelData: 'OW' },
  });
  return finish(dataset, ref);
}

/** Options of {@link mrSlice}. */
export interface MrOptions extends CommonOptions {
  readonly rows: number;
  readonly cols: number;
  /** Stored values, 0..4095 (12 bits). */
  readonly values: ArrayLike<number>;
  /** Puts random garbage in the unused high 4 bits of each word (decoders must mask it away). */
  readonly dirtyHighBits?: boolean;
  readonly window?: WindowOption;
}

/** An MR slice: 16-bit unsigned, Bits Stored 12, MONOCHROME2, MR Image Storage. */
export function mrSlice(options: MrOptions): DicomFile {
  const { rows, cols, values } = options;
  checkSize(rows, cols, values.length, 1, 'mrSlice');
  const words = new Uint16Array(rows * cols);
  const noise = randomBytes(words.length);
  for (let i = 0; i < words.length; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v > 4095) throw new RangeError(`mrSlice: ${v} does not fit 12 bits`);
    words[i] = options.dirtyHighBits ? v | ((noise[i]! & 0x0f) << 12) : v;
  }
  const { dataset, ref } = baseDataset(SOP_CLASSES.mr, 'MR', options);
  Object.assign(dataset, imagePixelModule(rows, cols, 16, 12, false, 'MONOCHROME2', 1), {
    ImageType: ['ORIGINAL', 'PRIMARY'],
    ScanningSequence: 'SE',
    SequenceVariant: 'NONE',
    ScanOptions: '',
    MRAcquisitionType: '2D',
    PixelSpacing: [1, 1],
    ...windowAttributes(options.window),
    PixelData: [bufferOf(words)],
    _vrMap: { PixelData: 'OW' },
  });
  return finish(dataset, ref);
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

/** Options of {@link multiFrame}. */
export interface MultiFrameOptions extends CommonOptions {
  readonly rows: number;
  readonly cols: number;
  /** One array of stored values per frame. */
  readonly frames: readonly ArrayLike<number>[];
  readonly bits: 8 | 16;
}

/** A multi-frame greyscale secondary capture (8-bit byte or 16-bit word), MONOCHROME2. */
export function multiFrame(options: MultiFrameOptions): DicomFile {
  const { rows, cols, frames, bits } = options;
  const n = rows * cols;
  const all = bits === 8 ? new Uint8Array(n * frames.length) : new Uint16Array(n * frames.length);
  frames.forEach((frame, k) => {
    checkSize(rows, cols, frame.length, 1, `multiFrame frame ${k + 1}`);
    for (let i = 0; i < n; i++) all[k * n + i] = frame[i]!;
  });
  const { dataset, ref } = baseDataset(bits === 8 ? SOP_CLASSES.multiFrameByteSc : SOP_CLASSES.multiFrameWordSc, 'OT', options);
  Object.assign(dataset, imagePixelModule(rows, cols, bits, bits, false, 'MONOCHROME2', 1), {
    NumberOfFrames: frames.length,
    FrameIncrementPointer: 0x00181063,
    FrameTime: 100,
    ConversionType: 'WSD',
    PixelData: [bufferOf(all)],
    _vrMap: { PixelData: bits === 8 ? 'OB' : 'OW' },
  });
  return finish(dataset, ref);
}

/** Options of {@link monochrome1}. */
export interface Monochrome1Options extends CommonOptions {
  readonly rows: number;
  readonly cols: number;
  /** Stored 16-bit unsigned values. */
  readonly values: ArrayLike<number>;
  readonly window?: WindowOption;
}

/** A computed radiograph stored MONOCHROME1 (high values display dark), 16-bit unsigned. */
export function monochrome1(options: Monochrome1Options): DicomFile {
  const { rows, cols, values } = options;
  checkSize(rows, cols, values.length, 1, 'monochrome1');
  const words = Uint16Array.from({ length: rows * cols }, (_, i) => values[i]!);
  const { dataset, ref } = baseDataset(SOP_CLASSES.cr, 'CR', options);
  Object.assign(dataset, imagePixelModule(rows, cols, 16, 16, false, 'MONOCHROME1', 1), {
    ImageType: ['ORIGINAL', 'PRIMARY'],
    ...windowAttributes(options.window),
    PixelData: [bufferOf(words)],
    _vrMap: { PixelData: 'OW' },
  });
  return finish(dataset, ref);
}

/** RGB to full-range YCbCr (PS3.3 C.7.6.3.1.2), rounded to bytes. */
export function rgbToYbr(r: number, g: number, b: number): [number, number, number] {
  const clamp = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));
  return [
    clamp(0.299 * r + 0.587 * g + 0.114 * b),
    clamp(-0.168736 * r - 0.331264 * g + 0.5 * b + 128),
    clamp(0.5 * r - 0.418688 * g - 0.081312 * b + 128),
  ];
}

/** Options of {@link ybrFull}. */
export interface YbrOptions extends CommonOptions {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB bytes, converted to YCbCr by the factory. */
  readonly rgb: Uint8Array;
  /**
   * YBR_FULL_422: pairs of pixels share Cb/Cr (the mean of the pair), stored Y1 Y2 Cb Cr.
   * Needs an even width.
   */
  readonly subsample422?: boolean;
}

/** An uncompressed YBR_FULL (or YBR_FULL_422) secondary capture. */
export function ybrFull(options: YbrOptions): DicomFile {
  const { width, height, rgb } = options;
  checkSize(height, width, rgb.length, 3, 'ybrFull');
  const n = width * height;
  let pixels: Uint8Array;
  if (options.subsample422) {
    if (width % 2 !== 0) throw new RangeError('ybrFull: YBR_FULL_422 needs an even width');
    pixels = new Uint8Array(n * 2);
    for (let p = 0, o = 0; p < n; p += 2, o += 4) {
      const a = rgbToYbr(rgb[p * 3]!, rgb[p * 3 + 1]!, rgb[p * 3 + 2]!);
      const b = rgbToYbr(rgb[p * 3 + 3]!, rgb[p * 3 + 4]!, rgb[p * 3 + 5]!);
      pixels.set([a[0], b[0], Math.round((a[1] + b[1]) / 2), Math.round((a[2] + b[2]) / 2)], o);
    }
  } else {
    pixels = new Uint8Array(n * 3);
    for (let p = 0; p < n; p++) pixels.set(rgbToYbr(rgb[p * 3]!, rgb[p * 3 + 1]!, rgb[p * 3 + 2]!), p * 3);
  }
  const { dataset, ref } = baseDataset(SOP_CLASSES.secondaryCapture, 'OT', options);
  Object.assign(dataset, imagePixelModule(height, width, 8, 8, false, options.subsample422 ? 'YBR_FULL_422' : 'YBR_FULL', 3), {
    ConversionType: 'WSD',
    PixelData: [bufferOf(pixels)],
    _vrMap: { PixelData: 'OB' },
  });
  return finish(dataset, ref);
}

/** Options of {@link jpegPhoto}. */
export interface JpegOptions extends RgbOptions {
  /** JPEG quality 1..100 (default 100). */
  readonly quality?: number;
}

/**
 * An RGB photograph stored as JPEG Baseline (encoded by jpeg-js, YCbCr 4:2:0 internally),
 * Photometric Interpretation YBR_FULL_422 as PS3.5 8.2.1 asks for lossy JPEG colour.
 */
export function jpegPhoto(options: JpegOptions): DicomFile {
  const { width, height, rgb } = options;
  checkSize(height, width, rgb.length, 3, 'jpegPhoto');
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
    rgba[p * 4 + 3] = 255;
  }
  const encoded = jpeg.encode({ data: rgba, width, height }, options.quality ?? 100).data;
  const { dataset, ref } = baseDataset(SOP_CLASSES.vlPhoto, 'XC', options);
  Object.assign(dataset, imagePixelModule(height, width, 8, 8, false, 'YBR_FULL_422', 3), {
    LossyImageCompression: '01',
    LossyImageCompressionMethod: 'ISO_10918_1',
    PixelData: [bufferOf(new Uint8Array(encoded))],
    _vrMap: { PixelData: 'OB' },
  });
  return finish(dataset, ref, JPEG_BASELINE);
}

/**
 * An image whose pixel data claims to be JPEG 2000 (Orthanc 1.10 has no built-in JPEG 2000
 * decoder, so it cannot transcode it).
 */
export function jpeg2000Image(options: CommonOptions & { readonly rows?: number; readonly cols?: number } = {}): DicomFile {
  const rows = options.rows ?? 16;
  const cols = options.cols ?? 16;
  const { dataset, ref } = baseDataset(SOP_CLASSES.secondaryCapture, 'OT', options);
  const codestream = new Uint8Array([0xff, 0x4f, 0xff, 0x51, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xff, 0xd9]);
  Object.assign(dataset, imagePixelModule(rows, cols, 8, 8, false, 'MONOCHROME2', 1), {
    ConversionType: 'WSD',
    PixelData: [bufferOf(codestream)],
    _vrMap: { PixelData: 'OB' },
  });
  return finish(dataset, ref, JPEG_2000_LOSSLESS);
}

/** A Basic Text SR report: a valid instance without any pixel data. */
export function basicTextSr(options: CommonOptions & { readonly text?: string } = {}): DicomFile {
  const { dataset, ref } = baseDataset(SOP_CLASSES.basicTextSr, 'SR', options);
  Object.assign(dataset, {
    ValueType: 'CONTAINER',
    ContinuityOfContent: 'SEPARATE',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: '20240101',
    ContentTime: '120000',
    ConceptNameCodeSequence: [{ CodeValue: '11528-7', CodingSchemeDesignator: 'LN', CodeMeaning: 'Radiology Report' }],
    ContentSequence: [
      {
        RelationshipType: 'CONTAINS',
        ValueType: 'TEXT',
        ConceptNameCodeSequence: [{ CodeValue: '121071', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Finding' }],
        TextValue: options.text ?? 'No focal lesion.',
      },
    ],
  });
  return finish(dataset, ref);
}

/**
 * A binary DICOM Segmentation (one segment, one frame, 1-bit pixels): it has Pixel Data, yet is
 * not an image to segment.
 */
export function segObject(options: CommonOptions & { readonly rows?: number; readonly cols?: number } = {}): DicomFile {
  const rows = options.rows ?? 8;
  const cols = options.cols ?? 8;
  const { dataset, ref } = baseDataset(SOP_CLASSES.segmentation, 'SEG', options);
  const bits = new Uint8Array(Math.ceil((rows * cols) / 8));
  bits[0] = 0xff;
  Object.assign(dataset, {
    Rows: rows,
    Columns: cols,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    NumberOfFrames: 1,
    ImageType: ['DERIVED', 'PRIMARY'],
    ContentLabel: 'LESION',
    SegmentationType: 'BINARY',
    LossyImageCompression: '00',
    SegmentSequence: [
      {
        SegmentNumber: 1,
        SegmentLabel: 'Lesion',
        SegmentAlgorithmType: 'MANUAL',
        SegmentedPropertyCategoryCodeSequence: [{ CodeValue: '49755003', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Morphologically Altered Structure' }],
        SegmentedPropertyTypeCodeSequence: [{ CodeValue: '52988006', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Lesion' }],
      },
    ],
    PixelData: [bufferOf(bits)],
    _vrMap: { PixelData: 'OB' },
  });
  return finish(dataset, ref);
}

/**
 * A valid file whose Pixel Data holds fewer bytes than Rows x Columns needs (what a file cut in
 * its pixel data looks like once re-wrapped): Orthanc stores it, frame requests must fail cleanly.
 */
export function shortPixelData(options: CommonOptions & { readonly rows?: number; readonly cols?: number; readonly keepBytes?: number } = {}): DicomFile {
  const rows = options.rows ?? 64;
  const cols = options.cols ?? 64;
  const keep = options.keepBytes ?? Math.floor((rows * cols) / 4) * 2;
  const { dataset, ref } = baseDataset(SOP_CLASSES.secondaryCapture, 'OT', options);
  Object.assign(dataset, imagePixelModule(rows, cols, 8, 8, false, 'MONOCHROME2', 1), {
    ConversionType: 'WSD',
    PixelData: [bufferOf(new Uint8Array(keep).fill(100))],
    _vrMap: { PixelData: 'OB' },
  });
  return finish(dataset, ref);
}

/** The first `fraction` (default 60 %) of a file's bytes: a file cut short in transfer. */
export function truncate(bytes: Uint8Array, fraction = 0.6): Uint8Array {
  return bytes.slice(0, Math.max(0, Math.floor(bytes.length * fraction)));
}
