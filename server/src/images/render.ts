/** Turns an image source into the 8-bit RGB image SAM's preprocessing takes (runs in workers). */
import { type RgbImage, decodePng, rgbFromInterleaved } from '@glmedsa/models';
import jpeg from 'jpeg-js';
import { decodeFetchedFrame } from '../dicom/image-source.js';
import { renderForSam } from '../dicom/pixels.js';
import { UnprocessableImage } from '../errors.js';
import type { ImageSource } from '../inference/messages.js';

function decodeUpload(bytes: Uint8Array, mediaType: 'image/png' | 'image/jpeg'): RgbImage {
  try {
    if (mediaType === 'image/png') return decodePng(bytes);
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 100, maxMemoryUsageInMB: 1024 });
    return rgbFromInterleaved(img.width, img.height, 3, img.data);
  } catch (err) {
    throw new UnprocessableImage(`the ${mediaType === 'image/png' ? 'PNG' : 'JPEG'} image could not be decoded (${(err as Error).message})`);
  }
}

export function renderSource(source: ImageSource): RgbImage {
  if (source.type === 'rgb') return source.image;
  if (source.type === 'encoded') return decodeUpload(source.bytes, source.mediaType);
  return renderForSam(decodeFetchedFrame(source.frame), source.voi);
}
