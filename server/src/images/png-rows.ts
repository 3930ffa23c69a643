/**
 * A PNG decoder that hands the image out in strips of rows, so a large image is never held whole:
 * the compressed data is inflated as a stream, each scanline is unfiltered against the previous
 * one only, and converted to 8-bit RGB exactly as `decodePng` (@glmedsa/models, on pngjs) does:
 * alpha dropped, gray replicated, palette entries looked up, other depths scaled with
 * floor(v * 255 / (2^depth - 1) + 0.5), tRNS ignored. Interlaced (Adam7) images cannot be handed
 * out before their last pass, so they are assembled in one 8-bit RGB buffer first.
 *
 * Everything a hostile file could lie about is checked on the way: chunk lengths and CRCs, the
 * header, a palette index past the palette, image data that inflates to more than the header
 * implies (refused before the excess exists) or to less (truncated), a missing IEND.
 */
import { createInflate, crc32 } from 'node:zlib';
import { ADAM7 } from '@glmedsa/models';
import { TooLarge, UnprocessableImage } from '../errors.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CORRUPT = 'the PNG image is truncated or corrupt';

/** What IHDR says, and what the decoder derives from it. */
interface PngLayout {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlaced: boolean;
  /** Samples per pixel (1 gray or palette, 2 gray+alpha, 3 RGB, 4 RGBA). */
  samples: number;
}

/** Where the pieces of a PNG are, after its chunks were walked and their CRCs checked. */
interface PngChunks {
  layout: PngLayout;
  /** The IDAT payloads, in order. */
  idat: Uint8Array[];
  /** PLTE as RGB triples (palette images only). */
  palette: Uint8Array | null;
}

const SAMPLES: ReadonlyMap<number, { samples: number; depths: readonly number[] }> = new Map([
  [0, { samples: 1, depths: [1, 2, 4, 8, 16] }],
  [2, { samples: 3, depths: [8, 16] }],
  [3, { samples: 1, depths: [1, 2, 4, 8] }],
  [4, { samples: 2, depths: [8, 16] }],
  [6, { samples: 4, depths: [8, 16] }],
]);

const corrupt = (why?: string) => new UnprocessableImage(why ? `${CORRUPT} (${why})` : CORRUPT);

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * Walks every chunk: IHDR first, lengths inside the file, CRCs right, no unknown critical chunk,
 * image data present, IEND at the end. Cheap (no inflating): the upload route runs it too.
 */
export function readPngChunks(bytes: Uint8Array): PngChunks {
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) throw corrupt('bad signature');
  let at = 8;
  let layout: PngLayout | null = null;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  for (;;) {
    if (at + 12 > bytes.length) throw corrupt('it ends before its IEND chunk');
    const length = u32(bytes, at);
    const end = at + 12 + length;
    if (length > 0x7fffffff || end > bytes.length) throw corrupt('a chunk runs past the end of the file');
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (crc32(bytes.subarray(at + 4, at + 8 + length)) !== u32(bytes, at + 8 + length)) throw corrupt(`the ${type.replace(/[^\x20-\x7e]/g, '?')} chunk fails its CRC`);
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (layout === null && type !== 'IHDR') throw corrupt('its header is missing');
    if (type === 'IHDR') {
      if (layout !== null || length !== 13) throw corrupt('its header is damaged');
      const colourType = data[9]!;
      const kind = SAMPLES.get(colourType);
      const bitDepth = data[8]!;
      layout = { width: u32(data, 0), height: u32(data, 4), bitDepth, colourType, interlaced: data[12] === 1, samples: kind?.samples ?? 0 };
      if (layout.width === 0 || layout.height === 0) throw new UnprocessableImage('the PNG image has no pixels (its width or height is 0)');
      if (!kind || !kind.depths.includes(bitDepth) || data[10] !== 0 || data[11] !== 0 || data[12]! > 1) throw corrupt('its header declares an invalid format');
    } else if (type === 'PLTE') {
      if (length % 3 !== 0 || length === 0 || length > 768) throw corrupt('its palette is damaged');
      palette = data;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    } else if ((bytes[at + 4]! & 0x20) === 0) {
      throw corrupt(`it has an unknown critical chunk ${type.replace(/[^\x20-\x7e]/g, '?')}`);
    }
    at = end;
  }
  if (!layout) throw corrupt('its header is missing');
  if (idat.length === 0) throw corrupt('it has no image data');
  if (layout.colourType === 3 && !palette) throw corrupt('a palette image without a palette');
  return { layout, idat, palette };
}

/** Bytes of one scanline (without its filter byte) of `width` pixels. */
function rowBytes(width: number, l: PngLayout): number {
  return Math.ceil((width * l.samples * l.bitDepth) / 8);
}

/** The passes of the image data: each a sub-image of `width` x `height` pixels placed on the grid. */
function passesOf(l: PngLayout): { x0: number; y0: number; dx: number; dy: number; width: number; height: number }[] {
  if (!l.interlaced) return [{ x0: 0, y0: 0, dx: 1, dy: 1, width: l.width, height: l.height }];
  return ADAM7.map(([x0, y0, dx, dy]) => ({ x0, y0, dx, dy, width: Math.ceil((l.width - x0) / dx), height: Math.ceil((l.height - y0) / dy) })).filter(
    (p) => p.width > 0 && p.height > 0,
  );
}

/** The exact number of inflated bytes IHDR implies. */
export function inflatedSize(l: PngLayout): number {
  return passesOf(l).reduce((n, p) => n + p.height * (rowBytes(p.width, l) + 1), 0);
}

/** Undoes a scanline's filter in place (`prev` is the unfiltered previous scanline of the pass, zeros for its first). */
function unfilter(filter: number, line: Uint8Array, prev: Uint8Array, bpp: number): void {
  const n = line.length;
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) line[i] = (line[i]! + line[i - bpp]!) & 0xff;
      return;
    case 2:
      for (let i = 0; i < n; i++) line[i] = (line[i]! + prev[i]!) & 0xff;
      return;
    case 3:
      for (let i = 0; i < n; i++) line[i] = (line[i]! + (((i >= bpp ? line[i - bpp]! : 0) + prev[i]!) >> 1)) & 0xff;
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? line[i - bpp]! : 0;
        const b = prev[i]!;
        const c = i >= bpp ? prev[i - bpp]! : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        line[i] = (line[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
      }
      return;
    default:
      throw corrupt(`a scanline has the unknown filter type ${filter}`);
  }
}

/**
 * Writes the pixels of one unfiltered scanline as 8-bit RGB: pixel i goes to `out[at + i * step * 3]`.
 * `scale` maps a sample of the image's depth to 0..255 (null for 8-bit samples and palette indices).
 */
function toRgb(line: Uint8Array, width: number, l: PngLayout, palette: Uint8Array | null, scale: Uint8Array | null, out: Uint8Array, at: number, step: number): void {
  const { samples, bitDepth } = l;
  const stride = step * 3;
  if (bitDepth === 16) {
    for (let i = 0, o = at; i < width; i++, o += stride) {
      const s = i * samples * 2;
      const v = (k: number) => Math.floor((((line[s + k * 2]! << 8) | line[s + k * 2 + 1]!) * 255) / 65535 + 0.5);
      if (samples <= 2) out[o] = out[o + 1] = out[o + 2] = v(0);
      else {
        out[o] = v(0);
        out[o + 1] = v(1);
        out[o + 2] = v(2);
      }
    }
    return;
  }
  if (bitDepth < 8) {
    const perByte = 8 / bitDepth;
    const mask = (1 << bitDepth) - 1;
    for (let i = 0, o = at; i < width; i++, o += stride) {
      const v = (line[Math.floor(i / perByte)]! >> (8 - bitDepth * ((i % perByte) + 1))) & mask;
      if (palette) {
        if (v * 3 >= palette.length) throw corrupt(`a pixel names palette entry ${v}, past the palette`);
        out[o] = palette[v * 3]!;
        out[o + 1] = palette[v * 3 + 1]!;
        out[o + 2] = palette[v * 3 + 2]!;
      } else out[o] = out[o + 1] = out[o + 2] = scale![v]!;
    }
    return;
  }
  for (let i = 0, o = at; i < width; i++, o += stride) {
    const s = i * samples;
    if (palette) {
      const v = line[s]!;
      if (v * 3 >= palette.length) throw corrupt(`a pixel names palette entry ${v}, past the palette`);
      out[o] = palette[v * 3]!;
      out[o + 1] = palette[v * 3 + 1]!;
      out[o + 2] = palette[v * 3 + 2]!;
    } else if (samples <= 2) out[o] = out[o + 1] = out[o + 2] = line[s]!;
    else {
      out[o] = line[s]!;
      out[o + 1] = line[s + 1]!;
      out[o + 2] = line[s + 2]!;
    }
  }
}

/** Receives `rows` rows of 8-bit RGB (`rows * width * 3` bytes, reused after the call returns). */
export type RowSink = (rgb: Uint8Array, rows: number) => void;

/**
 * Decodes `png` (as {@link readPngChunks} read it) and hands its rows to `sink`, top to bottom, in
 * strips of up to `stripRows` rows. Memory: one strip, two scanlines, the inflater's window; an
 * interlaced image one 8-bit RGB image as well.
 */
export async function decodePngRows(png: PngChunks, sink: RowSink, stripRows = 64): Promise<void> {
  const l = png.layout;
  const expected = inflatedSize(l);
  const bpp = Math.max(1, Math.ceil((l.samples * l.bitDepth) / 8));
  const scale = l.bitDepth < 8 && l.colourType !== 3 ? Uint8Array.from({ length: 1 << l.bitDepth }, (_, v) => Math.floor((v * 255) / ((1 << l.bitDepth) - 1) + 0.5)) : null;
  const palette = l.colourType === 3 ? png.palette : null;
  const passes = passesOf(l);
  // Non-interlaced: a strip is filled and handed out; interlaced: the whole image is assembled first.
  const whole = l.interlaced ? new Uint8Array(l.width * l.height * 3) : null;
  const strip = whole ? null : new Uint8Array(Math.min(stripRows, l.height) * l.width * 3);
  let stripFill = 0;

  let pass = 0;
  let row = 0;
  let lineLen = rowBytes(passes[0]!.width, l);
  let line = new Uint8Array(lineLen + 1);
  let prev = new Uint8Array(lineLen);
  let filled = 0;
  let total = 0;

  const takeLine = () => {
    const p = passes[pass]!;
    const body = line.subarray(1);
    unfilter(line[0]!, body, prev, bpp);
    if (whole) toRgb(body, p.width, l, palette, scale, whole, ((p.y0 + row * p.dy) * l.width + p.x0) * 3, p.dx);
    else {
      toRgb(body, p.width, l, palette, scale, strip!, stripFill * l.width * 3, 1);
      if (++stripFill * l.width * 3 === strip!.length || row === p.height - 1) {
        sink(strip!, stripFill);
        stripFill = 0;
      }
    }
    prev.set(body);
    if (++row === p.height && ++pass < passes.length) {
      row = 0;
      lineLen = rowBytes(passes[pass]!.width, l);
      line = new Uint8Array(lineLen + 1);
      prev = new Uint8Array(lineLen);
    }
  };

  const inflater = createInflate({ chunkSize: 256 * 1024 });
  const feed = (async () => {
    for (const part of png.idat) {
      if (inflater.destroyed) return;
      if (!inflater.write(part)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            inflater.off('drain', done);
            inflater.off('close', done);
            resolve();
          };
          inflater.once('drain', done);
          inflater.once('close', done);
        });
      }
    }
    if (!inflater.destroyed) inflater.end();
  })();
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > expected) {
        throw new TooLarge(`the PNG image data decompresses to more than the ${expected.toLocaleString('en-US')} bytes a ${l.width}x${l.height} image needs`);
      }
      for (let at = 0; at < chunk.length; ) {
        const n = Math.min(line.length - filled, chunk.length - at);
        line.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === line.length) {
          filled = 0;
          takeLine();
        }
      }
    }
    await feed;
  } catch (err) {
    inflater.destroy();
    await feed.catch(() => undefined);
    if (err instanceof TooLarge || err instanceof UnprocessableImage) throw err;
    throw corrupt();
  }
  if (total !== expected) throw corrupt();
  if (whole) {
    const rows = Math.max(1, Math.min(stripRows, l.height));
    for (let y = 0; y < l.height; y += rows) {
      const n = Math.min(rows, l.height - y);
      sink(whole.subarray(y * l.width * 3, (y + n) * l.width * 3), n);
    }
  }
}
