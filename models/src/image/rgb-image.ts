/**
 * In-memory 8-bit images. Pixels are stored row-major, interleaved (HWC): an RGB image of
 * width W and height H holds `data[(y * W + x) * 3 + c]` for channel c in R, G, B.
 */

/** An 8-bit RGB image, HWC interleaved (`data.length === width * height * 3`). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** An 8-bit single-channel image, row-major (`data.length === width * height`). */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`image size must be positive integers, got ${width}x${height}`);
  }
}

/** Makes an RGB image, checking that `data` holds exactly `width * height * 3` bytes. A zeroed buffer is allocated when `data` is omitted. */
export function rgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  checkSize(width, height);
  const n = width * height * 3;
  const d = data ?? new Uint8Array(n);
  if (d.length !== n) {
    throw new Error(`RGB image ${width}x${height} needs ${n} bytes, got ${d.length}`);
  }
  return { width, height, data: d };
}

/** Replicates the gray value into R, G and B (what PIL's `convert('RGB')` does for mode L). */
export function grayToRgb(image: GrayImage): RgbImage {
  const n = image.width * image.height;
  const out = new Uint8Array(n * 3);
  const src = image.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const v = src[i]!;
    out[j] = v;
    out[j + 1] = v;
    out[j + 2] = v;
  }
  return { width: image.width, height: image.height, data: out };
}

/**
 * ITU-R 601-2 luma, `L = (R*299 + G*587 + B*114) / 1000` rounded to nearest, in integer arithmetic
 * as PIL's `convert('L')` computes it (fixed point with 16 fractional bits).
 */
export function rgbToGray(image: RgbImage): GrayImage {
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const src = image.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    // PIL: (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
    out[i] = (src[j]! * 19595 + src[j + 1]! * 38470 + src[j + 2]! * 7471 + 0x8000) >>> 16;
  }
  return { width: image.width, height: image.height, data: out };
}

/**
 * Builds an RGB image from interleaved pixels with `channels` components each (1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA); alpha is dropped, gray is replicated.
 */
export function rgbFromInterleaved(
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  data: ArrayLike<number>,
): RgbImage {
  checkSize(width, height);
  const n = width * height;
  if (data.length !== n * channels) {
    throw new Error(`${width}x${height}x${channels} needs ${n * channels} values, got ${data.length}`);
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    if (channels <= 2) {
      const v = data[s]!;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    } else {
      out[i * 3] = data[s]!;
      out[i * 3 + 1] = data[s + 1]!;
      out[i * 3 + 2] = data[s + 2]!;
    }
  }
  return { width, height, data: out };
}
