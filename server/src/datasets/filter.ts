/**
 * Which SEG series of the PACS make a dataset: a study date range, a series description (QIDO
 * wildcards * and ?), segment labels or numbers, a list of studies. The schema is the v1
 * contract's (server/src/api/jobs.ts); a bad filter is an `invalid-request` error naming each field.
 */
import { type DatasetFilter, DatasetFilterSchema } from '../api/jobs.js';
import { DomainError } from '../errors.js';

export { DatasetFilterSchema, type DatasetFilter } from '../api/jobs.js';

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
