/**
 * Adapter versions in the v1 contract: GET /v1/models/:id/adapters and the answers of
 * POST /v1/models/:id/adapters/:version/activate (activation and rollback) and
 * POST /v1/models/:id/adapters/deactivate, which all describe the model's versions after the call.
 */
import { z } from 'zod';

/** Validation Dice of the base model ('before') and of the version ('after') on the job's validation images. */
export const AdapterMetricsSchema = z.object({
  validation: z.object({ before: z.number().nullable(), after: z.number().nullable(), images: z.number().int().nullable() }),
  train: z.object({ dice: z.number(), iou: z.number() }).partial().optional(),
});
export type AdapterMetrics = z.infer<typeof AdapterMetricsSchema>;

/** One published version of a model's adapters. */
export const AdapterInfoSchema = z.object({
  version: z.number().int().positive(),
  active: z.boolean(),
  variant: z.string(),
  baseWeightsSha256: z.string(),
  /** False when it was trained on other base weights than the ones served (activation is refused). */
  compatible: z.boolean(),
  parameters: z.number().int().nonnegative(),
  data: z.record(z.string(), z.unknown()),
  metrics: AdapterMetricsSchema,
  training: z.record(z.string(), z.unknown()),
  /** The job that published it. */
  job: z.string(),
  createdAt: z.string(),
});
export type AdapterInfo = z.infer<typeof AdapterInfoSchema>;

/** GET /v1/models/:id/adapters, and the answer of activate / deactivate: the versions, oldest first. */
export const AdapterListResponseSchema = z.object({
  model: z.string(),
  /** The version served (null: the base model). */
  active: z.number().int().positive().nullable(),
  adapters: z.array(AdapterInfoSchema),
});
export type AdapterListResponse = z.infer<typeof AdapterListResponseSchema>;

/** The answer of POST /v1/models/:id/adapters/:version/activate. */
export const ActivateResponseSchema = AdapterListResponseSchema;
export type ActivateResponse = AdapterListResponse;
