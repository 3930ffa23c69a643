/**
 * The size limits every image passes before anything is decoded or allocated for it: each side,
 * the pixel count, and SAM's resize (an image whose short side would shrink to nothing).
 */
import { TooLarge, UnprocessableImage } from '../errors.js';

/** The `limits` keys of the server config that concern images. */
export interface ImageLimits {
  /** Largest width and largest height, in pixels. */
  readonly maxImageSide: number;
  /** Largest width x height. */
  readonly maxImagePixels: number;
  /** Above this many pixels an image is large: decoded in strips, masks upsampled by rows, its own lane in the pool. */
  readonly largeImagePixels: number;
}

/** Whether an image of this size is large (see {@link ImageLimits.largeImagePixels}). */
export function isLargeImage(width: number, height: number, limits: Pick<ImageLimits, 'largeImagePixels'>): boolean {
  return width * height > limits.largeImagePixels;
}

/** Refuses an image larger than the limits with a sentence naming the limit (413). */
export function checkImageSize(width: number, height: number, limits: ImageLimits, what = 'the image'): void {
  if (width > limits.maxImageSide || height > limits.maxImageSide) {
    throw new TooLarge(`${what} is ${width}x${height} pixels; each side may be at most ${limits.maxImageSide} pixels`);
  }
  if (width * height > limits.maxImagePixels) {
    throw new TooLarge(
      `${what} is ${width}x${height} pixels (${(width * height).toLocaleString('en-US')}); at most ${limits.maxImagePixels.toLocaleString('en-US')} pixels are accepted`,
    );
  }
}

/**
 * SAM resizes the longest side to the encoder's input size (new = floor(old * scale + 0.5)); an
 * image so narrow that its short side would become 0 pixels cannot be segmented (422).
 */
export function checkSamResize(width: number, height: number, inputSize: number): void {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  if (Math.floor((short * inputSize) / long + 0.5) < 1) {
    const needed = Math.ceil(long / (2 * inputSize));
    throw new UnprocessableImage(
      `the image is ${width}x${height} pixels, too narrow to segment: resized to ${inputSize} pixels on its long side its short side would be 0 pixels (it needs at least ${needed})`,
    );
  }
}
