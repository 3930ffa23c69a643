/** Request bodies of the v1 API, validated with zod (unknown keys are refused, not ignored). */
import { z } from 'zod';

const Uid = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a DICOM UID (digits and dots)');

/** A window (VOI) to render a DICOM frame with, as the viewport shows it. */
export const VoiSchema = z
  .object({
    center: z.number().finite(),
    width: z.number().finite().positive('window width must be positive'),
  })
  .strict();

/** A frame of a PACS instance. */
export const ImageRefSchema = z
  .object({
    studyInstanceUID: Uid,
    seriesInstanceUID: Uid,
    sopInstanceUID: Uid,
    frame: z.number().int().min(1).max(100_000).default(1),
    voi: VoiSchema.optional(),
  })
  .strict();

/** An image uploaded with POST /v1/images. */
export const UploadRefSchema = z.object({ imageId: z.string().regex(/^[0-9a-f]{64}$/, 'must be an id returned by POST /v1/images') }).strict();

/** Either a PACS image reference or an uploaded image's id. */
export const ImageSpecSchema = z.union([ImageRefSchema, UploadRefSchema]);

const Coord = z.number().finite().min(-1e6).max(1e6);

/** A click: image pixel coordinates (x right, y down) and 1 for foreground, 0 for background. */
export const PointSchema = z.object({ x: Coord, y: Coord, label: z.union([z.literal(0), z.literal(1)]) }).strict();

export const BoxSchema = z
  .object({ x1: Coord, y1: Coord, x2: Coord, y2: Coord })
  .strict()
  .refine((b) => b.x1 <= b.x2 && b.y1 <= b.y2, 'the box needs x1 <= x2 and y1 <= y2');

/** The body of POST /v1/segment; the server's limit on points is a parameter. */
export function segmentRequestSchema(maxPoints: number) {
  return z
    .object({
      image: ImageSpecSchema,
      model: z.string().max(64).optional(),
      points: z.array(PointSchema).max(maxPoints, `at most ${maxPoints} points`).default([]),
      box: BoxSchema.optional(),
      maskId: z.string().uuid('must be a maskId returned by an earlier segmentation').optional(),
      multimask: z.boolean().optional(),
    })
    .strict()
    .refine((r) => r.points.length > 0 || r.box !== undefined, { message: 'give at least one point or a box', path: ['points'] });
}

/** The body of POST /v1/embeddings. */
export const EmbeddingRequestSchema = z
  .object({
    image: ImageSpecSchema,
    model: z.string().max(64).optional(),
  })
  .strict();

export type Voi = z.infer<typeof VoiSchema>;
export type ImageRef = z.infer<typeof ImageRefSchema>;
export type UploadRef = z.infer<typeof UploadRefSchema>;
export type ImageSpec = z.infer<typeof ImageSpecSchema>;
export type Point = z.infer<typeof PointSchema>;
export type Box = z.infer<typeof BoxSchema>;
/** A validated segment request (defaults applied). */
export type SegmentRequest = z.infer<ReturnType<typeof segmentRequestSchema>>;
/** What a client may send (defaults not yet applied). */
export type SegmentRequestInput = z.input<ReturnType<typeof segmentRequestSchema>>;
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;
export type EmbeddingRequestInput = z.input<typeof EmbeddingRequestSchema>;
