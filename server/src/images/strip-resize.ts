/**
 * SAM's resize (the longest side to the encoder's input size, Pillow's bilinear filter, bit for
 * bit) fed a strip of rows at a time, so a large image is never held whole: Pillow resamples
 * horizontally first, each row on its own, then vertically; each strip's rows are resized
 * horizontally as they arrive (`resizeRgb` on the strip alone, height unchanged), kept at the
 * output's width, and the vertical pass runs once at the end. Memory: height x output width x 3.
 * The result equals `resizeLongestSide` on the whole image, except for images over 100 times
 * taller than wide, which Pillow resizes vertically first ({@link stripResizable} says which).
 */
import { type RgbImage, preprocessShape, resizeRgb } from '@glmedsa/models';

/** Whether an image of this size can be resized by strips with the same result as a whole-image resize. */
export function stripResizable(width: number, height: number): boolean {
  return height <= width * 100;
}

export class StripResizer {
  readonly outHeight: number;
  readonly outWidth: number;
  private readonly rows: Uint8Array;
  private filled = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    longSide: number,
  ) {
    if (!stripResizable(width, height)) throw new Error(`a ${width}x${height} image is resized vertically first; resize it whole`);
    [this.outHeight, this.outWidth] = preprocessShape(height, width, longSide);
    this.rows = new Uint8Array(height * this.outWidth * 3);
  }

  /** The next `count` rows, top to bottom (`rgb` holds at least `count * width * 3` bytes). */
  push(rgb: Uint8Array, count: number): void {
    if (this.filled + count > this.height) throw new Error(`more than the ${this.height} rows of the image`);
    const strip = { width: this.width, height: count, data: rgb.subarray(0, count * this.width * 3) };
    this.rows.set(resizeRgb(strip, count, this.outWidth).data, this.filled * this.outWidth * 3);
    this.filled += count;
  }

  /** The resized image, once every row was pushed. */
  finish(): RgbImage {
    if (this.filled !== this.height) throw new Error(`${this.filled} of the ${this.height} rows were given`);
    return resizeRgb({ width: this.outWidth, height: this.height, data: this.rows }, this.outHeight, this.outWidth);
  }
}
