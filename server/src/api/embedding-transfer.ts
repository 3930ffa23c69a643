/**
 * The binary embedding transfer of GET /v1/embeddings/:model and the decoder download of
 * GET /v1/models/:id/decoder (for decoding clicks in the browser). Browser-safe: zod only.
 *
 * The embedding body is the raw little-endian tensor [1, C, E, E] in `X-Embedding-Dtype`
 * (float16 by default, float32 on `?dtype=float32`); the headers below say what it is and which
 * model version made it, so a client can check it against the decoder it holds.
 */
import { z } from 'zod';
import { expects } from './validation.js';

/** Response headers of both downloads (lower case, as fetch's Headers gives them back). */
export const EMBEDDING_HEADERS = {
  shape: 'x-embedding-shape',
  dtype: 'x-embedding-dtype',
  /** The image's original size, "H,W". */
  originalSize: 'x-original-size',
  model: 'x-model',
  /** The encoder input size (the long side the prompts are scaled to). */
  inputSize: 'x-model-input-size',
  /** The served version's weights fingerprint (manifest weights_sha256). */
  weights: 'x-model-weights-sha256',
  /** The active adapter version, or "base". */
  adapterVersion: 'x-adapter-version',
  /** The sha256 of the decoder.onnx that belongs with this embedding. */
  decoderSha256: 'x-decoder-sha256',
} as const;

const UID = 'a DICOM UID (digits and dots, at most 64 characters)';
const Uid = z.string({ error: expects(UID) }).regex(/^[0-9]+(\.[0-9]+)*$/, { error: expects(UID) }).max(64, { error: expects(UID) });
const QueryNumber = (what: string) =>
  z
    .string({ error: expects(what) })
    .regex(/^-?[0-9]+(\.[0-9]+)?$/, { error: expects(what) })
    .transform(Number);

/** The query of GET /v1/embeddings/:model: a PACS image reference or an upload id, flattened. */
export const EmbeddingQuerySchema = z
  .strictObject({
    studyInstanceUID: Uid.optional(),
    seriesInstanceUID: Uid.optional(),
    sopInstanceUID: Uid.optional(),
    frame: QueryNumber('a whole number from 1 to 100000').optional(),
    voiCenter: QueryNumber('a number (the window centre)').optional(),
    voiWidth: QueryNumber('a positive number (the window width)').optional(),
    imageId: z.string({ error: expects('an id returned by POST /v1/images') }).regex(/^[0-9a-f]{64}$/, { error: expects('an id returned by POST /v1/images') }).optional(),
    dtype: z.enum(['float16', 'float32'], { error: expects("'float16' or 'float32'") }).default('float16'),
  })
  .superRefine((q, ctx) => {
    const dicom = q.studyInstanceUID !== undefined || q.seriesInstanceUID !== undefined || q.sopInstanceUID !== undefined;
    if (q.imageId !== undefined && dicom) ctx.addIssue({ code: 'custom', message: 'give either imageId or the DICOM UIDs, not both' });
    if (q.imageId === undefined) {
      for (const k of ['studyInstanceUID', 'seriesInstanceUID', 'sopInstanceUID'] as const) {
        if (q[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: `is required (or give imageId)` });
      }
    }
    if (q.frame !== undefined && (!Number.isInteger(q.frame) || q.frame < 1 || q.frame > 100_000)) ctx.addIssue({ code: 'custom', path: ['frame'], message: 'must be a whole number from 1 to 100000' });
    if ((q.voiCenter === undefined) !== (q.voiWidth === undefined)) ctx.addIssue({ code: 'custom', path: ['voiWidth'], message: 'voiCenter and voiWidth go together' });
    if (q.voiWidth !== undefined && q.voiWidth <= 0) ctx.addIssue({ code: 'custom', path: ['voiWidth'], message: 'must be positive' });
  });

export type EmbeddingQuery = z.infer<typeof EmbeddingQuerySchema>;
export type EmbeddingDtype = EmbeddingQuery['dtype'];

/** The image spec an embedding query names (as POST /v1/segment's `image`). */
export function imageSpecOfQuery(q: EmbeddingQuery):
  | { imageId: string }
  | { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string; frame: number; voi?: { center: number; width: number } } {
  if (q.imageId !== undefined) return { imageId: q.imageId };
  return {
    studyInstanceUID: q.studyInstanceUID!,
    seriesInstanceUID: q.seriesInstanceUID!,
    sopInstanceUID: q.sopInstanceUID!,
    frame: q.frame ?? 1,
    ...(q.voiCenter !== undefined && q.voiWidth !== undefined ? { voi: { center: q.voiCenter, width: q.voiWidth } } : {}),
  };
}

/** The query string for an image spec (the inverse of imageSpecOfQuery). */
export function embeddingQueryOf(
  spec: { imageId: string } | { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string; frame?: number; voi?: { center: number; width: number } | undefined },
  dtype: EmbeddingDtype = 'float16',
): string {
  const q = new URLSearchParams();
  if ('imageId' in spec) q.set('imageId', spec.imageId);
  else {
    q.set('studyInstanceUID', spec.studyInstanceUID);
    q.set('seriesInstanceUID', spec.seriesInstanceUID);
    q.set('sopInstanceUID', spec.sopInstanceUID);
    q.set('frame', String(spec.frame ?? 1));
    if (spec.voi) {
      q.set('voiCenter', String(spec.voi.center));
      q.set('voiWidth', String(spec.voi.width));
    }
  }
  if (dtype !== 'float16') q.set('dtype', dtype);
  return q.toString();
}

// IEEE 754 half precision, round to nearest even (what numpy's astype(float16) does).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> 0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is still right
  return h;
}

function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 values -> little-endian float16 bytes. */
export function encodeFloat16(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, toHalf(values[i]!), true);
  return out;
}

/** Little-endian float16 bytes -> float32 values. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 2) throw new Error(`${bytes.byteLength} bytes are not whole float16 values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = fromHalf(view.getUint16(i * 2, true));
  return out;
}

/** Little-endian float32 bytes -> float32 values (copied, so alignment does not matter). */
export function decodeFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4) throw new Error(`${bytes.byteLength} bytes are not whole float32 values`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
