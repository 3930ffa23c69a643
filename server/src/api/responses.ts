/** Response bodies of the v1 API: the server builds them to these types, clients may validate them. */
import { z } from 'zod';

/** The model variants (which adapters the image encoder carries). */
export const ModelVariantSchema = z.enum(['sam', 'medsa', 'gmedsa', 'glmedsa']);

export const ModelInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The model used when a request names none. */
  default: z.boolean(),
  variant: ModelVariantSchema,
  /** Encoder input size (pixels, square). */
  inputSize: z.number().int().positive(),
  embedding: z.object({ channels: z.number().int(), size: z.number().int() }),
  parameterCounts: z.object({
    total: z.number().int(),
    encoder: z.number().int(),
    local_adapter: z.number().int(),
    global_adapter: z.number().int(),
    prompt_encoder: z.number().int(),
    decoder: z.number().int(),
  }),
  weightsSha256: z.string(),
  source: z.object({
    checkpoint: z.string().optional(),
    preset: z.string().optional(),
    initialized_adapters: z.number().int().nonnegative(),
    adapter: z.string().optional(),
  }),
  /** Where the model runs: 'cuda' or 'cpu'. */
  provider: z.string(),
  adapters: z.array(z.unknown()),
  activeAdapter: z.string().nullable(),
});

/** GET /v1/models */
export const ModelsResponseSchema = z.object({ models: z.array(ModelInfoSchema) });

/** POST /v1/images (201) */
export const ImageUploadResponseSchema = z.object({
  imageId: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  mediaType: z.enum(['image/png', 'image/jpeg']),
});

const Size = z.object({ width: z.number().int().positive(), height: z.number().int().positive() });

/** POST /v1/embeddings */
export const EmbeddingResponseSchema = z.object({
  model: z.string(),
  /** True when the embedding was already in the cache. */
  cached: z.boolean(),
  image: Size,
  timings: z.object({ fetchMs: z.number(), embedMs: z.number() }),
});

/** Inclusive pixel bounds of a mask's foreground. */
export const BoundingBoxSchema = z.object({ x1: z.number().int(), y1: z.number().int(), x2: z.number().int(), y2: z.number().int() });

/** One candidate mask, run-length encoded (see `decodeMask`). */
export const EncodedMaskSchema = z.object({
  /** Row-major run lengths, alternating background and foreground, starting with background. */
  counts: z.array(z.number().int().nonnegative()),
  /** Null for an empty mask. */
  bbox: BoundingBoxSchema.nullable(),
  /** Foreground pixels. */
  area: z.number().int().nonnegative(),
  /** The model's predicted IoU. */
  score: z.number(),
});

/** The only mask encoding v1 answers with. */
export const MASK_ENCODING = 'rle-row-major' as const;

/** POST /v1/segment */
export const SegmentResponseSchema = z.object({
  /** Send it back as `maskId` to refine this mask with more clicks. */
  maskId: z.string(),
  /**
   * Present when the request's maskId could not be used and the prompts alone were segmented: it
   * was made under another adapter version of the model, or (in a cluster) it is unknown to the
   * replica that answered (the one that made it has left or restarted).
   */
  maskDropped: z.enum(['adapter version changed', 'mask unknown to this replica']).optional(),
  model: z.string(),
  /** The adapter version that made these masks ("base": none), as the embedding downloads' x-adapter-version says. */
  adapterVersion: z.string().optional(),
  image: Size,
  masks: z.array(EncodedMaskSchema).min(1),
  /** Index of the mask with the highest predicted IoU. */
  best: z.number().int().nonnegative(),
  encoding: z.literal(MASK_ENCODING),
  cached: z.boolean(),
  timings: z.object({ fetchMs: z.number(), embedMs: z.number(), decodeMs: z.number(), totalMs: z.number() }),
});

export type ModelVariant = z.infer<typeof ModelVariantSchema>;
export type ModelInfo = z.infer<typeof ModelInfoSchema>;
export type ModelsResponse = z.infer<typeof ModelsResponseSchema>;
export type ImageUploadResponse = z.infer<typeof ImageUploadResponseSchema>;
export type EmbeddingResponse = z.infer<typeof EmbeddingResponseSchema>;
export type BoundingBox = z.infer<typeof BoundingBoxSchema>;
export type EncodedMask = z.infer<typeof EncodedMaskSchema>;
export type SegmentResponse = z.infer<typeof SegmentResponseSchema>;
