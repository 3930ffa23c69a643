/**
 * A SliceSegmenter on a SamPredictor in this process, for the command line and the evaluation:
 * slices come from a SliceSource, their embeddings are kept for the few slices around the fronts
 * (bounded), and slices asked for ahead are encoded one after another in the background.
 */
import type { RgbImage } from '../image/index.js';
import type { ImageEmbedding, SamPredictor } from '../predict/predictor.js';
import { summarizeLogits } from '../preprocess/mask-encoding.js';
import { tensor } from '../tensor.js';
import type { SliceAnswer, SlicePrompt, SliceSegmenter } from './types.js';

/** A stack of slices of one size, read one at a time (a folder of PNGs, a phantom, a DICOM series). */
export interface SliceSource {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  /** The slice as the model sees it (greyscale slices as equal R, G, B). */
  image(index: number): Promise<RgbImage>;
}

export interface PredictorSegmenter extends SliceSegmenter {
  /** Encoder runs so far (a slice evicted and asked for again counts twice). */
  readonly encodes: number;
}

export function predictorSegmenter(predictor: SamPredictor, source: SliceSource, o: { keep?: number } = {}): PredictorSegmenter {
  const keep = Math.max(2, o.keep ?? 8);
  /** index -> its embedding (insertion order is recency order). */
  const embeddings = new Map<number, Promise<ImageEmbedding>>();
  let encodes = 0;
  // One encode at a time: a second session run would only share the same cores.
  let queue: Promise<unknown> = Promise.resolve();
  const embedding = (index: number): Promise<ImageEmbedding> => {
    const hit = embeddings.get(index);
    if (hit) {
      embeddings.delete(index);
      embeddings.set(index, hit);
      return hit;
    }
    const p = queue.then(async () => {
      encodes++;
      return predictor.encode(await source.image(index));
    });
    queue = p.catch(() => undefined);
    p.catch(() => embeddings.delete(index));
    embeddings.set(index, p);
    while (embeddings.size > keep) embeddings.delete(embeddings.keys().next().value!);
    return p;
  };
  return {
    get encodes() {
      return encodes;
    },
    prefetch(indices) {
      for (const i of indices) if (!embeddings.has(i)) void embedding(i).catch(() => undefined);
    },
    async segment(index: number, prompt: SlicePrompt, signal?: AbortSignal): Promise<SliceAnswer> {
      const emb = await embedding(index);
      signal?.throwIfAborted();
      const L = predictor.geometry.lowResSize;
      const pred = await predictor.decode(
        emb,
        { points: prompt.points, labels: prompt.labels, box: prompt.box },
        { multimask: prompt.multimask, maskInput: prompt.maskInput ? tensor('float32', [1, 1, L, L], prompt.maskInput) : null },
      );
      let best = 0;
      pred.iou.forEach((v, i) => {
        if (v > pred.iou[best]!) best = i;
      });
      const [H, W] = emb.originalSize;
      const { counts } = summarizeLogits(pred.masks.data.subarray(best * H * W, (best + 1) * H * W), W, H);
      return { counts, score: pred.iou[best]!, lowRes: pred.lowRes.data.slice(best * L * L, (best + 1) * L * L) };
    },
  };
}
