/**
 * Decoding click prompts against a fetched embedding with any InferenceSession-like object
 * (onnxruntime-web in the browser, or its wasm backend under Node in the tests), building the
 * decoder inputs exactly as the server does and answering what POST /v1/segment answers.
 * No Node or DOM imports: the caller passes the session and a tensor factory.
 */

/** The part of an onnxruntime Tensor used here. */
export interface TensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** The part of an onnxruntime InferenceSession used here. */
export interface SessionLike {
  run(feeds: Record<string, TensorLike>): Promise<Record<string, TensorLike>>;
}

/** `new ort.Tensor('float32', data, dims)`. */
export type MakeTensor = (data: Float32Array, dims: number[]) => TensorLike;

export interface BrowserEmbedding {
  /** [1, C, E, E] as float32. */
  data: Float32Array;
  shape: [number, number, number, number];
  /** The image's original size (H, W). */
  originalSize: [number, number];
  /** The encoder's input size: prompts are scaled so the long side is this. */
  inputSize: number;
}

export interface DecodePrompts {
  points: { x: number; y: number; label: 0 | 1 }[];
  box?: { x1: number; y1: number; x2: number; y2: number } | null;
  /** Low-res logits [L*L] of an earlier decode (its `lowRes`), to refine it. */
  maskInput?: Float32Array | null;
  /** Default as the server: one click, no box, no mask -> SAM's three candidates. */
  multimask?: boolean;
}

export interface DecodedMask {
  counts: number[];
  bbox: { x1: number; y1: number; x2: number; y2: number } | null;
  area: number;
  score: number;
}

export interface DecodeResult {
  image: { width: number; height: number };
  masks: DecodedMask[];
  best: number;
  encoding: 'rle-row-major';
  /** The best mask's low-res logits, to pass back as `maskInput`. */
  lowRes: Float32Array;
  decodeMs: number;
}

/** SAM's resize rule: long side to `longSide`, new = int(old * scale + 0.5). */
function resizedShape(h: number, w: number, longSide: number): [number, number] {
  const scale = longSide / Math.max(h, w);
  return [Math.trunc(h * scale + 0.5), Math.trunc(w * scale + 0.5)];
}

/** point_coords / point_labels as SAM's ONNX decoder expects them. */
export function promptTensors(p: DecodePrompts, originalSize: [number, number], inputSize: number): { coords: Float32Array; labels: Float32Array; n: number } {
  const [H, W] = originalSize;
  const [h, w] = resizedShape(H, W, inputSize);
  const sx = w / W;
  const sy = h / H;
  const coords: number[] = [];
  const labels: number[] = [];
  for (const pt of p.points) {
    coords.push(pt.x * sx, pt.y * sy);
    labels.push(pt.label);
  }
  if (p.box) {
    coords.push(p.box.x1 * sx, p.box.y1 * sy, p.box.x2 * sx, p.box.y2 * sy);
    labels.push(2, 3);
  } else {
    coords.push(0, 0);
    labels.push(-1);
  }
  return { coords: Float32Array.from(coords), labels: Float32Array.from(labels), n: labels.length };
}

/** Run lengths (background first), bbox and area of `logits > 0`, row-major W x H. */
export function summarize(logits: Float32Array, width: number, height: number): Omit<DecodedMask, 'score'> {
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  let area = 0;
  let x1 = width;
  let y1 = height;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const v = logits[i]! > 0 ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        current = v;
        run = 0;
      }
      run++;
      if (v) {
        area++;
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        y2 = y;
      }
    }
  }
  counts.push(run);
  return { counts, bbox: area ? { x1, y1, x2, y2 } : null, area };
}

function floats(t: TensorLike | undefined, name: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`the decoder gave no float32 '${name}' output`);
  return t.data;
}

/** Decodes one prompt set; throws with a readable reason when the inputs or the decoder do not fit. */
export async function decodePrompts(session: SessionLike, tensor: MakeTensor, emb: BrowserEmbedding, p: DecodePrompts): Promise<DecodeResult> {
  const [H, W] = emb.originalSize;
  const E = emb.shape[3];
  const L = 4 * E;
  if (emb.data.length !== emb.shape.reduce((a, b) => a * b, 1)) throw new Error(`the embedding has ${emb.data.length} values, not ${emb.shape.join('x')}`);
  if (p.points.length === 0 && !p.box) throw new Error('give at least one point or a box');
  const mask = p.maskInput ?? null;
  if (mask && mask.length !== L * L) throw new Error(`the previous mask has ${mask.length} values, expected ${L}x${L}`);
  const multimask = p.multimask ?? (p.points.length <= 1 && !p.box && !mask);
  const { coords, labels, n } = promptTensors(p, emb.originalSize, emb.inputSize);
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
  const iouAll = floats(out['iou_predictions'], 'iou_predictions');
  const low = floats(out['low_res_masks'], 'low_res_masks');
  const M = iouAll.length;
  if (masks.length !== M * H * W || low.length !== M * L * L) throw new Error(`the decoder's outputs do not fit a ${W}x${H} image and a ${E}x${E} embedding`);
  // Token 0 is SAM's single-mask output, tokens 1.. its multimask candidates (as the server).
  const [first, count] = multimask ? [1, M - 1] : [0, 1];
  const result: DecodedMask[] = [];
  let best = 0;
  for (let k = 0; k < count; k++) {
    const score = iouAll[first + k]!;
    if (score > iouAll[first + best]!) best = k;
    result.push({ ...summarize(masks.subarray((first + k) * H * W, (first + k + 1) * H * W), W, H), score });
  }
  return {
    image: { width: W, height: H },
    masks: result,
    best,
    encoding: 'rle-row-major',
    lowRes: low.slice((first + best) * L * L, (first + best + 1) * L * L),
    decodeMs,
  };
}
