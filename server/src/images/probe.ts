/**
 * Reads the pixel size of an uploaded PNG or JPEG from its header, without decoding it (the
 * decode itself happens in an inference worker).
 */
import { TooLarge, UnprocessableImage, UnsupportedMediaType } from '../errors.js';

export type UploadType = 'image/png' | 'image/jpeg';

export interface ImageHeader {
  type: UploadType;
  width: number;
  height: number;
}

function pngHeader(b: Uint8Array): ImageHeader | null {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (b.length < 24 || !sig.every((v, i) => b[i] === v)) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (String.fromCharCode(...b.subarray(12, 16)) !== 'IHDR') return null;
  return { type: 'image/png', width: dv.getUint32(16), height: dv.getUint32(20) };
}

function jpegHeader(b: Uint8Array): ImageHeader | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { type: 'image/jpeg', height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]! };
    }
    i += 2 + len;
  }
  return null;
}

export function probeImage(bytes: Uint8Array, maxPixels: number): ImageHeader {
  const h = pngHeader(bytes) ?? jpegHeader(bytes);
  if (!h) throw new UnsupportedMediaType('the upload is not a PNG or JPEG image');
  if (h.width < 1 || h.height < 1) throw new UnprocessableImage('the image has no pixels');
  if (h.width * h.height > maxPixels) {
    throw new TooLarge(`the image has ${h.width}x${h.height} pixels; at most ${maxPixels} are accepted`);
  }
  return h;
}
