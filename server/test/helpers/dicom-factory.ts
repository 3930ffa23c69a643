/**
 * DICOM builders only the tests use: MR with dirty high bits, multi-frame, MONOCHROME1, YBR,
 * JPEG and JPEG 2000 compressed files, non-image objects (SR, SEG) and broken files. The demo's
 * builders (CT slices, RGB photographs) and the building blocks come from src/dicom/factory.ts.
 */
import { randomBytes } from 'node:crypto';
import jpeg from 'jpeg-js';
import {
  type CommonOptions,
  type DicomFile,
  type RgbOptions,
  type WindowOption,
  SOP_CLASSES,
  baseDataset,
  bufferOf,
  checkSize,
  finish,
  imagePixelModule,
  windowAttributes,
} from '../../src/dicom/factory.js';

export * from '../../src/dicom/factory.js';

export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
export const JPEG_2000_LOSSLESS = '1.2.840.10008.1.2.4.90';

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
