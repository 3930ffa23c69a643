/**
 * Click-based evaluation at the images' own resolution: the first click at the centre of the
 * object (the pixel farthest from its border), each next one at the centre of the largest error;
 * SAM's three-mask output (best predicted IoU) for the first click, the single mask with the
 * previous logits as mask prompt afterwards. Dice and IoU at sigmoid 0.5 (logit > 0), per image,
 * averaged; reported after every click count.
 */
import type { RgbImage } from '../image/index.js';
import { maskFromLogits } from '../preprocess/index.js';
import type { SamPredictor } from '../predict/predictor.js';
import type { Tensor } from '../tensor.js';
import { type ProgressSink, silentProgress } from '../util/progress.js';
import { nextErrorClick, regionCentre } from './clicks.js';
import { type Overlap, meanOverlap, overlap } from './metrics.js';

export interface EvalSample {
  image: RgbImage;
  /** Ground truth, 0/1, image size. */
  mask: Uint8Array;
}

export interface EvalResult extends Overlap {
  n: number;
  /** Mean Dice/IoU after 1, 2, ... K clicks. */
  byClicks: Overlap[];
}

/** Segments one image with up to `clicks` simulated clicks; returns the overlap after each. */
export async function evaluateSample(predictor: SamPredictor, sample: EvalSample, clicks: number): Promise<Overlap[]> {
  const { image, mask } = sample;
  const w = image.width;
  const h = image.height;
  const emb = await predictor.encode(image);
  const first = regionCentre(mask, w, h);
  if (!first) throw new Error('an evaluation image has an empty ground-truth mask');
  const points: [number, number][] = [[first.x, first.y]];
  const labels: number[] = [1];
  const results: Overlap[] = [];
  let prev: Tensor<'float32'> | null = null;
  let pred: Uint8Array = new Uint8Array(w * h);
  for (let k = 1; k <= clicks; k++) {
    if (k > 1) {
      const c = nextErrorClick(pred, mask, w, h);
      if (!c) {
        results.push(results[results.length - 1]!); // already perfect
        continue;
      }
      points.push([c.x, c.y]);
      labels.push(c.label);
    }
    const out = await predictor.decode(emb, { points, labels }, { multimask: k === 1, maskInput: prev });
    let best = 0;
    out.iou.forEach((v, i) => {
      if (v > out.iou[best]!) best = i;
    });
    pred = maskFromLogits(out.masks.data.subarray(best * w * h, (best + 1) * w * h));
    const low = out.lowRes.shape[1]! * out.lowRes.shape[2]!;
    prev = { dtype: 'float32', shape: [1, 1, out.lowRes.shape[1]!, out.lowRes.shape[2]!], data: out.lowRes.data.slice(best * low, (best + 1) * low) };
    results.push(overlap(pred, mask));
  }
  return results;
}

export async function evaluate(
  predictor: SamPredictor,
  samples: AsyncIterable<EvalSample> | Iterable<EvalSample>,
  o: { clicks: number; total?: number; progress?: ProgressSink },
): Promise<EvalResult> {
  const progress = o.progress ?? silentProgress;
  const perClick: Overlap[][] = Array.from({ length: o.clicks }, () => []);
  let n = 0;
  for await (const s of samples) {
    const r = await evaluateSample(predictor, s, o.clicks);
    r.forEach((v, i) => perClick[i]!.push(v));
    n++;
    progress({ task: 'evaluate', done: n, total: o.total ?? n });
  }
  const byClicks = perClick.map(meanOverlap);
  return { ...byClicks[o.clicks - 1]!, n, byClicks };
}
