/** Overlap metrics of binary masks (0/1 bytes), with empty-vs-empty counted as a perfect match. */

export interface Overlap {
  dice: number;
  iou: number;
}

export function overlap(pred: Uint8Array, gt: Uint8Array): Overlap {
  if (pred.length !== gt.length) throw new Error(`mask sizes differ: ${pred.length} vs ${gt.length}`);
  let inter = 0;
  let p = 0;
  let g = 0;
  for (let i = 0; i < gt.length; i++) {
    const a = pred[i] ? 1 : 0;
    const b = gt[i] ? 1 : 0;
    inter += a & b;
    p += a;
    g += b;
  }
  if (p + g === 0) return { dice: 1, iou: 1 };
  return { dice: (2 * inter) / (p + g), iou: inter / (p + g - inter) };
}

export function meanOverlap(items: Overlap[]): Overlap {
  if (!items.length) return { dice: NaN, iou: NaN };
  return {
    dice: items.reduce((s, o) => s + o.dice, 0) / items.length,
    iou: items.reduce((s, o) => s + o.iou, 0) / items.length,
  };
}
