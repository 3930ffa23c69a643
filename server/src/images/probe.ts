/**
 * Reads the pixel size of an uploaded PNG or JPEG from its header and checks its structure, without
 * decoding it (the decode itself happens in an inference worker), and refuses it there when it is
 * over the limits or cannot be whole: a 67-byte PNG declaring 1 x 60,000,000 pixels is refused from
 * its first 33 bytes, a truncated PNG (no IEND, a chunk past the end, a bad CRC, too little image
 * data for its size) or a JPEG without a complete scan (a 29-byte file declaring 8192 x 8192) at
 * upload, before any worker allocates a pixel for it.
 */
import { UnprocessableImage, UnsupportedMediaType } from '../errors.js';
import { checkJpegStructure, readJpegFrameSize } from './jpeg-header.js';
import { type ImageLimits, checkImageSize } from './limits.js';
import { inflatedSize, readPngChunks } from './png-rows.js';

type UploadType = 'image/png' | 'image/jpeg';

export interface ImageHeader {
  type: UploadType;
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The most deflate can compress: 258 bytes in 2 bits (a one-bit length code and a one-bit distance code). */
const DEFLATE_MAX_RATIO = 1032;

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

/** The structure of a PNG whose header is within the limits: every chunk, and enough image data. */
function checkPngStructure(bytes: Uint8Array): void {
  const png = readPngChunks(bytes);
  const compressed = png.idat.reduce((n, c) => n + c.length, 0);
  const needed = inflatedSize(png.layout);
  if (compressed * DEFLATE_MAX_RATIO + DEFLATE_MAX_RATIO < needed) {
    throw new UnprocessableImage(
      `the PNG image is truncated or corrupt (its ${compressed.toLocaleString('en-US')} bytes of image data cannot hold the ${needed.toLocaleString('en-US')} bytes a ${png.layout.width}x${png.layout.height} image needs)`,
    );
  }
}

export function probeImage(bytes: Uint8Array, limits: ImageLimits): ImageHeader {
  const h = pngHeader(bytes) ?? jpegHeader(bytes);
  if (!h) throw new UnsupportedMediaType('the upload is not a PNG or JPEG image');
  if (h.width < 1 || h.height < 1) throw new UnprocessableImage('the image has no pixels (its header gives a width or height of 0)');
  checkImageSize(h.width, h.height, limits, `the ${h.type === 'image/png' ? 'PNG' : 'JPEG'} image`);
  if (h.type === 'image/png') checkPngStructure(bytes);
  else if (!checkJpegStructure(bytes)) {
    throw new UnprocessableImage('the JPEG image is truncated or corrupt (it needs a frame header, a complete scan with enough data for its size, and an end-of-image marker)');
  }
  return h;
}
