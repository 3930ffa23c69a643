/**
 * decodePng's bounds on real files: interlaced images of every shape still decode to the same
 * pixels as their non-interlaced form (so the exact inflated size it allows is right), and one byte
 * of image data more than the header implies is refused before it is kept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateSync, inflateSync } from 'node:zlib';
import { PngDecodeError, Rng, decodePng, encodePng } from '@glmedsa/models';
import { craftPng, interlacedRgbPng } from '../helpers/png-craft.js';

function noise(width: number, height: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rng.next() * 256));
}

test('interlaced PNGs of awkward sizes decode to the pixels of the same image not interlaced', () => {
  for (const [w, h] of [[1, 1], [2, 3], [5, 1], [7, 13], [8, 8], [9, 17], [33, 4]] as const) {
    const rgb = noise(w, h, w * 100 + h);
    const interlaced = decodePng(interlacedRgbPng(w, h, rgb));
    const plain = decodePng(encodePng({ width: w, height: h, data: rgb }));
    assert.deepEqual(interlaced, plain, `${w}x${h}`);
    assert.deepEqual(interlaced.data, rgb);
  }
});

test('interlaced image data one byte longer than its header implies is refused as too large', () => {
  const png = interlacedRgbPng(9, 17, noise(9, 17, 1));
  // Re-compress the same scanlines with one extra byte at the end.
  const idatAt = png.indexOf('IDAT') + 4;
  const length = png.readUInt32BE(idatAt - 8);
  const raw = inflateSync(png.subarray(idatAt, idatAt + length));
  const longer = craftPng({ width: 9, height: 17, interlaced: true }, deflateSync(Buffer.concat([raw, Buffer.of(0)])));
  assert.throws(
    () => decodePng(longer),
    (err: unknown) => err instanceof PngDecodeError && err.problem === 'too-large' && err.message === `the PNG image data decompresses to more than the ${raw.length} bytes a 9x17 image needs`,
  );
});

test('limits are checked from the header alone', () => {
  // No image data at all: the limit refuses it before the data would be looked at.
  const big = craftPng({ width: 5000, height: 5000 }, new Uint8Array(0));
  assert.throws(() => decodePng(big, { maxPixels: 1_000_000 }), (err: unknown) => err instanceof PngDecodeError && err.problem === 'too-large' && /at most 1,000,000 pixels/.test(err.message));
  assert.throws(() => decodePng(big, { maxSide: 4096 }), /each side may be at most 4096 pixels/);
  assert.throws(() => decodePng(big), (err: unknown) => err instanceof PngDecodeError && err.problem === 'corrupt');
});
