/**
 * The whole image path for one frame: metadata from the PACS, checks (is it an image, does the
 * frame exist, can we decode it) before any pixel is fetched, the frame bytes, and decoding.
 */
import { loadCodecFor, serverDecodes, sniffCompressedSyntax } from './codecs/index.js';
import { TAGS, type DicomJsonDataset } from './dicom-json.js';
import type { DicomWebClient, FrameData, RequestOptions } from './dicomweb-client.js';
import { CorruptImage } from './errors.js';
import { assertFrameNumber, assertInstanceRef, type InstanceRef } from './image-ref.js';
import { readPixelModule, type PixelModule } from './pixel-module.js';
import { decodeFrame, type DecodeOptions, type DecodedPixels, type RawFrame } from './pixels.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, nativeByteOrder } from './transfer-syntax.js';

/** Options of {@link fetchFrame} and {@link loadFrame}. */
interface LoadFrameOptions extends RequestOptions {
  /** Metadata already fetched for this instance (skips the metadata request). */
  readonly metadata?: DicomJsonDataset | undefined;
}

/** A frame as fetched, not yet decoded: everything {@link decodeFrame} needs (plain data). */
export interface FetchedFrame {
  readonly module: PixelModule;
  readonly raw: RawFrame;
  readonly options: DecodeOptions;
}

/** A decoded frame with the description it was decoded with. */
interface LoadedFrame {
  readonly module: PixelModule;
  readonly pixels: DecodedPixels;
  /** Transfer syntax of the bytes as received. */
  readonly transferSyntaxUID: string;
}

/**
 * Fetches frame `frame` (1-based) of an instance, after checking (is it an image, does the frame
 * exist) before any pixel is requested. Network only: decoding is {@link decodeFetchedFrame}, so
 * a server can fetch on its I/O thread and decode in a worker.
 *
 * YBR colour needs to know whether the PACS decompressed the frame (its JPEG decoder then already
 * converted it to RGB), so for YBR instances the stored form is asked for first and used directly
 * when uncompressed or in a syntax the server decodes (codecs/); otherwise the PACS is asked for
 * Explicit VR Little Endian. A frame labelled uncompressed that is really a codestream (Orthanc
 * 1.10 and HTJ2K) is relabelled with its actual syntax.
 * @throws InvalidImageReference, FrameOutOfRange, NotAnImage, UnsupportedImage, CorruptImage,
 *   PacsNotFound, PacsUnavailable, PacsTimeout, PacsBadResponse, PacsAuthRejected
 */
export async function fetchFrame(client: DicomWebClient, ref: InstanceRef, frame: number, options: LoadFrameOptions = {}): Promise<FetchedFrame> {
  assertInstanceRef(ref);
  assertFrameNumber(frame);
  const metadata = options.metadata ?? (await client.getInstanceMetadata(ref, options));
  const module = readPixelModule(metadata);
  assertFrameNumber(frame, module.numberOfFrames);
  if (module.photometric === 'YBR_FULL' || module.photometric === 'YBR_FULL_422') {
    let stored: FrameData;
    try {
      stored = await client.getFrame(ref, frame, { signal: options.signal, transferSyntax: '*' });
    } catch (error) {
      if (!(error instanceof CorruptImage) || module.photometric !== 'YBR_FULL_422') throw error;
      return fetchYbr422FromBulk(client, ref, frame, module, metadata, options);
    }
    if (nativeByteOrder(stored.transferSyntaxUID) !== undefined || serverDecodes(stored.transferSyntaxUID)) {
      return { module, raw: raw(stored), options: {} };
    }
    const data = await client.getFrame(ref, frame, { signal: options.signal });
    return { module, raw: raw(data), options: { storedTransferSyntaxUID: stored.transferSyntaxUID } };
  }
  const data = await client.getFrame(ref, frame, { signal: options.signal });
  return { module, raw: relabelCodestream(module, raw(data)), options: {} };
}

const raw = (d: FrameData): RawFrame => ({ bytes: d.bytes, transferSyntaxUID: d.transferSyntaxUID });

/**
 * A frame labelled uncompressed that is too short to be the frame and starts like a codestream
 * the server decodes is that codestream (Orthanc 1.10 answers HTJ2K frames this way).
 */
function relabelCodestream(module: PixelModule, frame: RawFrame): RawFrame {
  if (nativeByteOrder(frame.transferSyntaxUID) === undefined) return frame;
  const needed = (module.rows * module.columns * module.samplesPerPixel * module.bitsAllocated) / 8;
  if (frame.bytes.length >= needed) return frame;
  const actual = sniffCompressedSyntax(frame.bytes);
  return actual === undefined ? frame : { bytes: frame.bytes, transferSyntaxUID: actual };
}

/** Decodes a fetched frame (CPU work; a compressed frame's codec must be loaded: `loadCodecFor`). */
function decodeFetchedFrame(f: FetchedFrame): DecodedPixels {
  return decodeFrame(f.module, f.raw, f.options);
}

/** {@link fetchFrame}, the frame's codec loaded if it needs one, then {@link decodeFetchedFrame}. */
export async function loadFrame(client: DicomWebClient, ref: InstanceRef, frame: number, options: LoadFrameOptions = {}): Promise<LoadedFrame> {
  const f = await fetchFrame(client, ref, frame, options);
  await loadCodecFor(f.raw.transferSyntaxUID);
  return { module: f.module, pixels: decodeFetchedFrame(f), transferSyntaxUID: f.raw.transferSyntaxUID };
}

/**
 * Uncompressed YBR_FULL_422 stores two bytes per pixel, which Orthanc's frame splitter does not
 * expect (it answers "Bad file format"): read the whole Pixel Data element and cut the frame out.
 */
async function fetchYbr422FromBulk(
  client: DicomWebClient,
  ref: InstanceRef,
  frame: number,
  module: PixelModule,
  metadata: DicomJsonDataset,
  options: RequestOptions,
): Promise<FetchedFrame> {
  const all = await client.getPixelDataBulk(ref, metadata[TAGS.PixelData]?.BulkDataURI, options);
  const frameBytes = module.rows * module.columns * 2;
  const start = (frame - 1) * frameBytes;
  if (all.length < start + frameBytes) {
    throw new CorruptImage(`pixel data holds ${all.length} bytes; frame ${frame} of a ${module.columns}x${module.rows} YBR_FULL_422 image needs bytes ${start}..${start + frameBytes}`);
  }
  return { module, raw: { bytes: all.slice(start, start + frameBytes), transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }, options: {} };
}
