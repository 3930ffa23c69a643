/**
 * Hand-made PNG files for the decoder tests: any IHDR, any IDAT payload, correct CRCs, so a test
 * can build what a hostile client would send (lying headers, bombs, truncations).
 */
import { createDeflate, crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export interface IhdrFields {
  width: number;
  height: number;
  bitDepth?: number;
  colourType?: number;
  interlaced?: boolean;
}

export function ihdr(f: IhdrFields): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(f.width, 0);
  d.writeUInt32BE(f.height, 4);
  d[8] = f.bitDepth ?? 8;
  d[9] = f.colourType ?? 2;
  d[12] = f.interlaced ? 1 : 0;
  return pngChunk('IHDR', d);
}

/** A PNG of the given header and zlib-compressed image data. */
export function craftPng(header: IhdrFields, zlibData: Uint8Array): Buffer {
  return Buffer.concat([SIGNATURE, ihdr(header), pngChunk('IDAT', zlibData), pngChunk('IEND', new Uint8Array(0))]);
}

/** The 67-byte PNG of issue 8: 1 x 60,000,000 pixels, 8-bit RGB, IDAT = zlib of two zero bytes. */
export function tallPng(): Buffer {
  return craftPng({ width: 1, height: 60_000_000 }, deflateSync(Buffer.alloc(2)));
}

/** zlib data that inflates to `bytes` zero bytes, made in 1 MiB pieces (the test never holds them all). */
export async function zerosZlib(bytes: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const piece = Buffer.alloc(1 << 20);
  for (let left = bytes; left > 0; left -= piece.length) {
    if (!deflate.write(left >= piece.length ? piece : piece.subarray(0, left))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat(parts);
}

/**
 * An interlaced (Adam7) 8-bit RGB PNG of `rgb`, written from the PNG specification (pass origins
 * and steps, filter type 0 on every scanline) so a test has interlaced files pngjs cannot write.
 */
export function interlacedRgbPng(width: number, height: number, rgb: Uint8Array): Buffer {
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  const out: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const cols = Math.ceil((width - x0!) / dx!);
    const rows = Math.ceil((height - y0!) / dy!);
    if (cols <= 0 || rows <= 0) continue;
    for (let y = y0!; y < height; y += dy!) {
      out.push(0);
      for (let x = x0!; x < width; x += dx!) out.push(rgb[(y * width + x) * 3]!, rgb[(y * width + x) * 3 + 1]!, rgb[(y * width + x) * 3 + 2]!);
    }
  }
  return craftPng({ width, height, interlaced: true }, deflateSync(Uint8Array.from(out)));
}

/**
 * An 8-bit RGB PNG of `width` x `height` whose pixels are a smooth pattern of `seed` (a diagonal
 * gradient, with soft rings in blue unless `rings` is false, which compresses far better):
 * compressed row by row, so an 8192 x 8192 file is made without holding its 192 MB of pixels.
 */
export async function gradientPng(width: number, height: number, seed = 0, rings = true): Promise<Buffer> {
  const deflate = createDeflate({ level: 6 });
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const line = Buffer.alloc(1 + width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = Math.hypot(x - width / 2, y - height / 2) / 64;
      line[1 + x * 3] = (x * 255) / width + seed;
      line[2 + x * 3] = (y * 255) / height;
      line[3 + x * 3] = rings ? 128 + 100 * Math.sin(r + seed) : 128;
    }
    if (!deflate.write(Buffer.from(line))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return craftPng({ width, height }, Buffer.concat(parts));
}

/** The same PNG with a tEXt chunk before IEND: other bytes (another upload id), the same pixels. */
export function pngWithText(png: Buffer, text: string): Buffer {
  const iend = png.length - 12;
  return Buffer.concat([png.subarray(0, iend), pngChunk('tEXt', Buffer.from(`Comment\0${text}`, 'latin1')), png.subarray(iend)]);
}
