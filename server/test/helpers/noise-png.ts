/**
 * A PNG of xorshift noise, `side` x `side` RGB: it does not compress, so decoding and resizing it
 * takes a worker seconds rather than milliseconds (tests of timeouts, shutdown and fairness, and the
 * workers benchmark).
 */
import { encodePng } from '@glmedsa/models';

export function noisePng(side: number, seed = 12345): Uint8Array {
  const data = new Uint8Array(side * side * 3);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  return encodePng({ width: side, height: side, data });
}
