/**
 * Decoding the masks POST /v1/segment returns (`encoding: 'rle-row-major'`): `counts` alternate
 * background and foreground run lengths over the pixels in reading order (row by row), starting
 * with a background run (0 when the first pixel is foreground), and add up to width * height.
 */

/** The mask as 0/1 bytes, row-major `width x height`; throws when the runs do not fill it exactly. */
export function decodeMask(counts: readonly number[], width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new Error(`mask size must be non-negative integers, got ${width}x${height}`);
  }
  const n = width * height;
  const out = new Uint8Array(n);
  let pos = 0;
  for (let k = 0; k < counts.length; k++) {
    const count = counts[k]!;
    if (!Number.isInteger(count) || count < 0) throw new Error(`run ${k} must be a non-negative integer, got ${count}`);
    if (pos + count > n) throw new Error(`the runs add up to more than ${width}x${height} pixels`);
    if (k % 2 === 1) out.fill(1, pos, pos + count);
    pos += count;
  }
  if (pos !== n) throw new Error(`the runs add up to ${pos} pixels, expected ${n} (${width}x${height})`);
  return out;
}
