/**
 * PNG reading and writing for the pre/post-processing pipeline, on top of pngjs.
 *
 * Reading accepts every PNG colour type and bit depth (gray, gray+alpha, RGB, RGBA, palette;
 * 1/2/4/8/16 bits) and returns 8-bit RGB: alpha is dropped (not composited), gray is replicated,
 * palette entries are looked up, and samples of other depths are scaled to 0..255 with
 * `round(v * 255 / (2^depth - 1))`. Writing produces 8-bit RGB or gray PNGs through atomic writes.
 */

import { promises as fs } from 'node:fs';
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

/** Decodes PNG bytes to an 8-bit RGB image (see the module comment for the conversions). */
export function decodePng(bytes: Uint8Array): RgbImage {
  const clean = withoutColourKey(bytes);
  const buf = Buffer.from(clean.buffer, clean.byteOffset, clean.byteLength);
  const png = PNG.sync.read(buf); // RGBA, 8 bits per sample after pngjs's normalisation
  return rgbFromInterleaved(png.width, png.height, 4, png.data);
}

/** Reads a PNG from a file path, or decodes it from bytes already in memory, as 8-bit RGB. */
export async function readPng(source: string | Uint8Array): Promise<RgbImage> {
  const bytes = typeof source === 'string' ? await fs.readFile(source) : source;
  return decodePng(bytes);
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
