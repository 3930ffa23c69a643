/**
 * PNG reading and writing for the pre/post-processing pipeline, on top of pngjs.
 *
 * Reading accepts every PNG colour type and bit depth (gray, gray+alpha, RGB, RGBA, palette;
 * 1/2/4/8/16 bits) and returns 8-bit RGB: alpha is dropped (not composited), gray is replicated,
 * palette entries are looked up, and samples of other depths are scaled to 0..255 with
 * `round(v * 255 / (2^depth - 1))`. Writing produces 8-bit RGB or gray PNGs through atomic writes.
 */

import { promises as fs } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { writeBytesAtomic } from '../util/atomic-file.js';
import { rgbFromInterleaved, type GrayImage, type RgbImage } from './rgb-image.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/**
 * Returns the PNG without its tRNS chunk when the image is gray or RGB. pngjs turns pixels that match
 * the tRNS colour into transparent *black* (it zeroes RGB too), which would change the colours we keep
 * once alpha is dropped. Palette images keep tRNS (it only feeds the alpha we discard anyway).
 */
function withoutColourKey(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error('not a PNG file (bad signature)');
  }
  let colourType = -1;
  const keep: Array<[number, number]> = [];
  let dropped = false;
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = readU32(bytes, at);
    const end = at + 12 + length;
    if (end > bytes.length) break; // truncated; let pngjs report it
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (type === 'IHDR' && length >= 13) colourType = bytes[at + 8 + 9]!;
    if (type === 'tRNS' && (colourType === 0 || colourType === 2)) {
      dropped = true;
    } else {
      keep.push([at, end]);
    }
    at = end;
    if (type === 'IEND') break;
  }
  if (!dropped) return bytes;
  const parts = [bytes.subarray(0, 8), ...keep.map(([s, e]) => bytes.subarray(s, e))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Why a PNG was refused: it is larger than the limits, or it cannot be read. */
export type PngProblem = 'too-large' | 'corrupt';

/** A PNG that was refused; the message is a sentence that can be shown to whoever sent the file. */
export class PngDecodeError extends Error {
  constructor(
    readonly problem: PngProblem,
    message: string,
  ) {
    super(message);
    this.name = 'PngDecodeError';
  }
}

/** Limits checked against the PNG's header before anything is inflated or allocated. */
export interface PngLimits {
  /** Largest width and largest height. */
  maxSide?: number;
  /** Largest width x height. */
  maxPixels?: number;
}

/** What IHDR says. */
interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlaced: boolean;
}

/** Samples per pixel of each PNG colour type, and the bit depths the standard allows for it. */
const COLOUR_TYPES: ReadonlyMap<number, { samples: number; depths: readonly number[] }> = new Map([
  [0, { samples: 1, depths: [1, 2, 4, 8, 16] }],
  [2, { samples: 3, depths: [8, 16] }],
  [3, { samples: 1, depths: [1, 2, 4, 8] }],
  [4, { samples: 2, depths: [8, 16] }],
  [6, { samples: 4, depths: [8, 16] }],
]);

const CORRUPT = 'the PNG image is truncated or corrupt';

/** Reads and checks the IHDR chunk (it must come first); throws {@link PngDecodeError}. */
function readPngHeader(bytes: Uint8Array): PngHeader {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new PngDecodeError('corrupt', 'not a PNG file (bad signature)');
  if (bytes.length < 33 || readU32(bytes, 8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new PngDecodeError('corrupt', `${CORRUPT} (its header is missing or damaged)`);
  }
  const h: PngHeader = {
    width: readU32(bytes, 16),
    height: readU32(bytes, 20),
    bitDepth: bytes[24]!,
    colourType: bytes[25]!,
    interlaced: bytes[28] === 1,
  };
  const type = COLOUR_TYPES.get(h.colourType);
  if (h.width === 0 || h.height === 0) throw new PngDecodeError('corrupt', 'the PNG image has no pixels (its width or height is 0)');
  if (!type || !type.depths.includes(h.bitDepth) || bytes[26] !== 0 || bytes[27] !== 0 || bytes[28]! > 1) {
    throw new PngDecodeError('corrupt', `${CORRUPT} (its header declares an invalid format)`);
  }
  return h;
}

/** Refuses a header larger than the limits (each side, then the pixel count). */
function checkPngLimits(h: PngHeader, limits: PngLimits): void {
  const side = Math.max(h.width, h.height);
  if (limits.maxSide !== undefined && side > limits.maxSide) {
    throw new PngDecodeError('too-large', `the PNG image is ${h.width}x${h.height} pixels; each side may be at most ${limits.maxSide} pixels`);
  }
  if (limits.maxPixels !== undefined && h.width * h.height > limits.maxPixels) {
    throw new PngDecodeError(
      'too-large',
      `the PNG image is ${h.width}x${h.height} pixels (${(h.width * h.height).toLocaleString('en-US')}); at most ${limits.maxPixels.toLocaleString('en-US')} pixels are accepted`,
    );
  }
}

/** Inflated bytes of `width` x `height` pixels in scanlines with their filter byte. */
function scanlineBytes(width: number, height: number, bitsPerPixel: number): number {
  if (width === 0 || height === 0) return 0;
  return height * (Math.ceil((width * bitsPerPixel) / 8) + 1);
}

/** Adam7: the first column and row of each pass and the steps between them (PNG spec, 8.2). */
export const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** The exact size of the image data once inflated, from IHDR alone (PNG spec, 7.2 and 8.2). */
function inflatedPngSize(h: PngHeader): number {
  const bpp = COLOUR_TYPES.get(h.colourType)!.samples * h.bitDepth;
  if (!h.interlaced) return scanlineBytes(h.width, h.height, bpp);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    total += scanlineBytes(Math.ceil((h.width - x0) / dx), Math.ceil((h.height - y0) / dy), bpp);
  }
  return total;
}

/** The IDAT chunks' payloads, joined (chunks are walked by their lengths; CRCs are left to pngjs). */
function idatPayload(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = readU32(bytes, at);
    if (at + 12 + length > bytes.length) break;
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (type === 'IDAT') parts.push(bytes.subarray(at + 8, at + 8 + length));
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return Buffer.concat(parts);
}

/**
 * pngjs inflates interlaced images without a bound (so a small file could ask for gigabytes), and
 * its non-interlaced path returns a zero-filled image when the data is missing. So the image data
 * is inflated here first with the exact size IHDR implies as the output limit: a stream that
 * inflates to more is refused before the excess is ever allocated, and one that inflates to less
 * is truncated. (pngjs then inflates it again, now known to be bounded: zlib at a few hundred
 * MB/s, small next to the encoder.)
 */
function checkInflatedSize(bytes: Uint8Array, h: PngHeader): void {
  const expected = inflatedPngSize(h);
  let inflated: Buffer;
  try {
    inflated = inflateSync(idatPayload(bytes), { maxOutputLength: Math.max(1, expected) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PngDecodeError('too-large', `the PNG image data decompresses to more than the ${expected.toLocaleString('en-US')} bytes a ${h.width}x${h.height} image needs`);
    }
    throw new PngDecodeError('corrupt', CORRUPT);
  }
  if (inflated.length !== expected) throw new PngDecodeError('corrupt', CORRUPT);
}

/**
 * Decodes PNG bytes to an 8-bit RGB image (see the module comment for the conversions). The header
 * is checked against `limits` before anything is inflated, and the inflated size is bounded by what
 * the header implies. Every failure is a {@link PngDecodeError} with a sentence of ours (pngjs's
 * own messages, such as "There are some read requests waitng on finished stream", never escape).
 */
export function decodePng(bytes: Uint8Array, limits: PngLimits = {}): RgbImage {
  const header = readPngHeader(bytes);
  checkPngLimits(header, limits);
  checkInflatedSize(bytes, header);
  const clean = withoutColourKey(bytes);
  const buf = Buffer.from(clean.buffer, clean.byteOffset, clean.byteLength);
  let png: PNG;
  try {
    png = PNG.sync.read(buf); // RGBA, 8 bits per sample after pngjs's normalisation
  } catch {
    throw new PngDecodeError('corrupt', CORRUPT);
  }
  return rgbFromInterleaved(png.width, png.height, 4, png.data);
}

/** Reads a PNG from a file path, or decodes it from bytes already in memory, as 8-bit RGB. */
export async function readPng(source: string | Uint8Array, limits: PngLimits = {}): Promise<RgbImage> {
  const bytes = typeof source === 'string' ? await fs.readFile(source) : source;
  return decodePng(bytes, limits);
}

/** A pngjs image object viewing `image`'s pixels (no copy; pngjs only reads width, height and data). */
function pngFor(image: RgbImage | GrayImage): PNG {
  const png = new PNG();
  png.width = image.width;
  png.height = image.height;
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return png;
}

/** Encodes an RGB image as an 8-bit RGB PNG (colour type 2). */
export function encodePng(image: RgbImage): Uint8Array {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`RGB image ${image.width}x${image.height} has ${image.data.length} bytes`);
  }
  return PNG.sync.write(pngFor(image), { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
}

/** Encodes a gray image as an 8-bit gray PNG (colour type 0). */
function encodeGrayPng(image: GrayImage): Uint8Array {
  if (image.data.length !== image.width * image.height) {
    throw new Error(`gray image ${image.width}x${image.height} has ${image.data.length} bytes`);
  }
  return PNG.sync.write(pngFor(image), { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

/** Writes an RGB image to `path` as an 8-bit RGB PNG, atomically. */
export async function writePng(path: string, image: RgbImage): Promise<void> {
  await writeBytesAtomic(path, encodePng(image));
}

/** Writes a gray image to `path` as an 8-bit gray PNG, atomically. */
export async function writeGrayPng(path: string, image: GrayImage): Promise<void> {
  await writeBytesAtomic(path, encodeGrayPng(image));
}

/**
 * Writes a binary mask (row-major, `width * height` bytes; any non-zero byte is foreground) as an
 * 8-bit gray PNG with 0 for background and 255 for foreground, atomically.
 */
export async function writeMaskPng(path: string, mask: Uint8Array, width: number, height: number): Promise<void> {
  if (mask.length !== width * height) {
    throw new Error(`mask of ${mask.length} bytes does not fit ${width}x${height}`);
  }
  const gray = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) gray[i] = mask[i] ? 255 : 0;
  await writeGrayPng(path, { width, height, data: gray });
}

/**
 * Reads a mask PNG (any format readPng takes): a pixel is foreground when any of its channels is
 * non-zero. Returns 0/1 bytes, row-major.
 */
export async function readMaskPng(path: string): Promise<{ mask: Uint8Array; width: number; height: number }> {
  const img = await readPng(path);
  const mask = new Uint8Array(img.width * img.height);
  for (let i = 0; i < mask.length; i++) mask[i] = img.data[3 * i]! || img.data[3 * i + 1]! || img.data[3 * i + 2]! ? 1 : 0;
  return { mask, width: img.width, height: img.height };
}
