/**
 * Reads the image size and sample format of a JPEG-LS frame from its SOF55 marker segment
 * (ISO/IEC 14495-1 C.2.2), walking the marker segments that may precede it.
 */
import { CorruptImage } from '../errors.js';
import type { CodestreamHeader } from './frame-limits.js';

const SOI = 0xffd8;
const SOF55 = 0xfff7;
const SOS = 0xffda;

/**
 * The SOF55 facts of a JPEG-LS frame.
 * @throws CorruptImage when there is no SOI, no complete SOF55 before the scan, or a zero size
 */
export function readJpegLsHeader(bytes: Uint8Array): CodestreamHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== SOI) throw new CorruptImage('JPEG-LS frame does not start with a start-of-image marker');
  let at = 2;
  while (at + 4 <= bytes.length) {
    const marker = view.getUint16(at);
    if ((marker & 0xff00) !== 0xff00) throw new CorruptImage(`JPEG-LS frame has no marker at byte ${at}`);
    if (marker === 0xffff) {
      at += 1; // fill byte
      continue;
    }
    const length = view.getUint16(at + 2);
    if (length < 2 || at + 2 + length > bytes.length) break;
    if (marker === SOF55) {
      if (length < 8) break;
      const precision = bytes[at + 4]!;
      const height = view.getUint16(at + 5);
      const width = view.getUint16(at + 7);
      const components = bytes[at + 9]!;
      if (width === 0 || height === 0) throw new CorruptImage(`JPEG-LS frame declares a ${width}x${height} image`);
      if (precision < 2 || precision > 16 || components < 1 || length !== 8 + 3 * components) {
        throw new CorruptImage(`JPEG-LS frame header is malformed (precision ${precision}, ${components} components)`);
      }
      return { width, height, components, precision, signed: false };
    }
    if (marker === SOS) break;
    at += 2 + length;
  }
  throw new CorruptImage('JPEG-LS frame has no complete frame header (SOF55) before its scan');
}
