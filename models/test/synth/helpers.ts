/** Image statistics for the phantom tests: luminance, connected components, holes, rings. */
import type { RgbImage } from '../../src/image/rgb-image.js';

/** Rec. 601 luma per pixel, 0..255. */
export function luminance(image: RgbImage): Float32Array {
  const n = image.width * image.height;
  const out = new Float32Array(n);
  const d = image.data;
  for (let i = 0; i < n; i++) out[i] = 0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!;
  return out;
}

/** Sizes of the 4-connected components of the pixels where `on(i)` holds, largest first. */
export function componentSizes(w: number, h: number, on: (i: number) => boolean): number[] {
  const seen = new Uint8Array(w * h);
  const sizes: number[] = [];
  const stack: number[] = [];
  for (let s = 0; s < w * h; s++) {
    if (seen[s] || !on(s)) continue;
    let size = 0;
    seen[s] = 1;
    stack.push(s);
    while (stack.length) {
      const i = stack.pop()!;
      size++;
      const x = i % w;
      const y = (i - x) / w;
      const next = [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1];
      for (const j of next) {
        if (j >= 0 && !seen[j] && on(j)) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
    sizes.push(size);
  }
  return sizes.sort((a, b) => b - a);
}

/** Number of background pixels enclosed by the mask (not 4-connected to the image border through background). */
export function holePixels(mask: Uint8Array, w: number, h: number): number {
  const outside = new Uint8Array(w * h);
  const stack: number[] = [];
  for (let x = 0; x < w; x++) stack.push(x, (h - 1) * w + x);
  for (let y = 0; y < h; y++) stack.push(y * w, y * w + w - 1);
  while (stack.length) {
    const i = stack.pop()!;
    if (outside[i] || mask[i]) continue;
    outside[i] = 1;
    const x = i % w;
    const y = (i - x) / w;
    if (x > 0) stack.push(i - 1);
    if (x < w - 1) stack.push(i + 1);
    if (y > 0) stack.push(i - w);
    if (y < h - 1) stack.push(i + w);
  }
  let holes = 0;
  for (let i = 0; i < w * h; i++) if (!mask[i] && !outside[i]) holes++;
  return holes;
}

/** Chessboard distance of every pixel to the nearest mask pixel (0 on the mask), capped at `cap`. */
export function distanceToMask(mask: Uint8Array, w: number, h: number, cap: number): Uint8Array {
  const d = new Uint8Array(w * h).fill(cap);
  let frontier: number[] = [];
  for (let i = 0; i < w * h; i++) if (mask[i]) {
    d[i] = 0;
    frontier.push(i);
  }
  for (let step = 1; step < cap && frontier.length; step++) {
    const next: number[] = [];
    for (const i of frontier) {
      const x = i % w;
      const y = (i - x) / w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const j = yy * w + xx;
          if (d[j]! > step) {
            d[j] = step;
            next.push(j);
          }
        }
      }
    }
    frontier = next;
  }
  return d;
}

/** The mask eroded by `r` pixels (chessboard): pixels whose distance to the background exceeds r. */
export function erode(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const inv = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) inv[i] = mask[i] ? 0 : 1;
  const d = distanceToMask(inv, w, h, r + 2);
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const x = i % w;
    const y = (i - x) / w;
    const border = Math.min(x + 1, y + 1, w - x, h - y);
    out[i] = mask[i] && d[i]! > r && border > r ? 1 : 0;
  }
  return out;
}

export function mean(values: ArrayLike<number>, where?: (i: number) => boolean): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    if (where && !where(i)) continue;
    s += values[i]!;
    n++;
  }
  return n ? s / n : NaN;
}
