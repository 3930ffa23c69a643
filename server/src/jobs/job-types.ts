/**
 * Fine-tuning jobs: what a caller may ask for (validated with zod, absurd values refused with a
 * sentence) and what the server remembers about each job.
 */
import { VARIANTS } from '@glmedsa/models';
import { z } from 'zod';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/** Where a running job is: validating the base, training, validating the result, publishing. */
export const JOB_PHASES = ['waiting', 'validating-base', 'training', 'validating-adapter', 'publishing', 'done'] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

export const HyperparametersSchema = z
  .object({
    steps: z.number({ error: 'steps must be a whole number' }).int('steps must be a whole number').min(1, 'steps must be at least 1').max(100_000, 'steps above 100000 are refused (a job that long would hold the device for days)').default(300),
    batch: z.number({ error: 'batch must be a whole number' }).int('batch must be a whole number').min(1, 'batch must be at least 1').max(64, 'batch above 64 does not fit in memory on this server'),
    lr: z.number({ error: 'lr must be a number' }).gt(0, 'lr must be above 0').max(0.1, 'lr above 0.1 diverges; fine-tuning uses about 1e-4 to 1e-3'),
    clicks: z.number({ error: 'clicks must be a whole number' }).int('clicks must be a whole number').min(1, 'clicks must be at least 1').max(20, 'clicks above 20 are refused (SAM is trained with up to about 10)'),
    seed: z.number({ error: 'seed must be a whole number' }).int('seed must be a whole number').min(0, 'seed must not be negative').max(2 ** 31 - 1, 'seed must be below 2^31'),
    validateEvery: z.number({ error: 'validateEvery must be a whole number of steps' }).int('validateEvery must be a whole number of steps').min(1, 'validateEvery must be at least 1'),
  })
  .strict()
  .partial({ batch: true, lr: true, clicks: true, seed: true, validateEvery: true })
  .superRefine((hp, ctx) => {
    if (hp.validateEvery === undefined) return;
    const runs = Math.ceil(hp.steps / hp.validateEvery);
    if (runs > MAX_VALIDATIONS) {
      ctx.addIssue({
        code: 'custom',
        path: ['validateEvery'],
        message: `validateEvery ${hp.validateEvery} would validate ${runs} times in ${hp.steps} steps; at most ${MAX_VALIDATIONS} validations are run (validateEvery at least ${Math.ceil(hp.steps / MAX_VALIDATIONS)})`,
      });
    }
  });

/** Validations during a job at most: each costs a pass over the validation images. */
export const MAX_VALIDATIONS = 20;

/** By default a job validates after every quarter of its steps (four times, the last one after the last step). */
export function defaultValidateEvery(steps: number): number {
  return Math.max(1, Math.ceil(steps / 4));
}

export const JobRequestSchema = z
  .object({
    model: z.string().min(1).max(64).optional(),
    variant: z.enum(VARIANTS, { error: `variant must be one of ${VARIANTS.join(', ')}` }).default('glmedsa'),
    /**
     * Which annotations to train on; its shape belongs to the dataset provider: `{ folder }` for
     * prepared folders, `{ source: 'pacs', ...filter, validationFraction? }` for the PACS's SEGs.
     */
    dataset: z.record(z.string(), z.unknown(), { error: 'dataset must be an object (the filter of the annotations to train on)' }),
    hyperparameters: HyperparametersSchema.default({ steps: 300 }),
  })
  .strict();
export type JobRequest = z.infer<typeof JobRequestSchema>;

export interface Hyperparameters {
  steps: number;
  batch: number;
  lr: number;
  clicks: number;
  seed: number;
  /** Validation Dice is measured every this many steps and after the last one (absent in jobs stored before it existed: the default). */
  validateEvery?: number;
}

export const DEFAULT_HYPERPARAMETERS: Omit<Hyperparameters, 'steps' | 'validateEvery'> = { batch: 4, lr: 1e-4, clicks: 1, seed: 0 };

export interface JobProgress {
  step: number;
  steps: number;
  loss: number | null;
  etaSeconds: number | null;
  imagesPerSecond: number | null;
}

export interface JobValidation {
  before: number | null;
  now: number | null;
  images: number | null;
  /** The step after which `now` was measured (null until measured; absent in jobs stored before it existed). */
  step?: number | null;
  /** Each validation: the step it followed and its Dice. */
  history?: { step: number; dice: number }[];
}

export interface JobRecord {
  id: string;
  model: string;
  variant: string;
  dataset: Record<string, unknown>;
  hyperparameters: Hyperparameters;
  state: JobState;
  phase: JobPhase;
  progress: JobProgress;
  /**
   * Validation Dice of the base model (`before`) and of the weights at the latest validation
   * (`now`, measured after step `step`; 0 is the base model), and every validation so far.
   */
  validation: JobValidation;
  /** Summary of the data the job trains on (from the dataset provider). */
  data: Record<string, unknown> | null;
  /** The adapter version the job published. */
  adapterVersion: number | null;
  /** Why it failed or was cancelled, in a sentence. */
  reason: string | null;
  /** How many times the job was resumed after a server restart. */
  resumes: number;
  /** Process id of the child running it (to stop an orphan after a crash). */
  pid: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  requestedBy: string;
}
