/**
 * A series as a volume, read from the PACS: every instance's metadata in one WADO-RS request, the
 * frames' geometry checked and ordered (geometry.ts), and per instance only what fetching and
 * decoding its frames needs. Kept for a while (a radiologist propagates several lesions through
 * one series), bounded in count.
 */
import { Lru } from '../cache/lru.js';
import { type DicomJsonDataset, TAGS, stringValue } from '../dicom/dicom-json.js';
import type { DicomWebClient } from '../dicom/dicomweb-client.js';
import { PacsNotFound } from '../dicom/errors.js';
import { NotFound } from '../errors.js';
import { NotAVolume, type SeriesVolume, sortVolume } from './geometry.js';
import { framesOf, isImage, pixelModuleOf } from './series-frames.js';

interface SeriesRef {
  studyInstanceUID: string;
  seriesInstanceUID: string;
}

export interface LoadedSeries extends SeriesVolume {
  ref: SeriesRef;
  /** Per SOP instance UID: the attributes needed to fetch and decode its frames. */
  pixelModules: ReadonlyMap<string, DicomJsonDataset>;
}

export class SeriesReader {
  private readonly cache: Lru<LoadedSeries>;

  constructor(
    private readonly client: DicomWebClient,
    o: { entries?: number; ttlMs?: number } = {},
  ) {
    this.cache = new Lru<LoadedSeries>({ maxSize: o.entries ?? 16, ttlMs: o.ttlMs ?? 5 * 60_000 });
  }

  /**
   * The series' volume (one request per series however many ask at once, kept for a while).
   * @throws NotFound (no such series), NotAVolume (422 with the reason), PACS errors
   */
  async read(ref: SeriesRef, signal?: AbortSignal): Promise<LoadedSeries> {
    const key = `${ref.studyInstanceUID}/${ref.seriesInstanceUID}`;
    return (await this.cache.getOrLoad(key, () => this.load(ref, signal))).value;
  }

  private async load(ref: SeriesRef, signal?: AbortSignal): Promise<LoadedSeries> {
    let datasets: DicomJsonDataset[];
    try {
      datasets = await this.client.getSeriesMetadata(ref.studyInstanceUID, ref.seriesInstanceUID, { signal });
    } catch (err) {
      if (err instanceof PacsNotFound) throw notFound(ref);
      throw err;
    }
    // Some archives answer an unknown series with an empty list, or list other series' objects.
    datasets = datasets.filter((d) => (stringValue(d, TAGS.SeriesInstanceUID) ?? ref.seriesInstanceUID) === ref.seriesInstanceUID);
    if (datasets.length === 0) throw notFound(ref);
    const images = datasets.filter(isImage);
    if (images.length === 0) {
      const kinds = [...new Set(datasets.map((d) => stringValue(d, TAGS.Modality) ?? 'unknown'))].join('/');
      throw new NotAVolume('no-images', `The series holds no images (it holds ${datasets.length} ${kinds} object${datasets.length > 1 ? 's' : ''}), so there is nothing to propagate through.`);
    }
    const volume = sortVolume(images.flatMap(framesOf));
    const pixelModules = new Map<string, DicomJsonDataset>();
    for (const d of images) pixelModules.set(stringValue(d, TAGS.SOPInstanceUID) ?? '', pixelModuleOf(d));
    return { ...volume, ref: { ...ref }, pixelModules };
  }
}

function notFound(ref: SeriesRef): NotFound {
  return new NotFound(`series ${ref.seriesInstanceUID} of study ${ref.studyInstanceUID} is not in the PACS`);
}
