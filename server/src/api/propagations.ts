/**
 * Propagation of a mask through a series in the v1 contract: the body of POST /v1/propagations,
 * the propagation record that GET /v1/propagations/:id answers, and the events of
 * GET /v1/propagations/:id/events. The server validates with these schemas; the viewer uses the
 * same ones.
 */
import { z } from 'zod';
import { expects, objectOf } from './validation.js';
import { BoundingBoxSchema, MASK_ENCODING } from './responses.js';
import { VoiSchema } from './requests.js';

const UID = 'a DICOM UID (digits and dots, at most 64 characters)';
const Uid = z
  .string({ error: expects(UID) })
  .min(1, { error: expects(UID) })
  .max(64, { error: expects(UID) })
  .regex(/^[0-9]+(\.[0-9]+)*$/, { error: expects(UID) });

/** At most this many slices on each side of the seed may be asked for. */
export const MAX_PROPAGATION_SLICES = 100_000;

/**
 * Which way to go from the seed, in the series' own order (slices sorted by their position along
 * the slice normal, the cross product of the row and column directions of Image Orientation
 * Patient): `forward` towards higher positions (for axial slices with the usual orientation,
 * towards the head), `backward` towards lower ones, `both` (the default) both at once.
 */
export const PROPAGATION_DIRECTIONS = ['both', 'forward', 'backward'] as const;
export type PropagationDirection = (typeof PROPAGATION_DIRECTIONS)[number];

const MAX_RUNS = 1_000_000;

/** The seed: the image it is on and its mask, as a maskId of POST /v1/segment or as run lengths. */
export const PropagationSeedSchema = z
  .strictObject(
    {
      sopInstanceUID: Uid,
      frame: z.number({ error: expects('a whole number from 1') }).int({ error: expects('a whole number from 1') }).min(1, { error: expects('a whole number from 1') }).default(1),
      maskId: z.uuid({ error: expects('a maskId returned by POST /v1/segment on this image') }).optional(),
      mask: z
        .strictObject(
          {
            counts: z
              .array(z.number({ error: expects('a whole number of pixels') }).int({ error: expects('a whole number of pixels') }).nonnegative({ error: expects('a whole number of pixels') }), {
                error: expects(`run lengths in the ${MASK_ENCODING} encoding of POST /v1/segment`),
              })
              .min(1, { error: 'must hold at least one run' })
              .max(MAX_RUNS, { error: `must hold at most ${MAX_RUNS} runs` }),
          },
          { error: objectOf(`a mask {counts} in the ${MASK_ENCODING} encoding`) },
        )
        .optional(),
    },
    { error: objectOf('a seed {sopInstanceUID, frame, maskId} or {sopInstanceUID, frame, mask: {counts}}') },
  )
  .refine((s) => (s.maskId === undefined) !== (s.mask === undefined), { message: 'must have either maskId or mask (one of them)', path: ['maskId'] });

/** POST /v1/propagations */
export const PropagationRequestSchema = z.strictObject(
  {
    model: z.string({ error: expects('a model id from GET /v1/models') }).max(64, { error: expects('a model id from GET /v1/models') }).optional(),
    series: z.strictObject(
      { studyInstanceUID: Uid, seriesInstanceUID: Uid },
      { error: objectOf('a series {studyInstanceUID, seriesInstanceUID}') },
    ),
    seed: PropagationSeedSchema,
    direction: z.enum(PROPAGATION_DIRECTIONS, { error: expects(`one of ${PROPAGATION_DIRECTIONS.join(', ')}`) }).default('both'),
    /** At most this many slices on each side of the seed (default: to the ends of the series). */
    maxSlices: z
      .number({ error: expects(`a whole number from 1 to ${MAX_PROPAGATION_SLICES}`) })
      .int({ error: expects(`a whole number from 1 to ${MAX_PROPAGATION_SLICES}`) })
      .min(1, { error: expects(`a whole number from 1 to ${MAX_PROPAGATION_SLICES}`) })
      .max(MAX_PROPAGATION_SLICES, { error: expects(`a whole number from 1 to ${MAX_PROPAGATION_SLICES}`) })
      .optional(),
    /** The window the slices are rendered with (the viewport's; the seed's maskId must have been made with the same). */
    voi: VoiSchema.optional(),
  },
  { error: objectOf('a JSON object {series, seed, model?, direction?, maxSlices?, voi?}') },
);

export const PROPAGATION_STATES = ['queued', 'running', 'succeeded', 'cancelled', 'failed'] as const;
export type PropagationState = (typeof PROPAGATION_STATES)[number];
export const FINISHED_PROPAGATION_STATES: readonly PropagationState[] = ['succeeded', 'cancelled', 'failed'];

/** One slice that holds a mask (the seed's included). */
export const PropagationSliceSchema = z.object({
  sopInstanceUID: z.string(),
  frame: z.number().int().positive(),
  /** Position in the series' order (0: the lowest position along the slice normal). */
  index: z.number().int().nonnegative(),
  /** Position along the slice normal, mm. */
  position: z.number(),
  /** Row-major run lengths (see `decodeMask`), `width` x `height`. */
  counts: z.array(z.number().int().nonnegative()),
  bbox: BoundingBoxSchema,
  area: z.number().int().positive(),
  /** The model's predicted IoU (null for the seed: the user's mask). */
  score: z.number().nullable(),
  /** How the slice was reached: the seed, or going forward or backward from it. */
  from: z.enum(['seed', 'forward', 'backward']),
});

/** Why one direction ended. */
export const PropagationEndSchema = z.object({
  reason: z.enum(['object-ended', 'series-ended', 'max-slices', 'not-asked', 'stopped']),
  /** For object-ended: the test the next slice's mask failed (empty, too-small, low-score, score-drop, unstable, area-jump, no-overlap, shift). */
  cause: z.string().optional(),
  /** The last slice kept in this direction (an index; the seed's when none). */
  last: z.number().int().nonnegative(),
});

const SliceRef = z.object({ sopInstanceUID: z.string(), frame: z.number().int().positive(), index: z.number().int().nonnegative() });

/** A propagation without its slices: what the events stream's 'state' and 'end' events carry. */
export const PropagationSummarySchema = z.object({
  id: z.string(),
  state: z.enum(PROPAGATION_STATES),
  /** Why it failed or was cancelled, in a sentence (null otherwise). */
  reason: z.string().nullable(),
  model: z.string(),
  /** The adapter version it ran with (null: the base model). */
  adapterVersion: z.string().nullable(),
  series: z.object({
    studyInstanceUID: z.string(),
    seriesInstanceUID: z.string(),
    /** Slices in the series (frames, for multi-frame images). */
    slices: z.number().int().positive(),
    /** The slice step along the normal, mm. */
    spacing: z.number(),
    /** Gaps of whole slice steps in the series, skipped over: `count` slices missing after slice `after` (an index). */
    missing: z.array(z.object({ after: z.number().int().nonnegative(), count: z.number().int().positive() })),
  }),
  seed: SliceRef,
  direction: z.enum(PROPAGATION_DIRECTIONS),
  maxSlices: z.number().int().positive().nullable(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  encoding: z.literal(MASK_ENCODING),
  progress: z.object({
    /** Slices decided so far (kept or not), the seed not counted. */
    done: z.number().int().nonnegative(),
    /** Slices holding a mask so far, the seed's included. */
    kept: z.number().int().positive(),
    /** The slice decided last. */
    current: SliceRef.nullable(),
    /** At most this many slices are left (to the ends of the series or maxSlices; the object usually ends sooner). */
    remainingAtMost: z.number().int().nonnegative(),
    slicesPerSecond: z.number().nullable(),
    /** An upper bound of the time left, from remainingAtMost and the rate so far. */
    etaSecondsAtMost: z.number().nullable(),
  }),
  /** Why each direction ended (null while it runs). */
  ended: z.object({ forward: PropagationEndSchema.nullable(), backward: PropagationEndSchema.nullable() }),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

/** GET /v1/propagations/:id (and the answer of POST, with the seed's slice). */
export const PropagationRecordSchema = PropagationSummarySchema.extend({
  /** Every slice that holds a mask, in series order. */
  slices: z.array(PropagationSliceSchema),
});

/**
 * GET /v1/propagations/:id/events: server-sent events. `state` (a summary) first and at every
 * change of state, then one `slice` per slice holding a mask (those decided before connecting
 * first, the seed's among them), `progress` after each slice decided, and `end` (the final
 * summary) once the propagation has finished, after which the stream closes. A client that closes
 * the stream before the end cancels the propagation, unless another client is still watching.
 */
export const PROPAGATION_EVENT_TYPES = ['state', 'slice', 'progress', 'end'] as const;
export type PropagationEventType = (typeof PROPAGATION_EVENT_TYPES)[number];
export const PropagationSliceEventSchema = z.object({ id: z.string(), slice: PropagationSliceSchema });
export const PropagationProgressEventSchema = z.object({ id: z.string(), progress: PropagationSummarySchema.shape.progress });

export type PropagationRequest = z.infer<typeof PropagationRequestSchema>;
export type PropagationRequestInput = z.input<typeof PropagationRequestSchema>;
export type PropagationSlice = z.infer<typeof PropagationSliceSchema>;
export type PropagationEnd = z.infer<typeof PropagationEndSchema>;
export type PropagationSummary = z.infer<typeof PropagationSummarySchema>;
export type PropagationRecord = z.infer<typeof PropagationRecordSchema>;
export type PropagationSliceEvent = z.infer<typeof PropagationSliceEventSchema>;
export type PropagationProgressEvent = z.infer<typeof PropagationProgressEventSchema>;
