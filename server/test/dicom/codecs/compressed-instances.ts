/**
 * Compressed twins of uncompressed test instances: the same dataset (same pixels, study and
 * series, a new SOP Instance UID) with its Pixel Data replaced by one encapsulated frame made by
 * the codec packages' own encoders.
 */
import dcmjs from 'dcmjs';
import type { CodecFrameInfo } from '../../../src/dicom/codecs/emscripten.js';
import { encodeHtj2k, openJph } from '../../../src/dicom/codecs/htj2k.js';
import { encodeJpeg2000, openJpeg } from '../../../src/dicom/codecs/jpeg2000.js';
import { charLs, encodeJpegLs } from '../../../src/dicom/codecs/jpeg-ls.js';
import { newUid, writePart10, type DicomFile } from '../../helpers/dicom-factory.js';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

/** The compressed forms the tests make, with their transfer syntax and whether they lose data. */
export const COMPRESSIONS = {
  'JPEG 2000 lossless': { uid: '1.2.840.10008.1.2.4.90', lossy: false },
  'JPEG 2000 lossy': { uid: '1.2.840.10008.1.2.4.91', lossy: true },
  'JPEG-LS lossless': { uid: '1.2.840.10008.1.2.4.80', lossy: false },
  'JPEG-LS near-lossless': { uid: '1.2.840.10008.1.2.4.81', lossy: true },
  'HTJ2K lossless': { uid: '1.2.840.10008.1.2.4.201', lossy: false },
  'HTJ2K lossy': { uid: '1.2.840.10008.1.2.4.203', lossy: true },
} as const;

export type Compression = keyof typeof COMPRESSIONS;

/** Loads the three encoders into this thread. */
export async function loadEncoders(): Promise<void> {
  await Promise.all([openJpeg.load(), openJph.load(), charLs.load()]);
}

/** Encodes one frame's samples (little-endian words for 16 bits) in the given form. */
export function encodeFrame(compression: Compression, samples: Uint8Array, info: CodecFrameInfo): Uint8Array {
  switch (compression) {
    case 'JPEG 2000 lossless':
      return encodeJpeg2000(samples, info, { lossless: true });
    case 'JPEG 2000 lossy':
      return encodeJpeg2000(samples, info, { lossless: false });
    case 'JPEG-LS lossless':
      return encodeJpegLs(samples, info, { nearLossless: 0 });
    case 'JPEG-LS near-lossless':
      return encodeJpegLs(samples, info, { nearLossless: 3 });
    case 'HTJ2K lossless':
      return encodeHtj2k(samples, info, { lossless: true });
    case 'HTJ2K lossy':
      return encodeHtj2k(samples, info, { lossless: false, quantizationStep: 0.0002 });
  }
}

/** Bytes of a typed array (little endian, as Node runs on). */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

/**
 * The instance `file` with its pixel data replaced by `frame` in `transferSyntaxUID` (and, for
 * lossy forms, Lossy Image Compression set as PS3.3 C.7.6.1.1.5 asks), with `attributes` replaced
 * (e.g. the Photometric Interpretation a codestream's colour transform calls for).
 */
export function withEncapsulatedFrame(file: DicomFile, transferSyntaxUID: string, frame: Uint8Array, lossy: boolean, attributes: Record<string, unknown> = {}): DicomFile {
  const source = file.bytes;
  const dict = DicomMessage.readFile(source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength) as ArrayBuffer);
  const dataset = DicomMetaDictionary.naturalizeDataset(dict.dict);
  const sopInstanceUID = newUid();
  const padded = frame.length % 2 === 0 ? frame : Uint8Array.from([...frame, 0]);
  Object.assign(dataset, {
    SOPInstanceUID: sopInstanceUID,
    PixelData: [padded.buffer.slice(padded.byteOffset, padded.byteOffset + padded.byteLength)],
    _vrMap: { PixelData: 'OB' },
    ...(lossy ? { LossyImageCompression: '01' } : {}),
    ...attributes,
  });
  return { bytes: writePart10(dataset, transferSyntaxUID), ref: { ...file.ref, sopInstanceUID }, sopClassUID: file.sopClassUID };
}
