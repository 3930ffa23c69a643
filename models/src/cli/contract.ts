/**
 * What the glmedsa command promises a parent process (the server's job runner): the exit
 * statuses, the JSON lines of `glmedsa train --events` and the JSON of `glmedsa eval --json`.
 * The commands write these shapes and a parent parses with these schemas, so the two sides cannot
 * drift apart; a test holds the real command's output to them.
 *
 * JSON has no NaN or Infinity (JSON.stringify writes null): a figure of a run that diverged
 * arrives as null, so the figures here are numbers or null.
 */
import { z } from 'zod';

/** Exit statuses of the glmedsa command. */
export const CLI_EXIT = {
  ok: 0,
  /** The command failed; its last line on stderr says why. */
  failed: 1,
  /** The arguments were wrong (stderr says which). */
  usage: 2,
  /** `train` was stopped by SIGTERM or SIGINT after writing its checkpoint; `--resume` continues it. */
  cancelled: 3,
} as const;

/** A measured figure as it crosses JSON: null where the run produced NaN or an infinity. */
const figure = z.number().nullable();
const count = z.number().int().nonnegative();

/** Validation figures of a run (train/training-progress.ts ValidationMetrics, as JSON). */
const ValidationFiguresSchema = z.strictObject({ dice: figure, iou: figure, n: count });

/** `{"type":"progress",...}`: train/training-progress.ts TrainProgress after every step. */
const TrainProgressEventSchema = z.strictObject({
  type: z.literal('progress'),
  step: count,
  steps: count,
  loss: figure,
  smoothedLoss: figure,
  trainDice: figure,
  trainIou: figure,
  lr: figure,
  elapsedSeconds: figure,
  etaSeconds: figure,
  imagesPerSecond: figure,
  checkpointed: z.boolean(),
  validation: ValidationFiguresSchema.optional(),
});

/** `{"type":"done","out":DIR,...}`: the adapter is written; the rest is the run's TrainResult. */
const TrainDoneEventSchema = z.looseObject({ type: z.literal('done'), out: z.string() });

/** `{"type":"cancelled","step":N}`: stopped by a signal, the checkpoint holds N steps. */
const TrainCancelledEventSchema = z.strictObject({ type: z.literal('cancelled'), step: count });

/** One line of `glmedsa train --events`. */
export const TrainEventSchema = z.discriminatedUnion('type', [TrainProgressEventSchema, TrainDoneEventSchema, TrainCancelledEventSchema]);
export type TrainEvent = z.infer<typeof TrainEventSchema>;

/** The one line of `glmedsa eval --json`: mean Dice and IoU over n images (null when n is 0). */
export const EvalSummarySchema = z.strictObject({ dice: figure, iou: figure, n: count });
export type EvalSummary = z.infer<typeof EvalSummarySchema>;
