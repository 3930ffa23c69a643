/**
 * DICOM SEG builders for the dataset tests: binary SEG (1 bit per pixel, frames packed back to
 * back as PS3.5 8.1.1 says, or each frame padded to a byte as OHIF's RLE writer does), Label Map
 * SEG (8- or 16-bit segment numbers, ...66.7, no SegmentIdentificationSequence, as OHIF 3.13 writes
 * it), fractional SEG, each uncompressed or RLE Lossless, with frames in a chosen order.
 */

import { baseDataset, bufferOf, finish, SOP_CLASSES, type CommonOptions, type DicomFile } from '../../src/dicom/factory.js';
import type { InstanceRef } from '../../src/dicom/image-ref.js';

export const LABEL_MAP_SEG = '1.2.840.10008.5.1.4.1.1.66.7';
export const RLE_LOSSLESS = '1.2.840.10008.1.2.5';

/** One SEG frame: which source frame, which segment (binary), the pixel values. */
export interface SegFrameSpec {
  readonly source: InstanceRef | { readonly sopInstanceUID: string; readonly seriesInstanceUID: string };
  /** ReferencedFrameNumber to write (omitted when undefined). */
  readonly referencedFrame?: number | undefined;
  /** Binary and fractional SEGs: the segment the frame belongs to. */
  readonly segmentNumber?: number | undefined;
  /** One value per pixel: 0/1 (binary), segment numbers (label map), 0..255 (fractional). */
  readonly pixels: ArrayLike<number>;
}

export interface SegSpec extends CommonOptions {
  readonly type: 'BINARY' | 'LABELMAP' | 'FRACTIONAL';
  readonly rows: number;
  readonly cols: number;
  readonly segments: readonly { readonly number: number; readonly label: string }[];
  /** Frames in the order they are stored. */
  readonly frames: readonly SegFrameSpec[];
  readonly rle?: boolean | undefined;
  /** Label maps: 8 or 16 bits (default 8). */
  readonly bits?: 8 | 16 | undefined;
  /** Leave the per-frame DerivationImageSequence out (readers must use ReferencedSeriesSequence). */
  readonly omitDerivation?: boolean | undefined;
  readonly patientID?: string | undefined;
  /** Uncompressed binary: frames back to back (PS3.5, default) or each padded to a byte (OHIF's writer). */
  readonly binaryLayout?: 'continuous' | 'per-frame' | undefined;
}

/** A fixed-seed shuffle (mulberry32), so tests store frames in a known scrambled order. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** PackBits with repeat runs for 3+ equal bytes and literal runs otherwise (PS3.5 G.3.1). */
export function packBits(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    let run = 1;
    while (i + run < bytes.length && run < 128 && bytes[i + run] === bytes[i]) run++;
    if (run >= 3) {
      out.push((1 - run) & 0xff, bytes[i]!);
      i += run;
      continue;
    }
    const start = i;
    while (i < bytes.length && i - start < 128) {
      if (i + 2 < bytes.length && bytes[i] === bytes[i + 1] && bytes[i] === bytes[i + 2]) break;
      i++;
    }
    out.push(i - start - 1, ...bytes.subarray(start, i));
  }
  return new Uint8Array(out);
}

/** An RLE Lossless frame of byte planes (most significant first). */
export function rleFrame(planes: readonly Uint8Array[]): ArrayBuffer {
  const encoded = planes.map((p) => {
    const e = packBits(p);
    return e.length % 2 === 0 ? e : Uint8Array.from([...e, 0]);
  });
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, planes.length, true);
  let offset = 64;
  encoded.forEach((e, k) => {
    view.setUint32(4 + 4 * k, offset, true);
    offset += e.length;
  });
  const out = new Uint8Array(offset);
  out.set(header, 0);
  let o = 64;
  for (const e of encoded) {
    out.set(e, o);
    o += e.length;
  }
  return out.buffer;
}

function bitPack(values: ArrayLike<number>, into: Uint8Array, startBit: number): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i]) {
      const bit = startBit + i;
      into[bit >> 3]! |= 1 << (bit & 7);
    }
  }
}

function pixelData(spec: SegSpec): { data: ArrayBuffer[]; bits: number; vr: string } {
  const n = spec.rows * spec.cols;
  for (const f of spec.frames) if (f.pixels.length !== n) throw new RangeError(`a ${spec.cols}x${spec.rows} SEG frame needs ${n} values, got ${f.pixels.length}`);
  if (spec.type === 'BINARY') {
    if (spec.rle) {
      return {
        bits: 1,
        vr: 'OB',
        data: spec.frames.map((f) => {
          const plane = new Uint8Array(Math.ceil(n / 8));
          bitPack(f.pixels, plane, 0);
          return rleFrame([plane]);
        }),
      };
    }
    const perFrame = spec.binaryLayout === 'per-frame';
    const total = perFrame ? spec.frames.length * Math.ceil(n / 8) : Math.ceil((spec.frames.length * n) / 8);
    const all = new Uint8Array(total + (total % 2));
    spec.frames.forEach((f, i) => bitPack(f.pixels, all, perFrame ? i * Math.ceil(n / 8) * 8 : i * n));
    return { bits: 1, vr: 'OB', data: [all.buffer] };
  }
  const bits = spec.type === 'FRACTIONAL' ? 8 : (spec.bits ?? 8);
  if (spec.rle) {
    return {
      bits,
      vr: 'OB',
      data: spec.frames.map((f) => {
        if (bits === 8) return rleFrame([Uint8Array.from(f.pixels)]);
        const hi = new Uint8Array(n);
        const lo = new Uint8Array(n);
        for (let p = 0; p < n; p++) {
          hi[p] = (f.pixels[p]! >> 8) & 0xff;
          lo[p] = f.pixels[p]! & 0xff;
        }
        return rleFrame([hi, lo]);
      }),
    };
  }
  const all = bits === 8 ? new Uint8Array(spec.frames.length * n) : new Uint16Array(spec.frames.length * n);
  spec.frames.forEach((f, i) => all.set(Array.from(f.pixels), i * n));
  return { bits, vr: bits === 8 ? 'OB' : 'OW', data: [bufferOf(all)] };
}

/** A SEG instance built from `spec`. */
export function segInstance(spec: SegSpec): DicomFile {
  const sopClass = spec.type === 'LABELMAP' ? LABEL_MAP_SEG : SOP_CLASSES.segmentation;
  const { dataset, ref } = baseDataset(sopClass, 'SEG', spec);
  if (spec.patientID !== undefined) dataset['PatientID'] = spec.patientID;
  const pixels = pixelData(spec);
  const bySeries = new Map<string, Set<string>>();
  for (const f of spec.frames) {
    const set = bySeries.get(f.source.seriesInstanceUID) ?? new Set<string>();
    set.add(f.source.sopInstanceUID);
    bySeries.set(f.source.seriesInstanceUID, set);
  }
  Object.assign(dataset, {
    Rows: spec.rows,
    Columns: spec.cols,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: pixels.bits,
    BitsStored: pixels.bits,
    HighBit: pixels.bits - 1,
    PixelRepresentation: 0,
    NumberOfFrames: spec.frames.length,
    ImageType: ['DERIVED', 'PRIMARY'],
    ContentLabel: 'LESION',
    SegmentationType: spec.type,
    ...(spec.type === 'FRACTIONAL' ? { SegmentationFractionalType: 'PROBABILITY', MaximumFractionalValue: 255 } : {}),
    LossyImageCompression: '00',
    SegmentSequence: spec.segments.map((s) => ({
      SegmentNumber: s.number,
      SegmentLabel: s.label,
      SegmentAlgorithmType: 'MANUAL',
      SegmentedPropertyCategoryCodeSequence: [{ CodeValue: '49755003', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Morphologically Altered Structure' }],
      SegmentedPropertyTypeCodeSequence: [{ CodeValue: '52988006', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Lesion' }],
    })),
    ReferencedSeriesSequence: [...bySeries].map(([series, sops]) => ({
      SeriesInstanceUID: series,
      ReferencedInstanceSequence: [...sops].map((sop) => ({ ReferencedSOPClassUID: SOP_CLASSES.ct, ReferencedSOPInstanceUID: sop })),
    })),
    SharedFunctionalGroupsSequence: [{ PixelMeasuresSequence: [{ PixelSpacing: [0.7, 0.7], SliceThickness: 1 }] }],
    PerFrameFunctionalGroupsSequence: spec.frames.map((f) => ({
      ...(spec.omitDerivation
        ? {}
        : {
            DerivationImageSequence: [
              {
                SourceImageSequence: [
                  {
                    ReferencedSOPClassUID: SOP_CLASSES.ct,
                    ReferencedSOPInstanceUID: f.source.sopInstanceUID,
                    ...(f.referencedFrame !== undefined ? { ReferencedFrameNumber: f.referencedFrame } : {}),
                  },
                ],
              },
            ],
          }),
      ...(spec.type !== 'LABELMAP' && f.segmentNumber !== undefined ? { SegmentIdentificationSequence: [{ ReferencedSegmentNumber: f.segmentNumber }] } : {}),
    })),
    PixelData: pixels.data,
    _vrMap: { PixelData: pixels.vr },
  });
  return finish(dataset, ref, spec.rle ? RLE_LOSSLESS : undefined);
}

/** An instance whose Modality says SEG but which is a Secondary Capture image. */
export function fakeSeg(options: CommonOptions = {}): DicomFile {
  const { dataset, ref } = baseDataset(SOP_CLASSES.secondaryCapture, 'SEG', options);
  Object.assign(dataset, {
    Rows: 4,
    Columns: 4,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    ConversionType: 'WSD',
    PixelData: [new Uint8Array(16).buffer],
    _vrMap: { PixelData: 'OB' },
  });
  return finish(dataset, ref);
}

