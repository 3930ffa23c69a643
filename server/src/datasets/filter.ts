/**
 * Which SEG series of the PACS make a dataset: a study date range, a series description (QIDO
 * wildcards * and ?), segment labels or numbers, a list of studies. Validated with zod; a bad
 * filter is an `invalid-request` error naming each field.
 */
import { z } from 'zod';
import { isValidUid } from '../dicom/image-ref.js';
import { DomainError } from '../errors.js';

const DicomDate = z
  .string()
  .regex(/^\d{8}$/, { message: 'must be a date as YYYYMMDD' })
  .refine((d) => {
    if (!/^\d{8}$/.test(d)) return true; // the regex has said it
    const date = new Date(Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8))));
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10).replaceAll('-', '') === d;
  }, { message: 'is not a calendar date' });

const Uid = z.string().refine(isValidUid, { message: 'must be a DICOM UID (digits and dots, at most 64 characters)' });

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

/** The filter does not validate. */
export class InvalidDatasetFilter extends DomainError {
  constructor(fields: Record<string, string>) {
    const summary = Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ');
    super('invalid-request', `The dataset filter is not valid: ${summary}.`, { code: 'invalid-dataset-filter', fields });
  }
}

/** Validates a filter (from JSON); throws {@link InvalidDatasetFilter}. */
export function parseDatasetFilter(input: unknown): DatasetFilter {
  const result = DatasetFilterSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const key = issue.path.length > 0 ? issue.path.join('.') : 'filter';
    fields[key] ??= issue.message;
  }
  throw new InvalidDatasetFilter(fields);
}

/** QIDO match keys of the filter's study date range ('' when there is none). */
export function studyDateQuery(filter: DatasetFilter): string {
  const { from, to } = filter.studyDate ?? {};
  if (from === undefined && to === undefined) return '';
  return `${from ?? ''}-${to ?? ''}`;
}
