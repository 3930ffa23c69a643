/**
 * Decoding click prompts in the browser against a fetched embedding, with any InferenceSession-like
 * object (onnxruntime-web in the viewer, or its wasm backend under Node in the tests). The decode
 * rules (prompt scaling, padding point, multimask default, kept tokens, best mask, run lengths) are
 * the decode core's, `@glmedsa/models/decode`, which the server's workers run too; this file only
 * turns the viewer's prompts into the core's and its answer into POST /v1/segment's shape.
 * No Node or DOM imports: the caller passes the session and a tensor factory.
 */
import { type DecoderEmbedding, type DecoderSession, type MakeTensor as CoreMakeTensor, type MaskAnswer, maskAnswer, runDecoder } from '@glmedsa/models/decode';

/** The part of an onnxruntime Tensor used here. */
interface TensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** The part of an onnxruntime InferenceSession used here. */
export type SessionLike = DecoderSession<TensorLike>;

/** `new ort.Tensor('float32', data, dims)`. */
export type MakeTensor = CoreMakeTensor<TensorLike>;

/** An image's embedding as the server sent it: `[1, C, E, E]`, its original size and the encoder's input size. */
export type BrowserEmbedding = DecoderEmbedding;

export interface DecodePrompts {
  points: { x: number; y: number; label: 0 | 1 }[];
  box?: { x1: number; y1: number; x2: number; y2: number } | null;
  /** Low-res logits [L*L] of an earlier decode (its `lowRes`), to refine it. */
  maskInput?: Float32Array | null;
  /** Default as the server: one click, no box, no mask -> SAM's three candidates. */
  multimask?: boolean;
}

interface DecodeResult {
  image: { width: number; height: number };
  masks: MaskAnswer['masks'];
  best: number;
  encoding: 'rle-row-major';
  /** The best mask's low-res logits, to pass back as `maskInput`. */
  lowRes: Float32Array;
  decodeMs: number;
}

/** Decodes one prompt set; throws with a readable reason when the inputs or the decoder do not fit. */
export async function decodePrompts(session: SessionLike, tensor: MakeTensor, emb: BrowserEmbedding, p: DecodePrompts): Promise<DecodeResult> {
  const decoded = await runDecoder(session, tensor, emb, {
    points: p.points.map((pt) => [pt.x, pt.y] as const),
    labels: p.points.map((pt) => pt.label),
    box: p.box ? [p.box.x1, p.box.y1, p.box.x2, p.box.y2] : null,
    maskInput: p.maskInput ?? null,
    multimask: p.multimask,
  });
  const { masks, best, lowRes } = maskAnswer(decoded);
  return { image: { width: decoded.width, height: decoded.height }, masks, best, encoding: 'rle-row-major', lowRes, decodeMs: decoded.decodeMs };
}
