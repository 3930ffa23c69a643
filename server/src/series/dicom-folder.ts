/**
 * A folder of DICOM files as a stack of slices for the models' propagation loop, on the command
 * line: the files' headers are read with dcmjs (whose datasets are DICOM JSON), one series is
 * ordered as a volume by the same geometry as the server's (geometry.ts), and each slice is decoded
 * and rendered for the model exactly as the server renders a PACS frame, when it is needed.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import dcmjs from 'dcmjs';
import type { RgbImage, SliceSource } from '@glmedsa/models';
import { loadCodecFor } from '../dicom/codecs/index.js';
import { TAGS, type DicomJsonDataset, stringValue } from '../dicom/dicom-json.js';
import type { FetchedFrame } from '../dicom/image-source.js';
import type { Voi } from '../dicom/image-ref.js';
import { readPixelModule } from '../dicom/pixel-module.js';
import { nativeByteOrder } from '../dicom/transfer-syntax.js';
import type { ImageLimits } from '../images/limits.js';
import { renderForEncoder } from '../images/render.js';
import { type SeriesVolume, sortVolume } from './geometry.js';
import { framesOf, isImage } from './series-frames.js';

interface FolderSeries extends SeriesVolume {
  seriesInstanceUID: string;
  description: string | undefined;
  /** A name per slice for output files: its index, SOP instance UID and frame. */
  names: string[];
  source: SliceSource;
}

interface Header {
  file: string;
  dataset: DicomJsonDataset;
  transferSyntaxUID: string;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

function readDicom(bytes: Uint8Array, untilPixels: boolean): { dict: DicomJsonDataset; meta: DicomJsonDataset } | null {
  // Part 10 files only: 128-byte preamble, then DICM.
  if (bytes.length < 132 || String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') return null;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const d = dcmjs.data.DicomMessage.readFile(buffer, untilPixels ? { untilTag: '7FE00010', ignoreErrors: true } : { ignoreErrors: true });
  return { dict: d.dict as unknown as DicomJsonDataset, meta: d.meta as unknown as DicomJsonDataset };
}

/**
 * The series of `dir` (or the one named `seriesInstanceUID` when it holds several) as a volume.
 * Throws NotAVolume with the reason, or an Error saying which series there are.
 */
export async function readDicomFolder(dir: string, o: { seriesInstanceUID?: string; voi?: Voi; limits: ImageLimits }): Promise<FolderSeries> {
  const headers: Header[] = [];
  for (const file of await filesUnder(dir)) {
    const read = readDicom(new Uint8Array(await fs.readFile(file)), true);
    if (!read) continue;
    headers.push({ file, dataset: read.dict, transferSyntaxUID: stringValue(read.meta, '00020010') ?? '1.2.840.10008.1.2.1' });
  }
  if (!headers.length) throw new Error(`${dir} holds no DICOM files`);
  const bySeries = new Map<string, Header[]>();
  for (const h of headers) {
    const uid = stringValue(h.dataset, TAGS.SeriesInstanceUID) ?? '';
    bySeries.set(uid, [...(bySeries.get(uid) ?? []), h]);
  }
  let uid = o.seriesInstanceUID;
  if (uid === undefined) {
    const withImages = [...bySeries.entries()].filter(([, hs]) => hs.some((h) => isImage(h.dataset)));
    if (withImages.length !== 1) {
      const list = [...bySeries.entries()].map(([u, hs]) => `${u} (${hs.length} files, ${stringValue(hs[0]!.dataset, '0008103E') ?? 'no description'})`).join('; ');
      throw new Error(`${dir} holds ${withImages.length ? 'several series of images' : 'no images'}: choose one with --series (${list})`);
    }
    uid = withImages[0]![0];
  }
  const chosen = bySeries.get(uid);
  if (!chosen) throw new Error(`${dir} holds no series ${uid}`);
  const images = chosen.filter((h) => isImage(h.dataset));
  const volume = sortVolume(images.flatMap((h) => framesOf(h.dataset)));
  const fileOf = new Map(images.map((h) => [stringValue(h.dataset, TAGS.SOPInstanceUID) ?? '', h]));
  const names = volume.slices.map((s) => `${String(s.index).padStart(4, '0')}-${s.sopInstanceUID}${s.frame > 1 || volume.slices.some((x) => x.frame > 1) ? `-f${s.frame}` : ''}`);
  const source: SliceSource = {
    count: volume.slices.length,
    width: volume.columns,
    height: volume.rows,
    async image(index: number): Promise<RgbImage> {
      const slice = volume.slices[index]!;
      const h = fileOf.get(slice.sopInstanceUID)!;
      const full = readDicom(new Uint8Array(await fs.readFile(h.file)), false)!;
      const module = readPixelModule(full.dict);
      const raw = frameBytes(full.dict, slice.frame, module.numberOfFrames, h.transferSyntaxUID, (module.rows * module.columns * module.samplesPerPixel * module.bitsAllocated) / 8);
      await loadCodecFor(h.transferSyntaxUID);
      const frame: FetchedFrame = { module, raw: { bytes: raw, transferSyntaxUID: h.transferSyntaxUID }, options: {} };
      // The encoder's input size matters only for uploads, which are resized while decoded; a DICOM frame is rendered whole.
      return (await renderForEncoder({ type: 'dicom', frame, ...(o.voi ? { voi: o.voi } : {}) }, o.limits, 1024)).image;
    },
  };
  return { ...volume, seriesInstanceUID: uid, description: stringValue(chosen[0]!.dataset, '0008103E'), names, source };
}

/** One frame's bytes from a dcmjs Pixel Data element: cut from native data, or the frame's fragment(s) when encapsulated. */
function frameBytes(dict: DicomJsonDataset, frame: number, frames: number, transferSyntaxUID: string, frameSize: number): Uint8Array {
  const value = (dict[TAGS.PixelData]?.Value ?? []) as ArrayBuffer[];
  if (!value.length) throw new Error('the image has no pixel data');
  if (nativeByteOrder(transferSyntaxUID) !== undefined) {
    const all = new Uint8Array(value[0]!);
    if (all.length < frame * frameSize) throw new Error(`the pixel data holds ${all.length} bytes; frame ${frame} needs ${frame * frameSize}`);
    return all.subarray((frame - 1) * frameSize, frame * frameSize);
  }
  if (value.length === frames) return new Uint8Array(value[frame - 1]!);
  if (frames === 1) return Buffer.concat(value.map((v) => new Uint8Array(v)));
  throw new Error(`the compressed pixel data has ${value.length} fragments for ${frames} frames; send this series through a PACS instead`);
}
