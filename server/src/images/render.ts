/**
 * Turns an image source into the 8-bit RGB image SAM's preprocessing takes (runs in workers).
 * Every decoder is bounded by the configured limits before it allocates, and its failures become
 * sentences of ours: a library's own message ("Cannot read properties of undefined", "There are
 * some read requests waitng on finished stream") never reaches a client.
 */
import { PngDecodeError, type RgbImage, decodePng, rgbFromInterleaved } from '@glmedsa/models';
import jpeg from 'jpeg-js';
import { decodeFrame, renderForSam } from '../dicom/pixels.js';
import { DomainError, TooLarge, UnprocessableImage } from '../errors.js';
import { readJpegFrameSize } from './jpeg-header.js';
import { type ImageLimits, checkImageSize } from './limits.js';
import type { ImageSource } from './source.js';

/** Bytes jpeg-js may allocate per pixel: coefficient blocks (2 bytes x 3 components), component planes and the RGB output. */
const JPEG_BYTES_PER_PIXEL = 12;

function decodePngUpload(bytes: Uint8Array, limits: ImageLimits): RgbImage {
  try {
    return decodePng(bytes, { maxSide: limits.maxImageSide, maxPixels: limits.maxImagePixels });
  } catch (err) {
    if (err instanceof PngDecodeError) throw err.problem === 'too-large' ? new TooLarge(err.message) : new UnprocessableImage(err.message);
    throw new UnprocessableImage('the PNG image could not be decoded');
  }
}

function decodeJpegUpload(bytes: Uint8Array, limits: ImageLimits): RgbImage {
  const size = readJpegFrameSize(bytes);
  if (!size) throw new UnprocessableImage('the JPEG image is truncated or corrupt (it has no frame header)');
  if (size.width < 1 || size.height < 1) throw new UnprocessableImage('the JPEG image has no pixels (its frame header gives a width or height of 0)');
  checkImageSize(size.width, size.height, limits, 'the JPEG image');
  const pixels = size.width * size.height;
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: limits.maxImagePixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((pixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20) + 64,
    });
  } catch {
    throw new UnprocessableImage('the JPEG image is truncated or corrupt');
  }
  if (img.width !== size.width || img.height !== size.height || img.data.length !== pixels * 3) {
    throw new UnprocessableImage('the JPEG image is truncated or corrupt');
  }
  return rgbFromInterleaved(img.width, img.height, 3, img.data);
}

export function renderSource(source: ImageSource, limits: ImageLimits): RgbImage {
  if (source.type === 'rgb') return source.image;
  if (source.type === 'encoded') {
    return source.mediaType === 'image/png' ? decodePngUpload(source.bytes, limits) : decodeJpegUpload(source.bytes, limits);
  }
  const { module, raw, options } = source.frame;
  checkImageSize(module.columns, module.rows, limits, 'the DICOM frame');
  try {
    return renderForSam(decodeFrame(module, raw, { ...options, limits: { maxPixels: limits.maxImagePixels } }), source.voi);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new UnprocessableImage('the DICOM frame could not be decoded: its pixel data is truncated or corrupt');
  }
}
