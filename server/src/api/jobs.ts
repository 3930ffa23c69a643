/**
 * Fine-tuning jobs in the v1 contract: the body of POST /v1/jobs (dataset filter and
 * hyperparameters with their limits, absurd values refused with a sentence), and the job record
 * that GET /v1/jobs, GET /v1/jobs/:id, POST /v1/jobs/:id/cancel and the events stream answer with.
 * The server validates with these schemas; the admin panel checks its form with the same ones.
 */
import { z } from 'zod';
import { ModelVariantSchema } from './responses.js';

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const FINISHED_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/** Where a running job is: validating the base, training, validating the result, publishing. */
export const JOB_PHASES = ['waiting', 'validating-base', 'training', 'validating-adapter', 'publishing', 'done'] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

/** The hard limits of the hyperparameters (what the server refuses beyond). */
export const HYPERPARAMETER_LIMITS = {
  steps: { min: 1, max: 100_000 },
  batch: { min: 1, max: 64 },
  lr: { above: 0, max: 0.1 },
  clicks: { min: 1, max: 20 },
  seed: { min: 0, max: 2 ** 31 - 1 },
} as const;

const L = HYPERPARAMETER_LIMITS;

/** Validations during a job at most: each costs a pass over the validation images. */
export const MAX_VALIDATIONS = 20;

export const HyperparametersSchema = z
  .object({
    steps: z.number({ error: 'steps must be a whole number' }).int('steps must be a whole number').min(L.steps.min, 'steps must be at least 1').max(L.steps.max, 'steps above 100000 are refused (a job that long would hold the device for days)').default(300),
    batch: z.number({ error: 'batch must be a whole number' }).int('batch must be a whole number').min(L.batch.min, 'batch must be at least 1').max(L.batch.max, 'batch above 64 does not fit in memory on this server'),
    lr: z.number({ error: 'lr must be a number' }).gt(L.lr.above, 'lr must be above 0').max(L.lr.max, 'lr above 0.1 diverges; fine-tuning uses about 1e-4 to 1e-3'),
    clicks: z.number({ error: 'clicks must be a whole number' }).int('clicks must be a whole number').min(L.clicks.min, 'clicks must be at least 1').max(L.clicks.max, 'clicks above 20 are refused (SAM is trained with up to about 10)'),
    seed: z.number({ error: 'seed must be a whole number' }).int('seed must be a whole number').min(L.seed.min, 'seed must not be negative').max(L.seed.max, 'seed must be below 2^31'),
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

/** By default a job validates after every quarter of its steps (four times, the last one after the last step). */
export function defaultValidateEvery(steps: number): number {
  return Math.max(1, Math.ceil(steps / 4));
}

/** What a job trains with, once the server's defaults are filled in. */
export interface Hyperparameters {
  steps: number;
  batch: number;
  lr: number;
  clicks: number;
  seed: number;
  /** Validation Dice is measured every this many steps and after the last one (absent in jobs stored before it existed: the default). */
  validateEvery?: number;
}

export const DEFAULT_STEPS = 300;
export const DEFAULT_HYPERPARAMETERS: Omit<Hyperparameters, 'steps' | 'validateEvery'> = { batch: 4, lr: 1e-4, clicks: 1, seed: 0 };

const DicomDate = z
  .string()
  .regex(/^\d{8}$/, { message: 'must be a date as YYYYMMDD' })
  .refine((d) => {
    if (!/^\d{8}$/.test(d)) return true; // the regex has said it
    const date = new Date(Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8))));
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10).replaceAll('-', '') === d;
  }, { message: 'is not a calendar date' });

const Uid = z
  .string()
  .refine((v) => v.length > 0 && v.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(v), { message: 'must be a DICOM UID (digits and dots, at most 64 characters)' });

/**
 * Which SEG series of the PACS make a dataset: a study date range, a series description (QIDO
 * wildcards * and ?), segment labels or numbers, a list of studies.
 */
export const DatasetFilterSchema = z
  .object({
    /** Study dates, inclusive; either end may be left open. */
    studyDate: z
      .object({ from: DicomDate.optional(), to: DicomDate.optional() })
      .strict()
      .refine((r) => r.from === undefined || r.to === undefined || r.from <= r.to, { message: 'from must not be after to' })
      .optional(),
    /** Series description as QIDO matches it (case-sensitive in Orthanc; * and ? are wildcards). */
    seriesDescription: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[^\\\u0000-\u001f]*$/, { message: 'must not hold backslashes or control characters' })
      .optional(),
    /** Keep only these segments, by label (compared without case and surrounding spaces). */
    segmentLabels: z.array(z.string().trim().min(1).max(64)).min(1).max(100).optional(),
    /** Keep only these segments, by number. */
    segmentNumbers: z.array(z.number().int().min(1).max(65535)).min(1).max(100).optional(),
    /** Look only in these studies. */
    studyInstanceUIDs: z.array(Uid).min(1).max(1000).optional(),
    /** Stop after this many SEG series (default 10000). */
    maxSeries: z.number().int().min(1).max(100000).optional(),
  })
  .strict();
export type DatasetFilter = z.infer<typeof DatasetFilterSchema>;

/** The job-level keys of a PACS dataset next to its filter: the discriminator and the split. */
export const PacsDatasetKeysSchema = z
  .object({
    source: z.literal('pacs').optional(),
    validationFraction: z.number({ error: 'validationFraction must be a number' }).gt(0, 'validationFraction must be above 0').lt(1, 'validationFraction must be below 1').optional(),
  })
  .passthrough();

/** A dataset from the site's PACS: `{ source: 'pacs', ...filter, validationFraction? }`. */
export const PacsDatasetSchema = DatasetFilterSchema.extend({
  source: z.literal('pacs', { error: "source must be 'pacs'" }),
  validationFraction: PacsDatasetKeysSchema.shape.validationFraction,
}).strict();
export type PacsDataset = z.infer<typeof PacsDatasetSchema>;

/** A prepared dataset folder under the server's dataset root. */
export const FolderDatasetSchema = z
  .object({
    source: z.literal('folder').optional(),
    folder: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'folder must be a dataset name under the configured dataset root (letters, digits, . _ -)'),
  })
  .strict();
export type FolderDataset = z.infer<typeof FolderDatasetSchema>;

/**
 * The body of POST /v1/jobs. `dataset` is checked here only as an object: the server's dataset
 * source (picked by its `source` key) validates the rest with its own sentences; a client that
 * builds a PACS dataset checks it with {@link PacsJobRequestSchema}.
 */
export const JobRequestSchema = z
  .object({
    model: z.string().min(1).max(64).optional(),
    variant: z.enum(ModelVariantSchema.options, { error: `variant must be one of ${ModelVariantSchema.options.join(', ')}` }).default('glmedsa'),
    /**
     * Which annotations to train on; its shape belongs to the dataset provider: `{ folder }` for
     * prepared folders, `{ source: 'pacs', ...filter, validationFraction? }` for the PACS's SEGs.
     */
    dataset: z.record(z.string(), z.unknown(), { error: 'dataset must be an object (the filter of the annotations to train on)' }),
    hyperparameters: HyperparametersSchema.default({ steps: DEFAULT_STEPS }),
  })
  .strict();
export type JobRequest = z.infer<typeof JobRequestSchema>;
export type JobRequestInput = z.input<typeof JobRequestSchema>;

/** POST /v1/jobs on the PACS's annotations, checked completely (what the admin panel sends). */
export const PacsJobRequestSchema = JobRequestSchema.extend({ dataset: PacsDatasetSchema });
export type PacsJobRequestInput = z.input<typeof PacsJobRequestSchema>;

export const JobProgressSchema = z.object({
  step: z.number().int().nonnegative(),
  steps: z.number().int().positive(),
  loss: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  imagesPerSecond: z.number().nullable(),
});
export type JobProgress = z.infer<typeof JobProgressSchema>;

export const JobValidationSchema = z.object({
  before: z.number().nullable(),
  now: z.number().nullable(),
  images: z.number().int().nullable(),
  /** The step after which `now` was measured (null until measured; absent in jobs stored before it existed). */
  step: z.number().int().nonnegative().nullable().optional(),
  /** Each validation: the step it followed and its Dice. */
  history: z.array(z.object({ step: z.number().int().nonnegative(), dice: z.number() })).optional(),
});
export type JobValidation = z.infer<typeof JobValidationSchema>;

/** A job as the server remembers it (GET /v1/jobs/:id). */
export const JobRecordSchema = z.object({
  id: z.string(),
  model: z.string(),
  variant: z.string(),
  dataset: z.record(z.string(), z.unknown()),
  hyperparameters: z.object({ steps: z.number().int(), batch: z.number().int(), lr: z.number(), clicks: z.number().int(), seed: z.number().int(), validateEvery: z.number().int().optional() }),
  state: z.enum(JOB_STATES),
  phase: z.enum(JOB_PHASES),
  progress: JobProgressSchema,
  /**
   * Validation Dice of the base model (`before`) and of the weights at the latest validation
   * (`now`, measured after step `step`; 0 is the base model), and every validation so far.
   */
  validation: JobValidationSchema,
  /** Summary of the data the job trains on (from the dataset provider). */
  data: z.record(z.string(), z.unknown()).nullable(),
  /** The adapter version the job published. */
  adapterVersion: z.number().int().positive().nullable(),
  /** Why it failed or was cancelled, in a sentence. */
  reason: z.string().nullable(),
  /** How many times the job was resumed after a server restart (in a cluster: after its trainer stopped). */
  resumes: z.number().int().nonnegative(),
  /** Process id of the child running it (to stop an orphan after a crash). */
  pid: z.number().int().nullable(),
  /** In a cluster: the trainer replica that runs it, or ran it last. */
  replica: z.string().nullable().optional(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  requestedBy: z.string(),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

/** GET /v1/jobs (newest first). */
export const JobListResponseSchema = z.object({ jobs: z.array(JobRecordSchema) });
export type JobListResponse = z.infer<typeof JobListResponseSchema>;

/**
 * GET /v1/jobs/:id/events: server-sent events, each `event: <type>` with the job record as its
 * `data` (JSON): 'state' when the state or phase changes (and first, on connecting), 'progress'
 * for each training step reported, 'end' once the job has finished (then the stream closes).
 */
export const JOB_EVENT_TYPES = ['state', 'progress', 'end'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];
export const JobEventSchema = z.object({ type: z.enum(JOB_EVENT_TYPES), job: JobRecordSchema });
export type JobEvent = z.infer<typeof JobEventSchema>;
