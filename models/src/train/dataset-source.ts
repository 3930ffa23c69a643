/**
 * A dataset folder (synth/dataset.ts format) as a source of training or evaluation samples: the
 * items whose mask holds a lesion (slices of a labelled volume without one are left out; the
 * per-structure evaluation and pre-training read those through their labels).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadDatasetItem, readDataset } from '../synth/dataset.js';
import type { EvalSample } from './evaluate.js';
import type { SampleSource } from './samples.js';

export async function datasetSource(dir: string, limit?: number): Promise<SampleSource & { samples(): AsyncIterable<EvalSample> }> {
  const dataset = await readDataset(dir);
  const withLesion = dataset.items.filter((item) => item.lesion_pixels > 0);
  const items = limit ? withLesion.slice(0, limit) : withLesion;
  const manifestText = await readFile(path.join(dir, 'manifest.json'));
  const fingerprint = createHash('sha256').update(manifestText).update(String(items.length)).digest('hex');
  return {
    count: items.length,
    fingerprint,
    description: `${path.basename(path.resolve(dir))}: ${items.length} ${dataset.kind} images, site ${dataset.site}`,
    load: (i: number) => loadDatasetItem(dataset, items[i]!),
    async *samples() {
      for (const item of items) yield await loadDatasetItem(dataset, item);
    },
  };
}
