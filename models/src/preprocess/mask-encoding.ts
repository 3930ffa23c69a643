/**
 * Compact encodings of binary masks (row-major `width x height` bytes; any non-zero byte is
 * foreground; decoders return 0/1 bytes).
 *
 * Run-length encoding, uncompressed: `counts` alternates background and foreground run lengths and
 * always starts with a background run (which is 0 when the first pixel is foreground); the counts
 * add up to `width * height`. Two pixel orders:
 * - `'row-major'` (the default, the project's convention for the server and browsers): pixels in
 *   reading order, row by row, the same order as the mask bytes;
 * - `'column-major'`: column by column (Fortran order), which is COCO's uncompressed RLE
 *   (`{size: [h, w], counts}` as pycocotools' `frPyObjects`/`decode` use it).
 *
 * Bit packing: 8 pixels per byte in row-major order, most significant bit first (numpy's
 * `packbits(mask, bitorder='big')`), the last byte zero-filled, then base64.
 */

import { base64ToBytes, bytesToBase64 } from './base64.js';

/** Pixel order of a run-length encoding. */
export type RleOrder = 'row-major' | 'column-major';

/** An uncompressed run-length encoded mask. */
export interface MaskRle {
  /** (height, width), COCO's order. */
  readonly size: readonly [height: number, width: number];
  /** Alternating background/foreground run lengths, starting with background. */
  readonly counts: number[];
  /** The pixel order the runs follow. */
  readonly order: RleOrder;
}

function checkMask(mask: Uint8Array, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new Error(`mask size must be non-negative integers, got ${width}x${height}`);
  }
  if (mask.length !== width * height) throw new Error(`mask of ${mask.length} bytes does not fit ${width}x${height}`);
}

/** Run-length encodes a row-major mask in the given pixel order (default row-major). */
export function encodeRle(mask: Uint8Array, width: number, height: number, order: RleOrder = 'row-major'): MaskRle {
  checkMask(mask, width, height);
  const counts: number[] = [];
  const n = width * height;
  let current = 0; // value of the run being counted; runs start with background
  let run = 0;
  for (let i = 0; i < n; i++) {
    const at = order === 'row-major' ? i : (i % height) * width + Math.floor(i / height);
    const v = mask[at] ? 1 : 0;
    if (v !== current) {
      counts.push(run);
      current = v;
      run = 0;
    }
    run++;
  }
  counts.push(run);
  return { size: [height, width], counts, order };
}

/** Decodes a run-length encoding to a row-major mask of 0/1 bytes; checks that the runs fill the mask. */
export function decodeRle(rle: MaskRle): Uint8Array {
  const [height, width] = rle.size;
  const n = width * height;
  const out = new Uint8Array(n);
  let pos = 0;
  rle.counts.forEach((count, k) => {
    if (!Number.isInteger(count) || count < 0) throw new Error(`RLE count ${k} must be a non-negative integer, got ${count}`);
    if (pos + count > n) throw new Error(`RLE counts add up to more than ${width}x${height} pixels`);
    if (k % 2 === 1) {
      if (rle.order === 'row-major') {
        out.fill(1, pos, pos + count);
      } else {
        for (let i = pos; i < pos + count; i++) out[(i % height) * width + Math.floor(i / height)] = 1;
      }
    }
    pos += count;
  });
  if (pos !== n) throw new Error(`RLE counts add up to ${pos}, expected ${n} (${width}x${height})`);
  return out;
}

/** Packs a mask's pixels 8 per byte (row-major, MSB first; non-zero is 1) and returns base64. */
export function packBits(mask: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(mask.length / 8));
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) out[i >> 3]! |= 0x80 >> (i & 7);
  }
  return bytesToBase64(out);
}

/** Unpacks `length` pixels from `packBits`'s base64 into 0/1 bytes. */
export function unpackBits(base64: string, length: number): Uint8Array {
  const bytes = base64ToBytes(base64);
  if (bytes.length !== Math.ceil(length / 8)) {
    throw new Error(`${bytes.length} packed bytes do not hold ${length} pixels (need ${Math.ceil(length / 8)})`);
  }
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  return out;
}

/** Logits straight to row-major runs: the decode core's (the server and the browser encode masks with it). */
export { type LogitMaskSummary, summarizeLogits } from '../decode/mask-runs.js';
