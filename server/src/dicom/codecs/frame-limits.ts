/**
 * Checks made on a compressed frame's own header before the decoder allocates anything: the
 * codestream must describe the image the metadata describes (size, samples, precision), and stay
 * within the pixel limit. A codestream that disagrees with its metadata is damaged data.
 */
import { CorruptImage, UnsupportedImage } from '../errors.js';
import type { PixelModule } from '../pixel-module.js';
import type { CodecFrameInfo } from './emscripten.js';

/** Largest frame (columns x rows) decoded on the server by default: 8192 x 8192. */
const DEFAULT_MAX_DECODED_PIXELS = 8192 * 8192;

/** Limits applied before decoding a compressed frame. */
export interface DecodeLimits {
  /** Largest columns x rows accepted (default {@link DEFAULT_MAX_DECODED_PIXELS}). */
  readonly maxPixels?: number | undefined;
}

/** What a codestream header says about the image. */
export interface CodestreamHeader {
  readonly width: number;
  readonly height: number;
  readonly components: number;
  /** Bits per sample (the largest over the components). */
  readonly precision: number;
  readonly signed: boolean;
}

/**
 * Compares a codestream's header with the instance's pixel description and the limits.
 * @throws CorruptImage when the header contradicts the metadata
 * @throws UnsupportedImage when the frame is larger than allowed or uses a layout we do not decode
 */
export function checkHeaderAgainstModule(header: CodestreamHeader, module: PixelModule, what: string, limits: DecodeLimits = {}): void {
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_DECODED_PIXELS;
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    throw new UnsupportedImage(
      `its ${what} frame is ${header.width}x${header.height} pixels, more than the ${maxPixels.toLocaleString('en-US')} pixels this server decodes`,
    );
  }
  if (header.width !== module.columns || header.height !== module.rows) {
    throw new CorruptImage(`${what} codestream is ${header.width}x${header.height}, the metadata says ${module.columns}x${module.rows}`);
  }
  if (header.components !== module.samplesPerPixel) {
    throw new CorruptImage(`${what} codestream has ${header.components} components, the metadata says ${module.samplesPerPixel} samples per pixel`);
  }
  if (module.bitsAllocated === 32 || header.precision > 16) {
    throw new UnsupportedImage(`its ${what} frame has ${header.precision}-bit samples in ${module.bitsAllocated}-bit words, which this server does not decode`);
  }
  if (header.precision > module.bitsAllocated) {
    throw new CorruptImage(`${what} codestream has ${header.precision}-bit samples, more than the ${module.bitsAllocated} bits allocated`);
  }
}

/**
 * After decoding: the codec must have decoded the image its header described (a codec that could
 * not read the data reports an empty frame instead of failing).
 * @throws CorruptImage
 */
export function checkFrameInfo(info: CodecFrameInfo, header: CodestreamHeader, what: string): void {
  if (info.width !== header.width || info.height !== header.height || info.componentCount !== header.components) {
    throw new CorruptImage(
      `${what} decoder produced a ${info.width}x${info.height} image with ${info.componentCount} components, the header says ${header.width}x${header.height} with ${header.components}`,
    );
  }
}
