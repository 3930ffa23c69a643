/**
 * A training dataset from the PACS's own annotations: SEG series found over QIDO, each SEG read
 * and decoded into one mask per referenced image frame (the chosen segments merged), checked
 * against the image it refers to, then split by patient. Everything left out is reported with
 * the reason, in a sentence.
 */
import { TAGS, values, type DicomJsonDataset } from '../dicom/dicom-json.js';
import type { DicomWebClient, RequestOptions } from '../dicom/dicomweb-client.js';
import { DicomError, PacsNotFound } from '../dicom/errors.js';
import type { ImageRef } from '../dicom/image-ref.js';
import { isValidUid } from '../dicom/image-ref.js';
import { readPixelModule } from '../dicom/pixel-module.js';
import { parseDatasetFilter, studyDateQuery, type DatasetFilter } from './filter.js';
import { readSegObject, SegDecodeError, SEG_SOP_CLASSES, type SegObject, type SegSegment } from './seg-object.js';
import { patientKey, splitByPatient, type SplitOptions } from './split.js';

/** One training sample: an image frame in the PACS and its mask. */
export interface PacsSample {
  readonly image: ImageRef;
  readonly width: number;
  readonly height: number;
  /** 0/1 per pixel, row-major width x height. */
  readonly mask: Uint8Array;
  readonly patientID: string;
  readonly studyInstanceUID: string;
  /** What the split groups by: `patient:<PatientID>`, or `study:<uid>` without one. */
  readonly patientKey: string;
  /** The SEG it came from and the segments in the mask. */
  readonly seg: { readonly seriesInstanceUID: string; readonly sopInstanceUID: string; readonly segmentNumbers: readonly number[] };
  /** Samples per pixel of the image (1 grey, 3 colour). */
  readonly samplesPerPixel: number;
}

const SKIP_REASONS = [
  'not-seg',
  'unreadable-seg',
  'fractional',
  'no-matching-segment',
  'unreferenced-frame',
  'missing-image',
  'size-mismatch',
  'empty-mask',
  'pacs-error',
] as const;
type SkipReason = (typeof SKIP_REASONS)[number];

/** Something left out of the dataset, and why. */
export interface Skipped {
  readonly reason: SkipReason;
  /** A sentence saying what and why. */
  readonly message: string;
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID?: string | undefined;
  /** The referenced image frame, for per-image skips. */
  readonly image?: { readonly sopInstanceUID: string; readonly frame: number } | undefined;
}

export interface PacsDataset {
  readonly filter: DatasetFilter;
  readonly samples: readonly PacsSample[];
  readonly train: readonly PacsSample[];
  readonly validation: readonly PacsSample[];
  readonly trainPatients: readonly string[];
  readonly validationPatients: readonly string[];
  readonly skipped: readonly Skipped[];
  /** SEG series looked at. */
  readonly seriesExamined: number;
}

interface BuildDatasetOptions extends RequestOptions, SplitOptions {
  /** Called after each SEG series. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

function first(ds: DicomJsonDataset, tag: string): string {
  const v = values(ds, tag)[0];
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object' && v !== null && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic ?? '');
  return '';
}

const SERIES_DESCRIPTION = '0008103E';
const PATIENT_ID = '00100020';

/** The SEG series the filter selects (study UID + series UID), in the PACS's order. */
export async function findSegSeries(client: DicomWebClient, filter: DatasetFilter, options: RequestOptions = {}): Promise<{ studyInstanceUID: string; seriesInstanceUID: string }[]> {
  const query: Record<string, string> = { Modality: 'SEG' };
  const dates = studyDateQuery(filter);
  if (dates !== '') query['StudyDate'] = dates;
  // Orthanc's QIDO does not percent-decode match values, so a description with a space (sent as
  // '+') or any other escaped character matches nothing: each run of such characters goes as '*',
  // and the exact pattern is applied to the answers below.
  if (filter.seriesDescription !== undefined) query['SeriesDescription'] = filter.seriesDescription.replace(/[^A-Za-z0-9*._-]+/g, '*');
  const found: DicomJsonDataset[] = [];
  if (filter.studyInstanceUIDs === undefined) found.push(...(await client.search('series', query, options)));
  else for (const study of filter.studyInstanceUIDs) found.push(...(await client.search('series', { ...query, StudyInstanceUID: study }, options)));
  const out: { studyInstanceUID: string; seriesInstanceUID: string }[] = [];
  const seen = new Set<string>();
  for (const ds of found) {
    const studyInstanceUID = first(ds, TAGS.StudyInstanceUID);
    const seriesInstanceUID = first(ds, TAGS.SeriesInstanceUID);
    // Orthanc matches descriptions case-insensitively; wildcards aside, keep what the filter says.
    if (filter.seriesDescription !== undefined && !wildcardMatch(filter.seriesDescription, first(ds, SERIES_DESCRIPTION))) continue;
    if (!isValidUid(studyInstanceUID) || !isValidUid(seriesInstanceUID) || seen.has(seriesInstanceUID)) continue;
    seen.add(seriesInstanceUID);
    out.push({ studyInstanceUID, seriesInstanceUID });
  }
  return out.slice(0, filter.maxSeries ?? 10_000);
}

function wildcardMatch(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 'i');
  return re.test(value);
}

/** The segments of `seg` the filter keeps (all of them without label or number filters). */
function chosenSegments(seg: SegObject, filter: DatasetFilter): SegSegment[] {
  const labels = filter.segmentLabels?.map((l) => l.trim().toLowerCase());
  return seg.segments.filter((s) => {
    if (labels !== undefined && !labels.includes(s.label.trim().toLowerCase())) return false;
    if (filter.segmentNumbers !== undefined && !filter.segmentNumbers.includes(s.number)) return false;
    return true;
  });
}

function describeSegments(filter: DatasetFilter): string {
  const parts: string[] = [];
  if (filter.segmentLabels) parts.push(`label ${filter.segmentLabels.map((l) => JSON.stringify(l)).join(' or ')}`);
  if (filter.segmentNumbers) parts.push(`number ${filter.segmentNumbers.join(' or ')}`);
  return parts.join(' and ');
}

/** Looks up which series holds each source instance (ReferencedSeriesSequence first, then QIDO). */
async function seriesOfSources(client: DicomWebClient, seg: SegObject, sops: readonly string[], options: RequestOptions): Promise<Map<string, string>> {
  const bySop = new Map<string, string>();
  for (const [series, instances] of seg.referencedSeries) for (const sop of instances) bySop.set(sop, series);
  for (const sop of sops) {
    if (bySop.has(sop) || !isValidUid(sop)) continue;
    const hits = await client.search(`studies/${seg.studyInstanceUID}/instances`, { SOPInstanceUID: sop }, options);
    const series = hits.map((h) => first(h, TAGS.SeriesInstanceUID)).find(isValidUid);
    if (series !== undefined) bySop.set(sop, series);
  }
  return bySop;
}

/**
 * Validates the filter, finds and decodes the SEGs, and splits the samples by patient.
 * @throws InvalidDatasetFilter; PACS errors of the search itself (per-SEG failures are skips)
 */
export async function buildPacsDataset(client: DicomWebClient, filterInput: unknown, options: BuildDatasetOptions = {}): Promise<PacsDataset> {
  const filter = parseDatasetFilter(filterInput);
  const series = await findSegSeries(client, filter, options);
  const samples: PacsSample[] = [];
  const skipped: Skipped[] = [];
  let done = 0;
  for (const s of series) {
    options.signal?.throwIfAborted();
    try {
      await collectSeries(client, s, filter, samples, skipped, options);
    } catch (error) {
      if (!(error instanceof DicomError)) throw error;
      skipped.push({ reason: 'pacs-error', message: `SEG series ${s.seriesInstanceUID} could not be read from the PACS: ${error.message}`, ...s });
    }
    options.onProgress?.(++done, series.length);
  }
  // The PACS answers searches in an order of its own (Orthanc's follows its hashed ids), and the
  // trainer draws batches by item index: without a canonical order, the same annotations and seed
  // would train on other batches.
  samples.sort(compareSamples);
  const split = splitByPatient(samples, (x) => x.patientKey, options);
  return { filter, samples, ...split, skipped, seriesExamined: series.length };
}

/**
 * The canonical order of samples: by patient, study, image series, image, frame (then SEG), so a
 * data set depends on what is in the PACS and not on the order the PACS listed it in.
 */
function compareSamples(a: PacsSample, b: PacsSample): number {
  const keys = (s: PacsSample): (string | number)[] => [s.patientKey, s.studyInstanceUID, s.image.seriesInstanceUID, s.image.sopInstanceUID, s.image.frame, s.seg.sopInstanceUID];
  const ka = keys(a);
  const kb = keys(b);
  for (let i = 0; i < ka.length; i++) {
    if (ka[i]! < kb[i]!) return -1;
    if (ka[i]! > kb[i]!) return 1;
  }
  return 0;
}

async function collectSeries(
  client: DicomWebClient,
  where: { studyInstanceUID: string; seriesInstanceUID: string },
  filter: DatasetFilter,
  samples: PacsSample[],
  skipped: Skipped[],
  options: RequestOptions,
): Promise<void> {
  const { studyInstanceUID, seriesInstanceUID } = where;
  const instances = await client.search(`studies/${studyInstanceUID}/series/${seriesInstanceUID}/instances`, {}, options);
  for (const instance of instances) {
    const sopInstanceUID = first(instance, TAGS.SOPInstanceUID);
    const sopClassUID = first(instance, TAGS.SOPClassUID);
    const at = { studyInstanceUID, seriesInstanceUID, sopInstanceUID };
    if (!isValidUid(sopInstanceUID)) continue;
    if (sopClassUID !== SEG_SOP_CLASSES.binary && sopClassUID !== SEG_SOP_CLASSES.labelMap && sopClassUID !== '') {
      skipped.push({ reason: 'not-seg', message: `Instance ${sopInstanceUID} of series ${seriesInstanceUID} is labelled SEG but is not a segmentation (SOP class ${sopClassUID}).`, ...at });
      continue;
    }
    let seg: SegObject;
    try {
      seg = readSegObject(await client.getInstance(at, options));
    } catch (error) {
      if (!(error instanceof SegDecodeError)) throw error;
      skipped.push({ reason: 'unreadable-seg', message: `SEG ${sopInstanceUID} could not be read: ${error.message}`, ...at });
      continue;
    }
    if (seg.sopClassUID !== SEG_SOP_CLASSES.binary && seg.sopClassUID !== SEG_SOP_CLASSES.labelMap) {
      skipped.push({ reason: 'not-seg', message: `Instance ${sopInstanceUID} of series ${seriesInstanceUID} is labelled SEG but is not a segmentation (SOP class ${seg.sopClassUID || 'missing'}).`, ...at });
      continue;
    }
    if (seg.kind === 'fractional') {
      skipped.push({ reason: 'fractional', message: `SEG ${sopInstanceUID} is a FRACTIONAL segmentation, which training does not support (only binary and label map SEGs).`, ...at });
      continue;
    }
    const chosen = chosenSegments(seg, filter);
    if (chosen.length === 0) {
      skipped.push({ reason: 'no-matching-segment', message: `SEG ${sopInstanceUID} has no segment with ${describeSegments(filter)} (it has ${seg.segments.map((s) => `${s.number} "${s.label}"`).join(', ') || 'none'}).`, ...at });
      continue;
    }
    await collectSeg(client, seg, chosen, at, samples, skipped, options);
  }
}

async function collectSeg(
  client: DicomWebClient,
  seg: SegObject,
  chosen: readonly SegSegment[],
  at: { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string },
  samples: PacsSample[],
  skipped: Skipped[],
  options: RequestOptions,
): Promise<void> {
  const wanted = new Set(chosen.map((s) => s.number));
  const n = seg.rows * seg.columns;
  // One mask per source frame, merged over the SEG frames (segments) that refer to it.
  const masks = new Map<string, { sop: string; frame: number; mask: Uint8Array; segments: Set<number> }>();
  const unreferenced: number[] = [];
  try {
    seg.frames.forEach((f, index) => {
      if (f.segmentNumber !== undefined && !wanted.has(f.segmentNumber)) return;
      if (f.source === undefined) {
        unreferenced.push(index + 1);
        return;
      }
      const key = `${f.source.sopInstanceUID}#${f.source.frame}`;
      let entry = masks.get(key);
      if (entry === undefined) {
        entry = { sop: f.source.sopInstanceUID, frame: f.source.frame, mask: new Uint8Array(n), segments: new Set() };
        masks.set(key, entry);
      }
      const pixels = seg.framePixels(index);
      for (let p = 0; p < n; p++) {
        const v = pixels[p]!;
        if (v === 0) continue;
        if (f.segmentNumber === undefined ? wanted.has(v) : true) {
          entry.mask[p] = 1;
          entry.segments.add(f.segmentNumber ?? v);
        }
      }
    });
  } catch (error) {
    if (!(error instanceof SegDecodeError)) throw error;
    skipped.push({ reason: 'unreadable-seg', message: `SEG ${at.sopInstanceUID} could not be decoded: ${error.message}`, ...at });
    return;
  }
  if (unreferenced.length > 0) {
    skipped.push({
      reason: 'unreferenced-frame',
      message: `SEG ${at.sopInstanceUID}: frame${unreferenced.length > 1 ? 's' : ''} ${unreferenced.join(', ')} name${unreferenced.length > 1 ? '' : 's'} no source image (no DerivationImageSequence and more than one referenced instance).`,
      ...at,
    });
  }
  const seriesBySop = await seriesOfSources(client, seg, [...new Set([...masks.values()].map((m) => m.sop))], options);
  const metadataCache = new Map<string, DicomJsonDataset | undefined>();
  for (const entry of masks.values()) {
    const image = { sopInstanceUID: entry.sop, frame: entry.frame };
    const series = seriesBySop.get(entry.sop);
    const missing = (): void => {
      skipped.push({ reason: 'missing-image', message: `SEG ${at.sopInstanceUID} refers to image ${entry.sop} (frame ${entry.frame}), which is not in the PACS.`, ...at, image });
    };
    if (series === undefined) {
      missing();
      continue;
    }
    const ref = { studyInstanceUID: seg.studyInstanceUID, seriesInstanceUID: series, sopInstanceUID: entry.sop };
    if (!metadataCache.has(entry.sop)) {
      try {
        metadataCache.set(entry.sop, await client.getInstanceMetadata(ref, options));
      } catch (error) {
        if (!(error instanceof PacsNotFound)) throw error;
        metadataCache.set(entry.sop, undefined);
      }
    }
    const metadata = metadataCache.get(entry.sop);
    if (metadata === undefined) {
      missing();
      continue;
    }
    let module;
    try {
      module = readPixelModule(metadata);
    } catch (error) {
      if (!(error instanceof DicomError)) throw error;
      skipped.push({ reason: 'missing-image', message: `SEG ${at.sopInstanceUID} refers to ${entry.sop}, which is not an image the server can read: ${error.message}`, ...at, image });
      continue;
    }
    if (entry.frame < 1 || entry.frame > module.numberOfFrames) {
      skipped.push({ reason: 'missing-image', message: `SEG ${at.sopInstanceUID} refers to frame ${entry.frame} of image ${entry.sop}, which has ${module.numberOfFrames} frame${module.numberOfFrames > 1 ? 's' : ''}.`, ...at, image });
      continue;
    }
    if (module.columns !== seg.columns || module.rows !== seg.rows) {
      skipped.push({
        reason: 'size-mismatch',
        message: `SEG ${at.sopInstanceUID} is ${seg.columns}x${seg.rows} but the image it refers to, ${entry.sop}, is ${module.columns}x${module.rows}.`,
        ...at,
        image,
      });
      continue;
    }
    if (!entry.mask.some((v) => v !== 0)) {
      skipped.push({ reason: 'empty-mask', message: `SEG ${at.sopInstanceUID} marks no pixel of image ${entry.sop} (frame ${entry.frame}) in the chosen segments.`, ...at, image });
      continue;
    }
    const patientID = seg.patientID !== '' ? seg.patientID : first(metadata, PATIENT_ID);
    samples.push({
      image: { ...ref, frame: entry.frame },
      width: seg.columns,
      height: seg.rows,
      mask: entry.mask,
      patientID,
      studyInstanceUID: seg.studyInstanceUID,
      patientKey: patientKey(patientID, seg.studyInstanceUID),
      seg: { seriesInstanceUID: at.seriesInstanceUID, sopInstanceUID: at.sopInstanceUID, segmentNumbers: [...entry.segments].sort((a, b) => a - b) },
      samplesPerPixel: module.samplesPerPixel,
    });
  }
}
