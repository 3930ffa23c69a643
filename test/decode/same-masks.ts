/** The browser path's answer against the server path's: what "the same masks" means in these tests. */
import assert from 'node:assert/strict';
import { decodeMask } from '@glmedsa/server/api';

/** What both paths answer: the candidates as run lengths with their predicted IoU, and the best one. */
export interface MaskAnswer {
  image: { width: number; height: number };
  masks: { counts: number[]; score: number }[];
  best: number;
}

/** Fraction of pixels on which two masks agree. */
export function agreement(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/**
 * Same image size, number of candidates and best-mask choice; each candidate agrees on 99.9% of
 * the pixels (the browser's embedding is float16, which moves a few border pixels) and its
 * IoU prediction within 0.02.
 */
export function assertSameMasks(server: MaskAnswer, browser: MaskAnswer): void {
  const { width: W, height: H } = server.image;
  assert.deepEqual(browser.image, server.image);
  assert.equal(browser.masks.length, server.masks.length, 'same number of candidate masks');
  assert.equal(browser.best, server.best, 'same best-mask choice');
  for (let k = 0; k < server.masks.length; k++) {
    const s = decodeMask(server.masks[k]!.counts, W, H);
    const b = decodeMask(browser.masks[k]!.counts, W, H);
    const fg = s.reduce((a, v) => a + v, 0);
    assert.ok(fg > 0 || k !== server.best, 'the best server mask is not empty');
    const agree = agreement(s, b);
    assert.ok(agree >= 0.999, `mask ${k}: ${(agree * 100).toFixed(3)}% of pixels agree, need 99.9%`);
    assert.ok(Math.abs(browser.masks[k]!.score - server.masks[k]!.score) < 0.02, `mask ${k}: IoU ${browser.masks[k]!.score} vs ${server.masks[k]!.score}`);
  }
}
