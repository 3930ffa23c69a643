/**
 * Where a job's training data comes from: a dataset filter -> a `glmedsa-dataset` v1 folder for
 * training, one for validation, and a summary. Two sources: prepared folders (`{ "folder": "site-b" }`)
 * and the site's PACS (`{ "source": "pacs", ...filter }`, SEG series found over QIDO);
 * {@link DatasetSources} picks one by the `source` key.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FolderDatasetSchema } from '../api/jobs.js';
import { InvalidRequest } from '../errors.js';

export interface PreparedDataset {
  /** Folder the model trains on. */
  train: string;
  /** Folder the base model and the adapter are validated on (no image of `train`). */
  validation: string;
  /** What the data is, for the job and the adapter manifest (counts, sources, what was skipped). */
  summary: Record<string, unknown>;
}

export interface DatasetProvider {
  /** Checks a filter at submission time (a 400 with a sentence when it cannot be used). */
  check(filter: Record<string, unknown>): Promise<void>;
  /** Produces the folders for a job; `workDir` is the job's own folder, for providers that write data. */
  prepare(filter: Record<string, unknown>, workDir: string): Promise<PreparedDataset>;
}

const FolderFilter = FolderDatasetSchema.omit({ source: true });

async function countItems(dir: string): Promise<number> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { count?: unknown; items?: unknown[] };
  return Array.isArray(manifest.items) ? manifest.items.length : Number(manifest.count ?? 0);
}

/**
 * Prepared dataset folders under a root: `{ "folder": "site-b" }` is ROOT/site-b/train and
 * ROOT/site-b/validation, each a `glmedsa-dataset` v1 folder (e.g. from `glmedsa synth`).
 */
export class FolderDatasetProvider implements DatasetProvider {
  constructor(private readonly root: string) {}

  private folders(filter: Record<string, unknown>): { name: string; train: string; validation: string } {
    const parsed = FolderFilter.safeParse(filter);
    if (!parsed.success) {
      throw new InvalidRequest(`the dataset filter is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'dataset'}: ${i.message}`).join('; ')}`);
    }
    const dir = path.join(this.root, parsed.data.folder);
    const train = path.join(dir, 'train');
    const validation = path.join(dir, 'validation');
    for (const [what, d] of [['training', train], ['validation', validation]] as const) {
      if (!existsSync(path.join(d, 'manifest.json'))) {
        throw new InvalidRequest(`dataset '${parsed.data.folder}' has no ${what} data (expected a dataset folder at ${path.basename(dir)}/${path.basename(d)})`);
      }
    }
    return { name: parsed.data.folder, train, validation };
  }

  async check(filter: Record<string, unknown>): Promise<void> {
    const f = this.folders(filter);
    if ((await countItems(f.train)) === 0) throw new InvalidRequest(`dataset '${f.name}' has no training images`);
    if ((await countItems(f.validation)) === 0) throw new InvalidRequest(`dataset '${f.name}' has no validation images`);
  }

  async prepare(filter: Record<string, unknown>): Promise<PreparedDataset> {
    const f = this.folders(filter);
    const [trainCount, validationCount] = await Promise.all([countItems(f.train), countItems(f.validation)]);
    return { train: f.train, validation: f.validation, summary: { source: 'folder', name: f.name, train: trainCount, validation: validationCount } };
  }
}

/** The dataset sources a job may name; `source` picks one ('folder' when absent and `folder` is given, else 'pacs'). */
type DatasetSourceName = 'folder' | 'pacs';

/** Picks the provider by the filter's `source`; a source the server has no provider for is a 400. */
export class DatasetSources implements DatasetProvider {
  constructor(private readonly providers: Partial<Record<DatasetSourceName, DatasetProvider>>) {}

  private pick(filter: Record<string, unknown>): { provider: DatasetProvider; filter: Record<string, unknown> } {
    const { source, ...rest } = filter;
    const name = source ?? ('folder' in filter ? 'folder' : 'pacs');
    if (name !== 'folder' && name !== 'pacs') throw new InvalidRequest(`the dataset source must be 'folder' or 'pacs', not ${JSON.stringify(name)}`, { 'dataset.source': 'unknown source' });
    const provider = this.providers[name];
    if (!provider) throw new InvalidRequest(`this server has no '${name}' dataset source configured`, { 'dataset.source': 'not configured' });
    // The folder provider's filter is strict; the PACS provider reads its own `source`.
    return { provider, filter: name === 'folder' ? rest : filter };
  }

  check(filter: Record<string, unknown>): Promise<void> {
    const p = this.pick(filter);
    return p.provider.check(p.filter);
  }

  prepare(filter: Record<string, unknown>, workDir: string): Promise<PreparedDataset> {
    const p = this.pick(filter);
    return p.provider.prepare(p.filter, workDir);
  }
}
