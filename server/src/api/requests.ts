/** Request bodies of the v1 API, validated with zod (unknown keys are refused, not ignored). */
import { z } from 'zod';
import { expects, objectOf } from './validation.js';

const MAX_FRAME = 100_000;
const UID = 'a DICOM UID (digits and dots, at most 64 characters)';
const FRAME = `a whole number from 1 to ${MAX_FRAME}`;
const COORD = 'a number of image pixels from -1000000 to 1000000';

const Uid = z
  .string({ error: expects(UID) })
  .min(1, { error: expects(UID) })
  .max(64, { error: expects(UID) })
  .regex(/^[0-9]+(\.[0-9]+)*$/, { error: expects(UID) });

/** A window (VOI) to render a DICOM frame with, as the viewport shows it. */
export const VoiSchema = z.strictObject(
  {
    center: z.number({ error: expects('a number (the window centre)') }).finite({ error: expects('a finite number') }),
    width: z.number({ error: expects('a positive number (the window width)') }).finite({ error: expects('a finite number') }).positive({ error: expects('a positive number (the window width)') }),
  },
  { error: objectOf('a window {center, width}') },
);

/** A frame of a PACS instance. */
export const ImageRefSchema = z.strictObject(
  {
    studyInstanceUID: Uid,
    seriesInstanceUID: Uid,
    sopInstanceUID: Uid,
    frame: z
      .number({ error: expects(FRAME) })
      .int({ error: expects(FRAME) })
      .min(1, { error: expects(FRAME) })
      .max(MAX_FRAME, { error: expects(FRAME) })
      .default(1),
    voi: VoiSchema.optional(),
  },
  { error: objectOf('an image reference {studyInstanceUID, seriesInstanceUID, sopInstanceUID, frame}') },
);

/** An image uploaded with POST /v1/images. */
export const UploadRefSchema = z.strictObject(
  { imageId: z.string({ error: expects('an id returned by POST /v1/images') }).regex(/^[0-9a-f]{64}$/, { error: expects('an id returned by POST /v1/images') }) },
  { error: objectOf('an uploaded image {imageId}') },
);

/** Either a PACS image reference or an uploaded image's id. */
export const ImageSpecSchema = z.union([ImageRefSchema, UploadRefSchema], {
  error: expects('a PACS image {studyInstanceUID, seriesInstanceUID, sopInstanceUID, frame} or an uploaded image {imageId}'),
});

const Coord = z
  .number({ error: expects(COORD) })
  .finite({ error: expects(COORD) })
  .min(-1e6, { error: expects(COORD) })
  .max(1e6, { error: expects(COORD) });

/** A click: image pixel coordinates (x right, y down) and 1 for foreground, 0 for background. */
export const PointSchema = z.strictObject(
  { x: Coord, y: Coord, label: z.literal([0, 1], { error: expects('1 (include) or 0 (exclude)') }) },
  { error: objectOf('a point {x, y, label}') },
);

export const BoxSchema = z
  .strictObject({ x1: Coord, y1: Coord, x2: Coord, y2: Coord }, { error: objectOf('a box {x1, y1, x2, y2}') })
  .refine((b) => b.x1 <= b.x2 && b.y1 <= b.y2, 'must have x1 <= x2 and y1 <= y2');

const ModelId = z.string({ error: expects('a model id from GET /v1/models') }).max(64, { error: expects('a model id from GET /v1/models') });

/** The body of POST /v1/segment; the server's limit on points is a parameter. */
export function segmentRequestSchema(maxPoints: number) {
  return z
    .strictObject(
      {
        image: ImageSpecSchema,
        model: ModelId.optional(),
        points: z
          .array(PointSchema, { error: expects('a list of points {x, y, label}') })
          .max(maxPoints, { error: `must have at most ${maxPoints} points` })
          .default([]),
        box: BoxSchema.optional(),
        maskId: z.uuid({ error: expects('a maskId returned by an earlier segmentation') }).optional(),
        multimask: z.boolean({ error: expects('true or false') }).optional(),
      },
      { error: objectOf('a JSON object {image, points, box?, maskId?, model?, multimask?}') },
    )
    .refine((r) => r.points.length > 0 || r.box !== undefined, { message: 'must not be empty: give at least one point or a box', path: ['points'] });
}

/** The body of POST /v1/embeddings. */
export const EmbeddingRequestSchema = z.strictObject(
  {
    image: ImageSpecSchema,
    model: ModelId.optional(),
  },
  { error: objectOf('a JSON object {image, model?}') },
);

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
