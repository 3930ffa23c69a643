/**
 * DICOM Segmentation objects read with dcmjs: binary SEG (1 bit per pixel, frames packed back to
 * back, so a frame may start inside a byte), Label Map SEG (SOP class ...66.7, OHIF 3.13's default:
 * 8- or 16-bit pixels whose values are segment numbers, no SegmentIdentificationSequence) and
 * fractional SEG (recognised, not decoded), uncompressed or RLE Lossless (OHIF's default store
 * syntax). Each frame is tied to its source image through the per-frame (or shared) functional
 * groups' DerivationImageSequence -> SourceImageSequence, falling back to the
 * ReferencedSeriesSequence when the SEG covers a single image.
 */
import dcmjs from 'dcmjs';
import { decodeRleFrame } from './rle.js';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

export const SEG_SOP_CLASSES = {
  binary: '1.2.840.10008.5.1.4.1.1.66.4',
  labelMap: '1.2.840.10008.5.1.4.1.1.66.7',
} as const;

const RLE_LOSSLESS = '1.2.840.10008.1.2.5';
const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);

/** A SEG that cannot be read; the message is a sentence naming what is wrong. */
export class SegDecodeError extends Error {}

type SegmentationKind = 'binary' | 'labelmap' | 'fractional';

export interface SegSegment {
  readonly number: number;
  readonly label: string;
}

/** An image frame a SEG frame was derived from. */
interface SourceFrame {
  readonly sopInstanceUID: string;
  /** 1-based frame of the source image (1 for single-frame images). */
  readonly frame: number;
}

interface SegFrame {
  /** Segment of a binary/fractional frame (undefined for label maps, where pixels name segments). */
  readonly segmentNumber: number | undefined;
  /** The source frame, undefined when the SEG does not say. */
  readonly source: SourceFrame | undefined;
}

/** A parsed SEG instance: its header and a way to decode each frame. */
export interface SegObject {
  readonly sopClassUID: string;
  readonly sopInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly studyInstanceUID: string;
  readonly patientID: string;
  readonly kind: SegmentationKind;
  readonly rows: number;
  readonly columns: number;
  readonly segments: readonly SegSegment[];
  readonly frames: readonly SegFrame[];
  /** Source instances by series, from ReferencedSeriesSequence. */
  readonly referencedSeries: ReadonlyMap<string, readonly string[]>;
  /** Frame `index` (0-based) as one value per pixel: 0/1 for binary, segment numbers for label maps. */
  framePixels(index: number): Uint16Array;
}

type Item = Record<string, unknown>;

function list(value: unknown): Item[] {
  if (Array.isArray(value)) return value.filter((v): v is Item => typeof v === 'object' && v !== null);
  return typeof value === 'object' && value !== null && !(value instanceof ArrayBuffer) ? [value as Item] : [];
}

function text(value: unknown): string {
  if (Array.isArray(value)) return text(value[0]);
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  if (typeof value === 'object' && value !== null && 'Alphabetic' in value) return text((value as { Alphabetic: unknown }).Alphabetic);
  return '';
}

function int(value: unknown): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

function sourceOf(group: Item | undefined): SourceFrame | undefined {
  for (const derivation of list(group?.['DerivationImageSequence'])) {
    for (const source of list(derivation['SourceImageSequence'])) {
      const uid = text(source['ReferencedSOPInstanceUID']);
      if (uid !== '') return { sopInstanceUID: uid, frame: int(source['ReferencedFrameNumber']) ?? 1 };
    }
  }
  return undefined;
}

function segmentOf(group: Item | undefined): number | undefined {
  const item = list(group?.['SegmentIdentificationSequence'])[0];
  return item === undefined ? undefined : int(item['ReferencedSegmentNumber']);
}

function bytesOf(part: unknown): Uint8Array {
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  throw new SegDecodeError('its Pixel Data is not binary data.');
}

/** Parses a Part 10 SEG file; throws {@link SegDecodeError} for anything that is not a readable SEG. */
export function readSegObject(file: Uint8Array): SegObject {
  let meta: Record<string, { Value?: unknown[] }>;
  let ds: Item;
  try {
    const copy = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
    const dict = DicomMessage.readFile(copy);
    meta = dict.meta;
    ds = DicomMetaDictionary.naturalizeDataset(dict.dict);
  } catch (error) {
    throw new SegDecodeError(`it is not a readable DICOM file (${(error as Error).message}).`);
  }
  const sopClassUID = text(ds['SOPClassUID']);
  const transferSyntax = text(meta['00020010']?.Value);
  const rows = int(ds['Rows']) ?? 0;
  const columns = int(ds['Columns']) ?? 0;
  const numberOfFrames = int(ds['NumberOfFrames']) ?? 1;
  const bitsAllocated = int(ds['BitsAllocated']) ?? 0;
  const type = text(ds['SegmentationType']).toUpperCase();
  const kind: SegmentationKind = sopClassUID === SEG_SOP_CLASSES.labelMap || type === 'LABELMAP' ? 'labelmap' : type === 'FRACTIONAL' ? 'fractional' : 'binary';
  if (rows < 1 || columns < 1 || numberOfFrames < 1) throw new SegDecodeError(`it declares ${columns}x${rows} pixels in ${numberOfFrames} frames.`);

  const segments = list(ds['SegmentSequence']).map((s) => ({ number: int(s['SegmentNumber']) ?? 0, label: text(s['SegmentLabel']) }));
  const shared = list(ds['SharedFunctionalGroupsSequence'])[0];
  const perFrame = list(ds['PerFrameFunctionalGroupsSequence']);
  const referencedSeries = new Map<string, string[]>();
  for (const series of list(ds['ReferencedSeriesSequence'])) {
    const uid = text(series['SeriesInstanceUID']);
    const instances = list(series['ReferencedInstanceSequence']).map((i) => text(i['ReferencedSOPInstanceUID'])).filter((u) => u !== '');
    // Each instance once: OHIF 3.13's export lists its source image twice.
    if (uid !== '') referencedSeries.set(uid, [...new Set([...(referencedSeries.get(uid) ?? []), ...instances])]);
  }
  const allReferenced = [...referencedSeries.values()].flat();
  const fallback: SourceFrame | undefined = allReferenced.length === 1 ? { sopInstanceUID: allReferenced[0]!, frame: 1 } : undefined;
  const frames: SegFrame[] = Array.from({ length: numberOfFrames }, (_, i) => ({
    segmentNumber: kind === 'labelmap' ? undefined : (segmentOf(perFrame[i]) ?? segmentOf(shared) ?? (segments.length === 1 ? segments[0]!.number : undefined)),
    source: sourceOf(perFrame[i]) ?? sourceOf(shared) ?? fallback,
  }));

  const pixelsPerFrame = rows * columns;
  const parts = Array.isArray(ds['PixelData']) ? (ds['PixelData'] as unknown[]) : ds['PixelData'] === undefined ? [] : [ds['PixelData']];
  if (parts.length === 0) throw new SegDecodeError('it has no Pixel Data.');
  const framePixels = (index: number): Uint16Array => {
    if (!Number.isInteger(index) || index < 0 || index >= numberOfFrames) throw new RangeError(`frame index ${index} is outside 0..${numberOfFrames - 1}`);
    if (kind === 'fractional') throw new SegDecodeError('fractional segmentations are not supported.');
    if (kind === 'binary' && bitsAllocated !== 1) throw new SegDecodeError(`a binary segmentation must have 1 bit per pixel, this one has ${bitsAllocated}.`);
    if (kind === 'labelmap' && bitsAllocated !== 8 && bitsAllocated !== 16) throw new SegDecodeError(`a label map segmentation must have 8 or 16 bits per pixel, this one has ${bitsAllocated}.`);
    if (transferSyntax === RLE_LOSSLESS) {
      if (parts.length !== numberOfFrames) throw new SegDecodeError(`its RLE Pixel Data holds ${parts.length} frames, ${numberOfFrames} declared.`);
      const planes = bitsAllocated === 16 ? 2 : 1;
      const perPlane = bitsAllocated === 1 ? Math.ceil(pixelsPerFrame / 8) : pixelsPerFrame;
      let bytes: Uint8Array;
      try {
        bytes = decodeRleFrame(bytesOf(parts[index]), perPlane, planes);
      } catch (error) {
        throw new SegDecodeError(`frame ${index + 1} is damaged RLE (${(error as Error).message}).`);
      }
      return unpack(bytes, 0, pixelsPerFrame, bitsAllocated);
    }
    if (!UNCOMPRESSED.has(transferSyntax)) throw new SegDecodeError(`it is stored in transfer syntax ${transferSyntax}, which the dataset reader does not decode (uncompressed or RLE Lossless only).`);
    const all = concat(parts.map(bytesOf));
    if (bitsAllocated === 1) {
      // PS3.5 8.1.1: frames follow each other bit by bit; some writers pad each frame to a byte.
      const continuous = Math.ceil((numberOfFrames * pixelsPerFrame) / 8);
      const padded = numberOfFrames * Math.ceil(pixelsPerFrame / 8);
      const perByte = numberOfFrames * pixelsPerFrame;
      if (all.length === continuous || all.length === continuous + 1) return unpack(all, index * pixelsPerFrame, pixelsPerFrame, 1);
      if (all.length === padded || all.length === padded + 1) return unpack(all, index * Math.ceil(pixelsPerFrame / 8) * 8, pixelsPerFrame, 1);
      if (all.length === perByte || all.length === perByte + 1) return unpack(all, index * pixelsPerFrame, pixelsPerFrame, 8);
      throw new SegDecodeError(`its Pixel Data holds ${all.length} bytes; ${numberOfFrames} bit-packed ${columns}x${rows} frames need ${continuous}.`);
    }
    const bytesPerFrame = pixelsPerFrame * (bitsAllocated / 8);
    if (all.length < numberOfFrames * bytesPerFrame) throw new SegDecodeError(`its Pixel Data holds ${all.length} bytes; ${numberOfFrames} frames of ${columns}x${rows} need ${numberOfFrames * bytesPerFrame}.`);
    return unpack(all.subarray(index * bytesPerFrame, (index + 1) * bytesPerFrame), 0, pixelsPerFrame, bitsAllocated);
  };

  return {
    sopClassUID,
    sopInstanceUID: text(ds['SOPInstanceUID']),
    seriesInstanceUID: text(ds['SeriesInstanceUID']),
    studyInstanceUID: text(ds['StudyInstanceUID']),
    patientID: text(ds['PatientID']),
    kind,
    rows,
    columns,
    segments,
    frames,
    referencedSeries,
    framePixels,
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * `count` values from `bytes`: for 1 bit per pixel starting at bit `start` (least significant bit
 * first, as DICOM packs), for 8 one byte each (non-zero is 1 when it stands for bits), for 16 two
 * little-endian bytes each.
 */
function unpack(bytes: Uint8Array, start: number, count: number, bits: number): Uint16Array {
  const out = new Uint16Array(count);
  if (bits === 1) {
    for (let i = 0; i < count; i++) {
      const bit = start + i;
      out[i] = (bytes[bit >> 3]! >> (bit & 7)) & 1;
    }
  } else if (bits === 8) {
    for (let i = 0; i < count; i++) out[i] = bytes[start + i]!;
  } else {
    for (let i = 0; i < count; i++) out[i] = bytes[start + 2 * i]! | (bytes[start + 2 * i + 1]! << 8);
  }
  return out;
}
