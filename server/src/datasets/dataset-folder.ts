/**
 * Writes a {@link PacsDataset} as `glmedsa-dataset` v1 folders the trainer reads (models'
 * `datasetSource`): `DIR/train/` and `DIR/validation/`, each with manifest.json, images/*.png
 * (the frame rendered exactly as the server renders it for segmentation: `renderForSam` with the
 * image's default window) and masks/*.png, plus `DIR/dataset.json` (the filter, the PACS
 * reference of every item, the patients of each side, and what was skipped and why).
 *
 * Everything is written into a temporary sibling folder that is renamed to DIR at the end, so DIR
 * either does not exist or is complete; an existing DIR is never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeMaskPng, writePng, type DatasetManifest } from '@glmedsa/models';
import type { DicomWebClient, RequestOptions } from '../dicom/dicomweb-client.js';
import { loadFrame } from '../dicom/image-source.js';
import { renderForSam } from '../dicom/pixels.js';
import type { PacsDataset, PacsSample, Skipped } from './pacs-dataset.js';

export const DATASET_SUMMARY = 'dataset.json';

interface WriteDatasetOptions extends RequestOptions {
  /** The manifests' `site` (default `pacs`). */
  readonly site?: string | undefined;
}

/** What dataset.json records of one item. */
interface SummaryItem {
  readonly id: string;
  readonly image: PacsSample['image'];
  readonly patientKey: string;
  readonly seg: PacsSample['seg'];
  readonly lesionPixels: number;
}

export interface DatasetSummary {
  readonly format: 'glmedsa-pacs-dataset';
  readonly version: 1;
  readonly createdAt: string;
  readonly filter: PacsDataset['filter'];
  readonly train: { readonly dir: 'train'; readonly patients: readonly string[]; readonly items: readonly SummaryItem[] };
  readonly validation: { readonly dir: 'validation'; readonly patients: readonly string[]; readonly items: readonly SummaryItem[] };
  readonly skipped: readonly Skipped[];
}

/**
 * Fetches and renders every sample's image and writes the folders; returns the summary.
 * @throws when `dir` exists, or a PACS/decoding error of an image (nothing is left behind then)
 */
export async function writePacsDatasetFolder(client: DicomWebClient, dataset: PacsDataset, dir: string, options: WriteDatasetOptions = {}): Promise<DatasetSummary> {
  const target = path.resolve(dir);
  if (await exists(target)) throw new Error(`${target} already exists; a dataset folder is never overwritten (choose a new folder)`);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temp = `${target}.partial-${randomBytes(6).toString('hex')}`;
  try {
    const train = await writeSide(client, dataset.train, path.join(temp, 'train'), options);
    const validation = await writeSide(client, dataset.validation, path.join(temp, 'validation'), options);
    const summary: DatasetSummary = {
      format: 'glmedsa-pacs-dataset',
      version: 1,
      createdAt: new Date().toISOString(),
      filter: dataset.filter,
      train: { dir: 'train', patients: dataset.trainPatients, items: train },
      validation: { dir: 'validation', patients: dataset.validationPatients, items: validation },
      skipped: dataset.skipped,
    };
    await fs.writeFile(path.join(temp, DATASET_SUMMARY), `${JSON.stringify(summary, null, 2)}\n`);
    await fs.rename(temp, target);
    return summary;
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    throw error;
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

async function writeSide(client: DicomWebClient, samples: readonly PacsSample[], dir: string, options: WriteDatasetOptions): Promise<SummaryItem[]> {
  await fs.mkdir(path.join(dir, 'images'), { recursive: true });
  await fs.mkdir(path.join(dir, 'masks'), { recursive: true });
  const items: DatasetManifest['items'] = [];
  const summary: SummaryItem[] = [];
  for (const [index, sample] of samples.entries()) {
    options.signal?.throwIfAborted();
    const loaded = await loadFrame(client, sample.image, sample.image.frame, { signal: options.signal });
    const rgb = renderForSam(loaded.pixels);
    if (rgb.width !== sample.width || rgb.height !== sample.height) {
      throw new Error(`image ${sample.image.sopInstanceUID} decoded as ${rgb.width}x${rgb.height}, its mask is ${sample.width}x${sample.height}`);
    }
    const id = String(index).padStart(6, '0');
    const item = { id, image: `images/${id}.png`, mask: `masks/${id}.png`, lesion_pixels: sample.mask.reduce((n, v) => n + v, 0) };
    await writePng(path.join(dir, item.image), rgb);
    await writeMaskPng(path.join(dir, item.mask), sample.mask, sample.width, sample.height);
    items.push(item);
    summary.push({ id, image: sample.image, patientKey: sample.patientKey, seg: sample.seg, lesionPixels: item.lesion_pixels });
  }
  // The format knows two kinds of images; grey DICOM frames are CT-like, colour ones photo-like.
  const kind = samples.length > 0 && samples.every((s) => s.samplesPerPixel === 3) ? 'dermoscopy' : 'ct';
  const manifest: DatasetManifest = { format: 'glmedsa-dataset', version: 1, kind, site: options.site ?? 'pacs', size: null, seed: null, count: items.length, items };
  await fs.writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return summary;
}
