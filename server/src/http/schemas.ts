/** Request bodies of the v1 API, validated with zod (unknown keys are refused, not ignored). */
import { z } from 'zod';

const Uid = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'must be a DICOM UID (digits and dots)');

export const VoiSchema = z
  .object({
    center: z.number().finite(),
    width: z.number().finite().positive('window width must be positive'),
  })
  .strict();

export const ImageRefSchema = z
  .object({
    studyInstanceUID: Uid,
    seriesInstanceUID: Uid,
    sopInstanceUID: Uid,
    frame: z.number().int().min(1).max(100_000).default(1),
    voi: VoiSchema.optional(),
  })
  .strict();

export type ImageRef = z.infer<typeof ImageRefSchema>;

/** Either a PACS image reference or an uploaded image's id. */
export const ImageSpecSchema = z.union([
  ImageRefSchema,
  z.object({ imageId: z.string().regex(/^[0-9a-f]{64}$/, 'must be an id returned by POST /v1/images') }).strict(),
]);

export type ImageSpec = z.infer<typeof ImageSpecSchema>;

const Coord = z.number().finite().min(-1e6).max(1e6);

export function segmentSchema(maxPoints: number) {
  return z
    .object({
      image: ImageSpecSchema,
      model: z.string().max(64).optional(),
      points: z
        .array(
          z
            .object({ x: Coord, y: Coord, label: z.union([z.literal(0), z.literal(1)]) })
            .strict(),
        )
        .max(maxPoints, `at most ${maxPoints} points`)
        .default([]),
      box: z
        .object({ x1: Coord, y1: Coord, x2: Coord, y2: Coord })
        .strict()
        .refine((b) => b.x1 <= b.x2 && b.y1 <= b.y2, 'the box needs x1 <= x2 and y1 <= y2')
        .optional(),
      maskId: z.string().uuid('must be a maskId returned by an earlier segmentation').optional(),
      multimask: z.boolean().optional(),
    })
    .strict()
    .refine((r) => r.points.length > 0 || r.box !== undefined, { message: 'give at least one point or a box', path: ['points'] });
}

export type SegmentRequest = z.infer<ReturnType<typeof segmentSchema>>;

export const EmbeddingRequestSchema = z
  .object({
    image: ImageSpecSchema,
    model: z.string().max(64).optional(),
  })
  .strict();
