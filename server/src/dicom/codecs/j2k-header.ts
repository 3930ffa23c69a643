/**
 * Reads the image size and sample format of a JPEG 2000 or HTJ2K frame from its SIZ marker
 * segment (ISO/IEC 15444-1 A.5.1), which follows the start-of-codestream marker. A frame wrapped
 * in the JP2 file format (some archives store that) is unwrapped to its contiguous codestream box.
 */
import { CorruptImage, UnsupportedImage } from '../errors.js';
import type { CodestreamHeader } from './frame-limits.js';

const JP2_SIGNATURE = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** The codestream inside a JP2 file (the `jp2c` box), or the bytes themselves when not JP2. */
export function j2kCodestream(bytes: Uint8Array, what: string): Uint8Array {
  if (!startsWith(bytes, JP2_SIGNATURE)) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 8 <= bytes.length) {
    let length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    let header = 8;
    if (length === 1) {
      if (at + 16 > bytes.length) break;
      const big = view.getBigUint64(at + 8);
      length = big > BigInt(bytes.length) ? bytes.length + 1 : Number(big);
      header = 16;
    } else if (length === 0) {
      length = bytes.length - at;
    }
    if (length < header || at + length > bytes.length) break;
    if (type === 'jp2c') return bytes.subarray(at + header, at + length);
    at += length;
  }
  throw new CorruptImage(`${what} frame is a JP2 file without a complete codestream box`);
}

/**
 * The SIZ facts of a JPEG 2000 / HTJ2K codestream.
 * @throws CorruptImage when the codestream does not start with SOC + a complete SIZ segment
 * @throws UnsupportedImage for sub-sampled components or components of different precision
 */
export function readJ2kHeader(codestream: Uint8Array, what: string): CodestreamHeader {
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  if (codestream.length < 4 || view.getUint16(0) !== 0xff4f || view.getUint16(2) !== 0xff51) {
    throw new CorruptImage(`${what} frame does not start with a codestream header (SOC, SIZ)`);
  }
  if (codestream.length < 6) throw new CorruptImage(`${what} codestream ends inside its SIZ segment`);
  const lsiz = view.getUint16(4);
  if (lsiz < 41 || 4 + lsiz > codestream.length) throw new CorruptImage(`${what} codestream ends inside its SIZ segment`);
  const xsiz = view.getUint32(8);
  const ysiz = view.getUint32(12);
  const xosiz = view.getUint32(16);
  const yosiz = view.getUint32(20);
  const xtsiz = view.getUint32(24);
  const ytsiz = view.getUint32(28);
  const components = view.getUint16(40);
  if (components < 1 || lsiz !== 38 + 3 * components) throw new CorruptImage(`${what} SIZ segment is malformed (${components} components in ${lsiz} bytes)`);
  if (xsiz <= xosiz || ysiz <= yosiz || xtsiz === 0 || ytsiz === 0) throw new CorruptImage(`${what} SIZ segment describes an empty image`);
  let precision = 0;
  let signed = false;
  for (let c = 0; c < components; c++) {
    const ssiz = codestream[42 + 3 * c]!;
    const p = (ssiz & 0x7f) + 1;
    const s = (ssiz & 0x80) !== 0;
    if (c > 0 && (p !== precision || s !== signed)) {
      throw new UnsupportedImage(`its ${what} components differ in precision or sign`);
    }
    precision = p;
    signed = s;
    if (codestream[43 + 3 * c] !== 1 || codestream[44 + 3 * c] !== 1) {
      throw new UnsupportedImage(`its ${what} components are sub-sampled, which this server does not decode`);
    }
  }
  return { width: xsiz - xosiz, height: ysiz - yosiz, components, precision, signed };
}

/** Wavelet levels an encoder can use for an image this size (at most 5, OpenJPEG's default). */
export function decompositionLevels(size: { readonly width: number; readonly height: number }): number {
  return Math.max(0, Math.min(5, Math.floor(Math.log2(Math.min(size.width, size.height))) - 1));
}

/**
 * Whether the codestream's main header sets the multiple component transformation (the COD
 * segment's SGcod MCT byte, ISO/IEC 15444-1 A.6.1), which the decoder then inverts. Reads the
 * marker segments between SIZ and the first tile-part (SOT); a codestream without COD there is
 * damaged. @throws CorruptImage
 */
export function hasComponentTransform(codestream: Uint8Array, what: string): boolean {
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  let at = 2; // after SOC
  while (at + 4 <= codestream.length) {
    const marker = view.getUint16(at);
    if (marker === 0xff90 || marker === 0xff93) break; // SOT or SOD: the main header is over
    if (marker >>> 8 !== 0xff) break;
    const length = view.getUint16(at + 2);
    if (length < 2 || at + 2 + length > codestream.length) break;
    if (marker === 0xff52) {
      if (length < 12) break;
      return codestream[at + 8] === 1;
    }
    at += 2 + length;
  }
  throw new CorruptImage(`${what} codestream has no complete coding style (COD) segment in its main header`);
}
