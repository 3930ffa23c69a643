/**
 * Reads the pixel size of an uploaded PNG or JPEG from its header, without decoding it (the
 * decode itself happens in an inference worker), and refuses it there when it is over the limits:
 * a 67-byte PNG declaring 1 x 60,000,000 pixels is refused at upload, from its first 33 bytes.
 */
import { UnprocessableImage, UnsupportedMediaType } from '../errors.js';
import { readJpegFrameSize } from './jpeg-header.js';
import { type ImageLimits, checkImageSize } from './limits.js';

type UploadType = 'image/png' | 'image/jpeg';

export interface ImageHeader {
  type: UploadType;
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngHeader(b: Uint8Array): ImageHeader | null {
  if (b.length < 24 || !PNG_SIGNATURE.every((v, i) => b[i] === v)) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (String.fromCharCode(...b.subarray(12, 16)) !== 'IHDR') return null;
  return { type: 'image/png', width: dv.getUint32(16), height: dv.getUint32(20) };
}

function jpegHeader(b: Uint8Array): ImageHeader | null {
  const size = readJpegFrameSize(b);
  return size && { type: 'image/jpeg', ...size };
}

export function probeImage(bytes: Uint8Array, limits: ImageLimits): ImageHeader {
  const h = pngHeader(bytes) ?? jpegHeader(bytes);
  if (!h) throw new UnsupportedMediaType('the upload is not a PNG or JPEG image');
  if (h.width < 1 || h.height < 1) throw new UnprocessableImage('the image has no pixels (its header gives a width or height of 0)');
  checkImageSize(h.width, h.height, limits, `the ${h.type === 'image/png' ? 'PNG' : 'JPEG'} image`);
  return h;
}
