/**
 * Turns an image source into the 8-bit RGB image SAM's preprocessing takes (runs in workers).
 * Every decoder is bounded by the configured limits before it allocates, and its failures become
 * sentences of ours: a library's own message ("Cannot read properties of undefined", "There are
 * some read requests waitng on finished stream") never reaches a client.
 *
 * A large upload (more than limits.largeImagePixels) is never held whole: its rows are decoded a
 * strip at a time and resized to the encoder's input size as they come (bit for bit what SAM's
 * resize of the whole image gives), so an 8192 x 8192 PNG costs its 24 MB intermediate at 1024, not
 * the four full-size copies (800 MB) of a whole-image decode. The encoder then sees the resized
 * image, and `originalSize` says what the prompts and masks are measured in.
 */
import type { RgbImage } from '@glmedsa/models';
import { decodeFrame, renderForSam } from '../dicom/pixels.js';
import { DomainError, UnprocessableImage } from '../errors.js';
import type { ImageSource } from './source.js';
import { decodeJpegRows } from './jpeg-decode.js';
import { type ImageLimits, checkImageSize, isLargeImage } from './limits.js';
import { decodePngRows, readPngChunks, type RowSink } from './png-rows.js';
import { probeImage } from './probe.js';
import { StripResizer, stripResizable } from './strip-resize.js';

/** The image the encoder is given, and the size of the image it stands for (height, width). */
interface RenderedImage {
  image: RgbImage;
  originalSize: [number, number];
}

/** Decodes an uploaded PNG or JPEG: whole, or (large) resized to `inputSize` strip by strip. */
async function renderUpload(bytes: Uint8Array, limits: ImageLimits, inputSize: number): Promise<RenderedImage> {
  // The upload route checked all this already; it is cheap, and a worker trusts nothing it is sent.
  const { type, width, height } = probeImage(bytes, limits);
  const large = isLargeImage(width, height, limits) && stripResizable(width, height);
  const decode = (sink: RowSink) => (type === 'image/png' ? decodePngRows(readPngChunks(bytes), sink) : decodeJpegRows(bytes, width, height, sink, { large }));
  if (large) {
    const resizer = new StripResizer(width, height, inputSize);
    await decode((rgb, rows) => resizer.push(rgb, rows));
    return { image: resizer.finish(), originalSize: [height, width] };
  }
  const data = new Uint8Array(width * height * 3);
  let filled = 0;
  await decode((rgb, rows) => {
    data.set(rgb.subarray(0, rows * width * 3), filled);
    filled += rows * width * 3;
  });
  return { image: { width, height, data }, originalSize: [height, width] };
}

export async function renderForEncoder(source: ImageSource, limits: ImageLimits, inputSize: number): Promise<RenderedImage> {
  if (source.type === 'rgb') return { image: source.image, originalSize: [source.image.height, source.image.width] };
  if (source.type === 'encoded') return renderUpload(source.bytes, limits, inputSize);
  const { module, raw, options } = source.frame;
  checkImageSize(module.columns, module.rows, limits, 'the DICOM frame');
  try {
    const image = renderForSam(decodeFrame(module, raw, { ...options, limits: { maxPixels: limits.maxImagePixels } }), source.voi);
    return { image, originalSize: [image.height, image.width] };
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw new UnprocessableImage('the DICOM frame could not be decoded: its pixel data is truncated or corrupt');
  }
}
