/**
 * Training data from the site's PACS: `{ "source": "pacs", ...filter }` finds SEG series over
 * QIDO with the datasets module's filter, decodes them, splits them by patient and writes the
 * `glmedsa-dataset` folders into the job's own folder (JOB/dataset/{train,validation}, written
 * atomically). A resumed job reuses the folder it already wrote, so it trains on the same images.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PacsDatasetKeysSchema as PacsJobKeys } from '../api/jobs.js';
import type { DicomWebClient } from '../dicom/dicomweb-client.js';
import { buildPacsDataset, DATASET_SUMMARY, parseDatasetFilter, writePacsDatasetFolder, type DatasetSummary, type Skipped } from '../datasets/index.js';
import { InvalidRequest } from '../errors.js';
import type { DatasetProvider, PreparedDataset } from './dataset-provider.js';

/** The folder name under the job's work folder. */
const PACS_DATASET_DIR = 'dataset';

/** How a skip appears in a job's summary (the reason, the sentence, where). */
type SkipSummary = Pick<Skipped, 'reason' | 'message'> & Record<string, unknown>;

interface PacsJobSummary extends Record<string, unknown> {
  source: 'pacs';
  filter: Record<string, unknown>;
  train: number;
  validation: number;
  trainPatients: number;
  validationPatients: number;
  skipped: SkipSummary[];
}

function split(input: Record<string, unknown>): { filter: Record<string, unknown>; validationFraction: number | undefined } {
  const keys = PacsJobKeys.safeParse(input);
  if (!keys.success) {
    throw new InvalidRequest(`the dataset is not valid: ${keys.error.issues.map((i) => `${i.path.join('.') || 'dataset'}: ${i.message}`).join('; ')}`);
  }
  const { source: _source, validationFraction, ...filter } = keys.data;
  return { filter, validationFraction };
}

function summarise(s: DatasetSummary): PacsJobSummary {
  return {
    source: 'pacs',
    filter: s.filter as Record<string, unknown>,
    train: s.train.items.length,
    validation: s.validation.items.length,
    trainPatients: s.train.patients.length,
    validationPatients: s.validation.patients.length,
    skipped: s.skipped.map((k) => ({ ...k })),
  };
}

export class PacsDatasetProvider implements DatasetProvider {
  constructor(private readonly client: DicomWebClient) {}

  /** A malformed filter is a 400 naming each field (the datasets module's sentences). */
  async check(input: Record<string, unknown>): Promise<void> {
    parseDatasetFilter(split(input).filter);
  }

  async prepare(input: Record<string, unknown>, workDir: string): Promise<PreparedDataset> {
    const { filter, validationFraction } = split(input);
    const dir = path.join(workDir, PACS_DATASET_DIR);
    let written: DatasetSummary;
    if (existsSync(path.join(dir, DATASET_SUMMARY))) {
      written = JSON.parse(await readFile(path.join(dir, DATASET_SUMMARY), 'utf8')) as DatasetSummary;
    } else {
      const dataset = await buildPacsDataset(this.client, filter, validationFraction === undefined ? {} : { validationFraction });
      if (dataset.samples.length === 0) {
        const why = dataset.seriesExamined === 0 ? 'no SEG series in the PACS matches the filter' : `none of the ${dataset.seriesExamined} SEG series matching the filter gave a usable mask (${reasons(dataset.skipped)})`;
        throw new Error(`the data set is empty: ${why}`);
      }
      if (dataset.train.length === 0 || dataset.validation.length === 0) {
        throw new Error(
          `the data set cannot be split: its ${dataset.samples.length} image(s) belong to ${dataset.trainPatients.length + dataset.validationPatients.length} patient(s), and training and validation each need a patient of their own`,
        );
      }
      written = await writePacsDatasetFolder(this.client, dataset, dir);
    }
    return { train: path.join(dir, written.train.dir), validation: path.join(dir, written.validation.dir), summary: summarise(written) };
  }
}

function reasons(skipped: readonly Skipped[]): string {
  const counts = new Map<string, number>();
  for (const s of skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} skipped as ${r}`).join(', ') || 'nothing was decodable';
}
