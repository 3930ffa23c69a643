/** The api module's decoders (masks, problem codes) against what the server produces. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, encodeRle } from '@glmedsa/models';
import { decodeMask } from '../../src/api/mask.js';
import { problemCode } from '../../src/api/problem.js';

function randomMask(rng: Rng, w: number, h: number, density: number): Uint8Array {
  return Uint8Array.from({ length: w * h }, () => (rng.next() < density ? 1 : 0));
}

test('decodeMask inverts the row-major run-length encoding the server sends', () => {
  const rng = new Rng(7);
  const cases: [number, number, number][] = [
    [1, 1, 0.5],
    [5, 3, 0.5],
    [17, 9, 0.1],
    [32, 32, 0.9],
    [64, 48, 0],
    [64, 48, 1],
  ];
  for (const [w, h, density] of cases) {
    const mask = randomMask(rng, w, h, density);
    const { counts } = encodeRle(mask, w, h, 'row-major');
    assert.deepEqual(decodeMask(counts, w, h), mask, `${w}x${h} at density ${density}`);
  }
  assert.deepEqual([...decodeMask([0, 2, 1, 1], 2, 2)], [1, 1, 0, 1], 'a mask starting with foreground has a 0 background run');
});

test('decodeMask refuses runs that do not fill the mask exactly', () => {
  assert.throws(() => decodeMask([1, 2], 2, 2), /add up to 3 pixels, expected 4/);
  assert.throws(() => decodeMask([1, 4], 2, 2), /more than 2x2/);
  assert.throws(() => decodeMask([1, -1, 4], 2, 2), /non-negative integer/);
  assert.throws(() => decodeMask([1.5, 2.5], 2, 2), /non-negative integer/);
  assert.throws(() => decodeMask([4], 2.5, 2), /non-negative integers/);
});

test('problemCode reads the stable code out of a problem type', () => {
  assert.equal(problemCode({ type: 'urn:glmedsa:problem:pacs-timeout' }), 'pacs-timeout');
  assert.equal(problemCode({ type: 'about:blank' }), null);
});
