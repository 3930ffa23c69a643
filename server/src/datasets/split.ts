/**
 * Train/validation split by patient: every sample of one patient (or, without a PatientID, of
 * one study) lands on the same side. Patients are ordered by a hash of (seed, key), so the split
 * depends only on the seed and the set of patients, not on the order the PACS answered in.
 */
import { createHash } from 'node:crypto';

export interface SplitOptions {
  /** Share of patients for validation, 0..1 (default 0.2). */
  readonly validationFraction?: number;
  readonly seed?: number;
}

interface Split<T> {
  readonly train: T[];
  readonly validation: T[];
  readonly trainPatients: string[];
  readonly validationPatients: string[];
}

/** The key a sample is split by: its patient, else its study. */
export function patientKey(patientID: string, studyInstanceUID: string): string {
  return patientID.trim() !== '' ? `patient:${patientID.trim()}` : `study:${studyInstanceUID}`;
}

/**
 * Splits `items` so no key is on both sides. With two or more patients and a fraction above 0,
 * validation gets at least one patient and train keeps at least one.
 */
export function splitByPatient<T>(items: readonly T[], keyOf: (item: T) => string, options: SplitOptions = {}): Split<T> {
  const fraction = options.validationFraction ?? 0.2;
  const seed = options.seed ?? 0;
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`the validation fraction must be in 0..1, got ${fraction}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`the seed must be an integer, got ${seed}`);
  const keys = [...new Set(items.map(keyOf))];
  const rank = (key: string): string => createHash('sha256').update(`${seed}\u0000${key}`).digest('hex');
  keys.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
  let n = Math.round(fraction * keys.length);
  if (fraction > 0 && keys.length >= 2) n = Math.min(Math.max(n, 1), keys.length - 1);
  const validationPatients = new Set(keys.slice(0, n));
  const train: T[] = [];
  const validation: T[] = [];
  for (const item of items) (validationPatients.has(keyOf(item)) ? validation : train).push(item);
  return { train, validation, trainPatients: keys.slice(n).sort(), validationPatients: [...validationPatients].sort() };
}
