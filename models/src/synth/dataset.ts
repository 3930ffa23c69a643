/**
 * Dataset folders: the images and lesion masks that training and evaluation read, made by
 * `glmedsa synth` from phantoms or exported from real annotations in the same format.
 *
 *   DIR/manifest.json    { format: 'glmedsa-dataset', version: 1, kind, site, size, seed, count, items }
 *   DIR/images/<id>.png  the image (any PNG colour type; read as 8-bit RGB)
 *   DIR/masks/<id>.png   the lesion mask, same size as the image; any non-zero sample is lesion
 *
 * Items list their own relative paths, so other layouts work as long as every path stays inside
 * DIR. `size` and `seed` describe phantom datasets; a dataset of real images (of any, possibly
 * non-square, sizes) sets them to null.
 *
 * Labelled volumes (glmedsa synth --volumes) extend the same format, so everything that reads
 * images and lesion masks reads them unchanged:
 *
 *   DIR/volumes/<volume>/image.nii.gz, labels.nii.gz   HU and object ids (NIfTI-1)
 *   DIR/labels/<id>.png   the object ids of the item's slice (8-bit gray), named in the manifest's
 *                         `volumes[].objects` legend; the item's `volume` and `slice` say where it
 *                         was drawn from. Its mask is the lesions on that slice (empty on most slices).
 *
 * Phantom item i is generated from a PRNG seeded with (seed, i) only, so item i is the same image
 * whatever `count` is, and two sites' datasets with the same seed hold the same lesions (shape,
 * place, pigment) acquired differently: paired data for measuring the domain shift. Use another
 * seed for data that must not share lesions (training vs evaluation).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readPng, writeMaskPng, writePng } from '../image/png.js';
import type { RgbImage } from '../image/rgb-image.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import { readJsonFile } from '../util/json-file.js';
import type { ProgressSink } from '../util/progress.js';
import { Rng } from '../util/random.js';
import { ctPhantom } from './ct.js';
import { dermoscopyPhantom, type Phantom } from './dermoscopy.js';
import { siteProfile, type SiteProfile } from './sites.js';
import { STRUCTURE_CLASSES } from './volume-objects.js';

export const DATASET_MANIFEST = 'manifest.json';
export const DATASET_FORMAT = 'glmedsa-dataset';
export const PHANTOM_KINDS = ['dermoscopy', 'ct'] as const;
export type PhantomKind = (typeof PHANTOM_KINDS)[number];

/** Whether `p` is a relative path that stays inside its folder ('a/b.png' yes; '../x', '/x', 'a/../../x' no). */
export function isInsidePath(p: string): boolean {
  if (p === '' || p.includes('\0') || p.includes('\\')) return false;
  if (path.posix.isAbsolute(p) || path.win32.isAbsolute(p)) return false;
  const parts = p.split('/');
  return !parts.some((s) => s === '..') && path.posix.normalize(p) !== '.';
}

const RelativePath = z.string().refine(isInsidePath, { message: 'must be a relative path inside the dataset folder (no "..", no leading "/")' });

const Identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'must be letters, digits, ".", "_" or "-"' });

const DatasetItemSchema = z.object({
  id: Identifier,
  image: RelativePath,
  mask: RelativePath,
  lesion_pixels: z.number().int().nonnegative(),
  /** Object ids of every pixel (8-bit gray PNG), for items drawn from a labelled volume. */
  labels: RelativePath.optional(),
  /** The volume (an id of `volumes`) and slice the item was drawn from. */
  volume: Identifier.optional(),
  slice: z.number().int().nonnegative().optional(),
});

const VolumeObjectSchema = z.object({
  id: z.number().int().min(1).max(255),
  name: z.string().min(1),
  structure: z.enum(STRUCTURE_CLASSES),
  first_slice: z.number().int().nonnegative(),
  last_slice: z.number().int().nonnegative(),
  voxels: z.number().int().positive(),
  within: z.number().int().min(1).max(255).optional(),
});

const DatasetVolumeSchema = z.object({
  id: Identifier,
  seed: z.number().int(),
  image: RelativePath,
  labels: RelativePath,
  columns: z.number().int().positive(),
  rows: z.number().int().positive(),
  slices: z.number().int().positive(),
  pixel_spacing_mm: z.number().positive(),
  slice_spacing_mm: z.number().positive(),
  phase: z.string(),
  objects: z.array(VolumeObjectSchema),
});

const DatasetManifestSchema = z
  .object({
    format: z.literal(DATASET_FORMAT),
    version: z.literal(1),
    kind: z.enum(PHANTOM_KINDS),
    site: z.string().min(1),
    /** Side of the (square) phantom images; null for datasets of real images. */
    size: z.number().int().positive().nullable(),
    /** Seed the phantoms were generated from; null for datasets of real images. */
    seed: z.number().int().nullable(),
    count: z.number().int().nonnegative(),
    items: z.array(DatasetItemSchema),
    /** Labelled volumes the items were drawn from (absent in datasets of 2D images). */
    volumes: z.array(DatasetVolumeSchema).optional(),
  })
  .superRefine((m, ctx) => {
    const volumes = new Set((m.volumes ?? []).map((v) => v.id));
    m.items.forEach((item, i) => {
      if (item.volume === undefined) return;
      if (!volumes.has(item.volume)) ctx.addIssue({ code: 'custom', path: ['items', i, 'volume'], message: `'${item.volume}' is not among the manifest's volumes` });
      if (item.slice === undefined || item.labels === undefined) ctx.addIssue({ code: 'custom', path: ['items', i], message: 'an item drawn from a volume needs its slice and labels' });
    });
    if (m.count !== m.items.length) {
      ctx.addIssue({ code: 'custom', path: ['count'], message: `is ${m.count} but the manifest lists ${m.items.length} items` });
    }
    const seen = new Set<string>();
    m.items.forEach((item, i) => {
      if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: ['items', i, 'id'], message: `duplicate id '${item.id}'` });
      seen.add(item.id);
    });
  });

export type DatasetItem = z.infer<typeof DatasetItemSchema>;
export type DatasetVolume = z.infer<typeof DatasetVolumeSchema>;
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;
/** A validated dataset and the folder it was read from. */
export type Dataset = DatasetManifest & { dir: string };

export interface PhantomDatasetOptions {
  kind: PhantomKind;
  /** A site name (see SITES) or a profile. */
  site: string | SiteProfile;
  n: number;
  size: number;
  seed: number;
}

/** The 32-bit PRNG seed of phantom item `index` of a dataset with seed `seed`. */
export function itemSeed(seed: number, index: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let h = 0x2545f491 ^ Math.imul(lo, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ Math.imul(hi, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ Math.imul(index >>> 0, 0x165667b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Phantom item `index` of a dataset, in memory (what writePhantomDataset writes for that item). */
export function phantomItem(kind: PhantomKind, site: SiteProfile, size: number, seed: number, index: number): Phantom {
  const rng = new Rng(itemSeed(seed, index));
  return kind === 'ct' ? ctPhantom(rng, size, site) : dermoscopyPhantom(rng, size, site);
}

/** The id of item `index`: six digits, so ids sort in order and do not depend on the count. */
function itemId(index: number): string {
  return String(index).padStart(6, '0');
}

/**
 * Writes n phantoms and their masks to `dir` (created if needed): PNGs atomically, a few at a
 * time, then manifest.json last, so a folder with a manifest is complete. A manifest already in
 * `dir` is removed first.
 */
export async function writePhantomDataset(dir: string, options: PhantomDatasetOptions, progress?: ProgressSink): Promise<Dataset> {
  const { kind, n, size, seed } = options;
  if (!PHANTOM_KINDS.includes(kind)) throw new Error(`unknown phantom kind '${String(kind)}' (choose ${PHANTOM_KINDS.join(', ')})`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`the number of items must be a positive integer, got ${n}`);
  if (!Number.isInteger(size) || size < 16 || size > 8192) throw new Error(`the image size must be an integer in 16..8192, got ${size}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`the seed must be an integer, got ${seed}`);
  const site = typeof options.site === 'string' ? siteProfile(options.site) : options.site;
  await fs.mkdir(path.join(dir, 'images'), { recursive: true });
  await fs.mkdir(path.join(dir, 'masks'), { recursive: true });
  await fs.rm(path.join(dir, DATASET_MANIFEST), { force: true });

  const task = `synth ${kind} site ${site.name}`;
  progress?.({ task, done: 0, total: n });
  const items: DatasetItem[] = [];
  const inFlight: Promise<void>[] = [];
  let failure: unknown;
  let done = 0;
  for (let i = 0; i < n && failure === undefined; i++) {
    const { image, mask } = phantomItem(kind, site, size, seed, i);
    const id = itemId(i);
    let lesion = 0;
    for (let j = 0; j < mask.length; j++) lesion += mask[j]!;
    const item: DatasetItem = { id, image: `images/${id}.png`, mask: `masks/${id}.png`, lesion_pixels: lesion };
    items.push(item);
    const write = Promise.all([writePng(path.join(dir, item.image), image), writeMaskPng(path.join(dir, item.mask), mask, size, size)]).then(
      () => {
        done++;
        progress?.({ task, done, total: n });
      },
      (err: unknown) => {
        failure ??= err;
      },
    );
    inFlight.push(write);
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  const manifest: DatasetManifest = { format: DATASET_FORMAT, version: 1, kind, site: site.name, size, seed, count: n, items };
  await writeJsonAtomic(path.join(dir, DATASET_MANIFEST), manifest);
  return { ...manifest, dir };
}

/** Reads and validates `dir`/manifest.json and checks that every listed file exists. */
export async function readDataset(dir: string): Promise<Dataset> {
  const manifest = await readJsonFile(
    path.join(dir, DATASET_MANIFEST),
    DatasetManifestSchema,
    'dataset manifest',
    `${dir} is not a dataset folder: it has no ${DATASET_MANIFEST} (make one with 'glmedsa synth')`,
  );

  const files = [
    ...manifest.items.flatMap((item) => [item.image, item.mask, ...(item.labels ? [item.labels] : [])]),
    ...(manifest.volumes ?? []).flatMap((v) => [v.image, v.labels]),
  ];
  const missing: string[] = [];
  for (let start = 0; start < files.length; start += 64) {
    const batch = files.slice(start, start + 64);
    const stats = await Promise.all(batch.map((f) => fs.stat(path.join(dir, f)).catch(() => undefined)));
    stats.forEach((st, k) => {
      if (!st || !st.isFile()) missing.push(batch[k]!);
    });
  }
  if (missing.length) {
    const shown = missing.slice(0, 5).join(', ');
    throw new Error(`${dir}: ${missing.length} file${missing.length > 1 ? 's' : ''} listed in ${DATASET_MANIFEST} ${missing.length > 1 ? 'are' : 'is'} missing: ${shown}${missing.length > 5 ? ', ...' : ''}`);
  }
  return { ...manifest, dir };
}

/** Loads one item's image (8-bit RGB) and mask (0/1, any non-zero sample is lesion). */
export async function loadDatasetItem(dataset: Pick<Dataset, 'dir'>, item: DatasetItem): Promise<{ image: RgbImage; mask: Uint8Array }> {
  for (const p of [item.image, item.mask]) {
    if (!isInsidePath(p)) throw new Error(`dataset item '${item.id}': path '${p}' is outside the dataset folder`);
  }
  const read = async (rel: string, what: string): Promise<RgbImage> => {
    try {
      return await readPng(path.join(dataset.dir, rel));
    } catch (err) {
      throw new Error(`dataset item '${item.id}': cannot read ${what} ${rel}: ${(err as Error).message}`);
    }
  };
  const [image, maskRgb] = await Promise.all([read(item.image, 'image'), read(item.mask, 'mask')]);
  if (maskRgb.width !== image.width || maskRgb.height !== image.height) {
    throw new Error(
      `dataset item '${item.id}': mask ${item.mask} is ${maskRgb.width}x${maskRgb.height} but image ${item.image} is ${image.width}x${image.height}`,
    );
  }
  const n = image.width * image.height;
  const mask = new Uint8Array(n);
  const d = maskRgb.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) mask[i] = d[j]! | d[j + 1]! | d[j + 2]! ? 1 : 0;
  return { image, mask };
}
