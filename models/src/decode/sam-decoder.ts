/**
 * One decode of SAM's ONNX decoder (the official export's inputs and outputs) against an image's
 * embedding, with any session that has `run(feeds)`: onnxruntime-node's through SamPredictor (the
 * server's worker threads, the CLI, evaluation), onnxruntime-web's in the viewer. The rules live
 * here once: the decoder's feeds, the multimask default, which output tokens are kept, the best
 * mask, and the answer as run lengths.
 *
 * Part of the decode core (`@glmedsa/models/decode`): no Node.js, no DOM.
 */
import { type LogitMaskSummary, summarizeLogits } from './mask-runs.js';
import { type Prompts, type SizeHW, promptInputs } from './prompt-inputs.js';

/** The part of an onnxruntime output tensor read here. */
export interface OutputLike {
  readonly data: unknown;
}

/** The part of an onnxruntime InferenceSession used here; `T` is the session's input tensor type. */
export interface DecoderSession<T> {
  run(feeds: Record<string, T>): Promise<Record<string, OutputLike>>;
}

/** Makes the session's float32 input tensor, e.g. `new ort.Tensor('float32', data, dims)`. */
export type MakeTensor<T> = (data: Float32Array, dims: number[]) => T;

/** One image's embedding as the encoder gave it. */
export interface DecoderEmbedding {
  /** `[1, C, E, E]` as float32. */
  data: Float32Array;
  shape: readonly [number, number, number, number];
  /** The image's original size (H, W). */
  originalSize: SizeHW;
  /** The encoder's input size: prompt coordinates are scaled so the long side is this. */
  inputSize: number;
}

export interface DecodeRequest extends Prompts {
  /** Low-res logits `[L*L]` (L = 4E) of an earlier decode, to refine it. */
  maskInput?: Float32Array | null;
  /** SAM's three candidates instead of one; default {@link multimaskByDefault}. */
  multimask?: boolean;
}

/** The decoder's answer for the kept tokens, as logits. */
export interface DecodedLogits {
  /** Logits at the original size, `count` masks of H x W, row-major (> 0 is foreground). */
  masks: Float32Array;
  /** The predicted IoU of each kept mask. */
  scores: number[];
  /** Low-res logits, `count` masks of L x L, to pass back as `maskInput`. */
  lowRes: Float32Array;
  /** The best mask's index among the kept ones ({@link bestMask}). */
  best: number;
  height: number;
  width: number;
  /** L, the low-res masks' side (4 E). */
  lowResSize: number;
  /** Milliseconds in `session.run`. */
  decodeMs: number;
}

/** The answer the server and the viewer give for a decode: run lengths of every kept mask. */
export interface MaskAnswer {
  masks: (LogitMaskSummary & { score: number })[];
  best: number;
  /** The best mask's low-res logits (a copy), to refine it with the next prompt. */
  lowRes: Float32Array;
  lowResSize: number;
}

/**
 * SAM's default (as its predictor's users, the official demo and OHIF's tools use it): one click,
 * no box and no previous mask are ambiguous, so ask for the three candidates; anything more
 * pins the object down, so ask for one.
 */
export function multimaskByDefault(p: { pointCount: number; box: boolean; maskInput: boolean }): boolean {
  return p.pointCount <= 1 && !p.box && !p.maskInput;
}

/**
 * Which of the decoder's M output tokens are kept, as [first, count]: token 0 is SAM's single-mask
 * output, tokens 1..M-1 its multimask candidates.
 */
export function outputTokens(multimask: boolean, maskTokens: number): [first: number, count: number] {
  return multimask ? [1, maskTokens - 1] : [0, 1];
}

/** The index of the highest predicted IoU (the first one on a tie). */
export function bestMask(scores: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < scores.length; k++) if (scores[k]! > scores[best]!) best = k;
  return best;
}

function floats(t: OutputLike | undefined, name: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`the decoder gave no float32 '${name}' output`);
  return t.data;
}

/** Runs the decoder for one prompt set; throws with a readable reason when the inputs or the decoder's outputs do not fit. */
export async function runDecoder<T>(session: DecoderSession<T>, tensor: MakeTensor<T>, emb: DecoderEmbedding, req: DecodeRequest): Promise<DecodedLogits> {
  const [H, W] = emb.originalSize;
  const E = emb.shape[3];
  const L = 4 * E;
  if (emb.data.length !== emb.shape.reduce((a, b) => a * b, 1)) throw new Error(`the embedding has ${emb.data.length} values, not ${emb.shape.join('x')}`);
  const { coords, labels, n } = promptInputs(req, emb.originalSize, emb.inputSize);
  const mask = req.maskInput ?? null;
  if (mask && mask.length !== L * L) throw new Error(`mask input must be [1, 1, ${L}, ${L}] low-res logits, got ${mask.length} values`);
  const multimask = req.multimask ?? multimaskByDefault({ pointCount: req.points?.length ?? 0, box: !!req.box, maskInput: !!mask });
  const t0 = performance.now();
  const out = await session.run({
    image_embeddings: tensor(emb.data, [...emb.shape]),
    point_coords: tensor(coords, [1, n, 2]),
    point_labels: tensor(labels, [1, n]),
    mask_input: tensor(mask ?? new Float32Array(L * L), [1, 1, L, L]),
    has_mask_input: tensor(Float32Array.of(mask ? 1 : 0), [1]),
    orig_im_size: tensor(Float32Array.of(H, W), [2]),
  });
  const decodeMs = performance.now() - t0;
  const masks = floats(out['masks'], 'masks');
  const iou = floats(out['iou_predictions'], 'iou_predictions');
  const low = floats(out['low_res_masks'], 'low_res_masks');
  const M = iou.length;
  if (masks.length !== M * H * W || low.length !== M * L * L) throw new Error(`the decoder's outputs do not fit a ${W}x${H} image and a ${E}x${E} embedding`);
  const [first, count] = outputTokens(multimask, M);
  const scores = Array.from(iou.subarray(first, first + count));
  return {
    masks: masks.subarray(first * H * W, (first + count) * H * W),
    scores,
    lowRes: low.subarray(first * L * L, (first + count) * L * L),
    best: bestMask(scores),
    height: H,
    width: W,
    lowResSize: L,
    decodeMs,
  };
}

/** The decoded masks as run lengths with their scores, the best one, and the best one's low-res logits. */
export function maskAnswer(d: DecodedLogits): MaskAnswer {
  const { height: H, width: W, lowResSize: L, best } = d;
  return {
    masks: d.scores.map((score, k) => ({ ...summarizeLogits(d.masks.subarray(k * H * W, (k + 1) * H * W), W, H), score })),
    best,
    lowRes: d.lowRes.slice(best * L * L, (best + 1) * L * L),
    lowResSize: L,
  };
}
