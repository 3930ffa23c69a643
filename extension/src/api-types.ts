/**
 * The server's v1 wire format as the browser sees it: request and response shapes of
 * /v1/segment, /v1/embeddings and /v1/models, and the decoding of the row-major run lengths.
 *
 * TEMPORARY: a local copy until the browser-safe API module `@glmedsa/server/api` (issue 7)
 * lands; then these declarations are replaced by imports from it. Source of truth:
 * server/src/http/schemas.ts, server/src/segmentation/service.ts, models/src/preprocess/mask-encoding.ts.
 */

export interface Voi {
  center: number;
  /** Positive. */
  width: number;
}

export interface ImageRef {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  /** 1-based. */
  frame: number;
  voi?: Voi;
}

export interface PromptPoint {
  x: number;
  y: number;
  /** 1 = foreground, 0 = background. */
  label: 0 | 1;
}

export interface PromptBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface SegmentRequest {
  image: ImageRef;
  model?: string;
  points: PromptPoint[];
  box?: PromptBox;
  maskId?: string;
  multimask?: boolean;
}

export interface EncodedMask {
  /** Row-major run lengths starting with a background run. */
  counts: number[];
  bbox: { x1: number; y1: number; x2: number; y2: number } | null;
  area: number;
  /** Predicted IoU. */
  score: number;
}

export interface SegmentResponse {
  maskId: string;
  model: string;
  image: { width: number; height: number };
  masks: EncodedMask[];
  best: number;
  encoding: 'rle-row-major';
  cached: boolean;
  timings: { fetchMs: number; embedMs: number; decodeMs: number; totalMs: number };
}

export interface EmbeddingRequest {
  image: ImageRef;
  model?: string;
}

export interface EmbeddingResponse {
  model: string;
  cached: boolean;
  image: { width: number; height: number };
  timings: { fetchMs: number; embedMs: number };
}

export interface ModelInfo {
  id: string;
  name: string;
  default: boolean;
  variant: string;
  inputSize: number;
  provider: string;
  adapters: unknown[];
  activeAdapter: string | null;
}

export interface ModelsResponse {
  models: ModelInfo[];
}

/** application/problem+json */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
}

/** Decodes row-major run lengths (background first) into 0/1 bytes; throws when the runs do not fill the mask. */
export function decodeRowMajorRle(counts: readonly number[], width: number, height: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n);
  let pos = 0;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k]!;
    if (!Number.isInteger(c) || c < 0 || pos + c > n) throw new Error(`mask run ${k} (${c}) does not fit ${width}x${height}`);
    if (k % 2 === 1) out.fill(1, pos, pos + c);
    pos += c;
  }
  if (pos !== n) throw new Error(`mask runs add up to ${pos}, expected ${n}`);
  return out;
}
