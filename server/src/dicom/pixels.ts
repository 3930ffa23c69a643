/**
 * From a frame's uncompressed bytes to pixels, and from pixels to the 8-bit RGB image SAM's
 * preprocessing takes.
 *
 * Grey images become modality values (stored value masked to Bits Stored, sign-extended when
 * Pixel Representation is 1, then rescaled); colour images (RGB interleaved or planar, YBR_FULL,
 * YBR_FULL_422) become interleaved 8-bit RGB. {@link renderForSam} windows grey images with the
 * viewport's VOI, else the DICOM default window, else the frame's min/max, inverts MONOCHROME1 and
 * replicates to three channels.
 */
import { type RgbImage } from '@glmedsa/models';
import type { DicomJsonDataset } from './dicom-json.js';
import { CorruptImage, UnsupportedImage } from './errors.js';
import type { Voi } from './image-ref.js';
import { readPixelModule, type PixelModule, type VoiFunction } from './pixel-module.js';
import { type DecodeLimits, decodeCompressedFrame } from './codecs/index.js';
import { decoderConvertsYbrToRgb, EXPLICIT_VR_LITTLE_ENDIAN, nativeByteOrder, transferSyntaxName } from './transfer-syntax.js';
import { minMaxToBytes, windowToBytes } from './voi.js';

/** A decoded grey frame: modality values (after rescale slope/intercept), row-major. */
export interface GreyPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 1;
  readonly values: Float32Array;
  /** MONOCHROME1: low values display bright; the rendering is inverted after windowing. */
  readonly invert: boolean;
  /** The instance's first default window, if any. */
  readonly defaultVoi: Voi | undefined;
  readonly voiFunction: VoiFunction;
}

/** A decoded colour frame: 8-bit RGB, interleaved. */
export interface ColourPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  readonly rgb: Uint8Array;
}

/** A decoded frame. */
export type DecodedPixels = GreyPixels | ColourPixels;

/** Frame bytes and their transfer syntax. */
export interface RawFrame {
  readonly bytes: Uint8Array;
  readonly transferSyntaxUID: string;
}

/** Extra facts about how the frame was obtained. */
export interface DecodeOptions {
  /**
   * The syntax the PACS stores the instance in, when known. When it is a JPEG syntax and the
   * PACS decompressed the frame, YBR colour arrived already converted to RGB.
   */
  readonly storedTransferSyntaxUID?: string | undefined;
  /** Limits for the server's own codecs (compressed frames), checked before they decode. */
  readonly limits?: DecodeLimits | undefined;
}

/** Reads sample `index` of the frame as an unsigned integer of `bitsAllocated` bits. */
type SampleReader = (index: number) => number;

function sampleReader(bytes: Uint8Array, bitsAllocated: 8 | 16 | 32, order: 'little' | 'big'): SampleReader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = order === 'little';
  switch (bitsAllocated) {
    case 8:
      return (i) => bytes[i]!;
    case 16:
      return (i) => view.getUint16(i * 2, little);
    case 32:
      return (i) => view.getUint32(i * 4, little);
  }
}

/** Turns a raw allocated word into the stored value: shift by the high bit, mask, sign-extend. */
function storedValueDecoder(module: PixelModule): (raw: number) => number {
  const { bitsStored, highBit, pixelRepresentation } = module;
  const shift = highBit + 1 - bitsStored;
  const range = 2 ** bitsStored;
  const half = range / 2;
  const signed = pixelRepresentation === 1;
  if (bitsStored < 32) {
    const mask = range - 1;
    return (raw) => {
      const v = (raw >>> shift) & mask;
      return signed && v >= half ? v - range : v;
    };
  }
  return (raw) => (signed && raw >= half ? raw - range : raw);
}

function expectBytes(bytes: Uint8Array, needed: number, module: PixelModule): void {
  if (bytes.length < needed) {
    throw new CorruptImage(
      `frame holds ${bytes.length} bytes, a ${module.columns}x${module.rows} ${module.photometric} frame at ${module.bitsAllocated} bits needs ${needed}`,
    );
  }
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** YBR_FULL (PS3.3 C.7.6.3.1.2) to RGB for one pixel, written at `out[o..o+2]`. */
function ybrToRgb(y: number, cb: number, cr: number, out: Uint8Array, o: number): void {
  out[o] = clampByte(y + 1.402 * (cr - 128));
  out[o + 1] = clampByte(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
  out[o + 2] = clampByte(y + 1.772 * (cb - 128));
}

function decodeGrey(module: PixelModule, read: SampleReader): GreyPixels {
  const n = module.rows * module.columns;
  const toStored = storedValueDecoder(module);
  const { rescaleSlope: slope, rescaleIntercept: intercept } = module;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = toStored(read(i)) * slope + intercept;
  return {
    width: module.columns,
    height: module.rows,
    channels: 1,
    values,
    invert: module.photometric === 'MONOCHROME1',
    defaultVoi: module.defaultVoi,
    voiFunction: module.voiFunction,
  };
}

/** Colour samples to 8 bits (16-bit colour keeps its most significant stored bits). */
function colourSampleDecoder(module: PixelModule): (raw: number) => number {
  const toStored = storedValueDecoder({ ...module, pixelRepresentation: 0 });
  const drop = Math.max(0, module.bitsStored - 8);
  return drop === 0 ? toStored : (raw) => toStored(raw) >>> drop;
}

function decodeColour(module: PixelModule, bytes: Uint8Array, read: SampleReader, ybrIsRgb: boolean): ColourPixels {
  const n = module.rows * module.columns;
  const rgb = new Uint8Array(n * 3);
  const base = { width: module.columns, height: module.rows, channels: 3 as const, rgb };
  // YBR_ICT / YBR_RCT frames are RGB once decompressed (the JPEG 2000 decoder inverts the transform).
  const isYbr = (module.photometric === 'YBR_FULL' || module.photometric === 'YBR_FULL_422') && !ybrIsRgb;
  if (isYbr && module.bitsAllocated !== 8) {
    throw new UnsupportedImage(`${module.photometric} colour with ${module.bitsAllocated} bits per sample is not supported`);
  }
  // Uncompressed YBR_FULL_422: pairs of pixels as Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2), 2 bytes per pixel.
  if (module.photometric === 'YBR_FULL_422' && !ybrIsRgb && bytes.length < n * 3) {
    if (module.columns % 2 !== 0) throw new UnsupportedImage('YBR_FULL_422 with an odd number of columns is not supported');
    expectBytes(bytes, n * 2, module);
    for (let p = 0, b = 0; p < n; p += 2, b += 4) {
      const cb = bytes[b + 2]!;
      const cr = bytes[b + 3]!;
      ybrToRgb(bytes[b]!, cb, cr, rgb, p * 3);
      ybrToRgb(bytes[b + 1]!, cb, cr, rgb, p * 3 + 3);
    }
    return base;
  }
  expectBytes(bytes, (n * 3 * module.bitsAllocated) / 8, module);
  const sample = colourSampleDecoder(module);
  const planar = module.planarConfiguration === 1;
  for (let p = 0; p < n; p++) {
    const i0 = planar ? p : p * 3;
    const step = planar ? n : 1;
    const c0 = sample(read(i0));
    const c1 = sample(read(i0 + step));
    const c2 = sample(read(i0 + 2 * step));
    if (isYbr) {
      ybrToRgb(c0, c1, c2, rgb, p * 3);
    } else {
      rgb[p * 3] = c0;
      rgb[p * 3 + 1] = c1;
      rgb[p * 3 + 2] = c2;
    }
  }
  return base;
}

/**
 * Decodes one frame's bytes: uncompressed ones directly (trailing padding bytes are ignored),
 * compressed ones of the syntaxes in codecs/ through their codec (loaded first with
 * `loadCodecFor`).
 * @throws UnsupportedImage when the bytes are compressed in a syntax the server does not decode
 * @throws CorruptImage when there are fewer bytes than the frame needs
 */
export function decodeFrame(module: PixelModule, frame: RawFrame, options: DecodeOptions = {}): DecodedPixels {
  const order = nativeByteOrder(frame.transferSyntaxUID);
  if (order === undefined) {
    // JPEG 2000, JPEG-LS, HTJ2K: decoded here (codecs/), then read like any native frame.
    const native = decodeCompressedFrame(frame.transferSyntaxUID, frame.bytes, module, options.limits);
    if (native === undefined) {
      throw new UnsupportedImage(`it arrived as ${transferSyntaxName(frame.transferSyntaxUID)}, which this server does not decode`);
    }
    return decodeFrame({ ...module, planarConfiguration: native.planarConfiguration }, { bytes: native.bytes, transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }, options);
  }
  const { bytes } = frame;
  const read = sampleReader(bytes, module.bitsAllocated, order);
  if (module.samplesPerPixel === 1) {
    expectBytes(bytes, (module.rows * module.columns * module.bitsAllocated) / 8, module);
    return decodeGrey(module, read);
  }
  const stored = options.storedTransferSyntaxUID;
  // Decompressed JPEG colour arrives as RGB whatever the metadata says; a YBR_FULL_422 frame with
  // three bytes per pixel cannot be native (native 422 has two), so it was decompressed too.
  const ybrIsRgb =
    module.photometric !== 'RGB' &&
    ((stored !== undefined && decoderConvertsYbrToRgb(stored)) ||
      (module.photometric === 'YBR_FULL_422' && bytes.length >= module.rows * module.columns * 3));
  return decodeColour(module, bytes, read, ybrIsRgb);
}

/** {@link readPixelModule} then {@link decodeFrame}: metadata + raw frame -> pixels. */
export function decodePixels(metadata: DicomJsonDataset, frame: RawFrame, options: DecodeOptions = {}): DecodedPixels {
  return decodeFrame(readPixelModule(metadata), frame, options);
}

/**
 * The 8-bit RGB image SAM's preprocessing takes. Grey: windowed with `voi` (the viewport's), else
 * the instance's default window, else the frame's min/max; MONOCHROME1 inverted after windowing;
 * replicated to R, G, B. Colour: passed through (`voi` is ignored).
 */
export function renderForSam(pixels: DecodedPixels, voi?: Voi): RgbImage {
  const { width, height } = pixels;
  if (pixels.channels === 3) return { width, height, data: pixels.rgb };
  const window = voi ?? pixels.defaultVoi;
  const grey = window === undefined ? minMaxToBytes(pixels.values, pixels.invert) : windowToBytes(pixels.values, window, pixels.voiFunction, pixels.invert);
  const data = new Uint8Array(grey.length * 3);
  for (let i = 0, j = 0; i < grey.length; i++, j += 3) {
    const v = grey[i]!;
    data[j] = v;
    data[j + 1] = v;
    data[j + 2] = v;
  }
  return { width, height, data };
}
