/**
 * Dataset folders of labelled phantom volumes (`glmedsa synth --volumes N`): each volume as NIfTI
 * (HU and object ids) and, as items of the ordinary dataset format, its slices rendered with the
 * soft-tissue window, with their lesion masks and their object-id maps, so that fine-tuning and
 * evaluation read them as they read any dataset while the pre-training and the per-structure
 * evaluation find every structure and each slice's neighbours.
 *
 * Volume v of a dataset with seed s is ctVolume(itemSeed(s, v)): volume v is the same whatever
 * the number of volumes, and two sites' datasets with one seed hold the same patients.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readPng, writeGrayPng, writeMaskPng } from '../image/png.js';
import type { RgbImage } from '../image/rgb-image.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import type { ProgressSink } from '../util/progress.js';
import { CT_WINDOW, windowToRgb } from './ct.js';
import { ctVolume, type CtVolume, type CtVolumeOptions } from './ct-volume.js';
import { DATASET_FORMAT, DATASET_MANIFEST, type Dataset, type DatasetItem, type DatasetManifest, type DatasetVolume, isInsidePath, itemSeed } from './dataset.js';
import { writeNifti } from './nifti.js';
import { siteProfile } from './sites.js';
import type { VolumeObject } from './volume-objects.js';

/** Where a volume lies in the scanner (DICOM patient coordinates, LPS, mm): axial slices, head first. */
export interface VolumeGeometry {
  /** ImagePositionPatient of slice z: the centre of its top-left pixel. */
  slicePosition(z: number): [number, number, number];
  /** ImageOrientationPatient: rows along +x, columns along +y. */
  orientation: [number, number, number, number, number, number];
  /** PixelSpacing (row spacing, column spacing) and the distance between slices, mm. */
  pixelSpacing: [number, number];
  sliceSpacing: number;
}

/** The volume centred on the scanner's origin, slice 0 the most cranial (largest z). */
export function volumeGeometry(v: Pick<CtVolume, 'columns' | 'rows' | 'slices' | 'pixelSpacingMm' | 'sliceSpacingMm'>): VolumeGeometry {
  const ps = v.pixelSpacingMm;
  const x0 = -((v.columns - 1) / 2) * ps;
  const y0 = -((v.rows - 1) / 2) * ps;
  const z0 = ((v.slices - 1) / 2) * v.sliceSpacingMm;
  const round = (n: number) => Math.round(n * 1e4) / 1e4;
  return {
    slicePosition: (z) => [round(x0), round(y0), round(z0 - z * v.sliceSpacingMm)],
    orientation: [1, 0, 0, 0, 1, 0],
    pixelSpacing: [round(ps), round(ps)],
    sliceSpacing: v.sliceSpacingMm,
  };
}

/** Slice z of a volume rendered with a window (the soft-tissue window by default), as gray RGB. */
export function volumeSliceImage(v: CtVolume, z: number, window: { center: number; width: number } = CT_WINDOW): RgbImage {
  const n = v.columns * v.rows;
  if (!Number.isInteger(z) || z < 0 || z >= v.slices) throw new Error(`slice ${z} is outside 0..${v.slices - 1}`);
  return windowToRgb(v.hu.subarray(z * n, (z + 1) * n), v.columns, window.center, window.width);
}

/** 0/1 mask of every lesion on slice z. */
export function sliceLesionMask(v: CtVolume, z: number): Uint8Array {
  const n = v.columns * v.rows;
  const lesion = new Uint8Array(256);
  for (const o of v.objects) if (o.structure === 'lesion') lesion[o.id] = 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = lesion[v.labels[z * n + i]!]!;
  return out;
}

/** The legend entry of a manifest (snake_case, as the rest of the manifest) from a volume object. */
function legendEntry(o: VolumeObject): DatasetVolume['objects'][number] {
  return {
    id: o.id,
    name: o.name,
    structure: o.structure,
    first_slice: o.firstSlice,
    last_slice: o.lastSlice,
    voxels: o.voxels,
    ...(o.within !== undefined ? { within: o.within } : {}),
  };
}

/** A manifest legend entry as a volume object. */
export function legendObject(e: DatasetVolume['objects'][number]): VolumeObject {
  return {
    id: e.id,
    name: e.name,
    structure: e.structure,
    firstSlice: e.first_slice,
    lastSlice: e.last_slice,
    voxels: e.voxels,
    ...(e.within !== undefined ? { within: e.within } : {}),
  };
}

export interface VolumeDatasetOptions extends Omit<CtVolumeOptions, 'site'> {
  site: string;
  /** Number of volumes. */
  volumes: number;
  seed: number;
  /** Write every k-th slice as an item (default 1: all). The NIfTI volumes always hold every slice. */
  every?: number;
}

/**
 * Writes `volumes` phantom volumes and their slices to `dir` (created if needed): NIfTI files and
 * PNGs atomically, manifest.json last, so a folder with a manifest is complete.
 */
export async function writeVolumeDataset(dir: string, o: VolumeDatasetOptions, progress?: ProgressSink): Promise<Dataset> {
  const site = siteProfile(o.site);
  if (!Number.isInteger(o.volumes) || o.volumes < 1 || o.volumes > 10000) throw new Error(`the number of volumes must be an integer in 1..10000, got ${o.volumes}`);
  if (!Number.isSafeInteger(o.seed)) throw new Error(`the seed must be an integer, got ${o.seed}`);
  const every = o.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new Error(`--every must be a positive integer, got ${every}`);
  for (const sub of ['images', 'masks', 'labels', 'volumes']) await fs.mkdir(path.join(dir, sub), { recursive: true });
  await fs.rm(path.join(dir, DATASET_MANIFEST), { force: true });
  const task = `synth CT volumes site ${site.name}`;
  progress?.({ task, done: 0, total: o.volumes });
  const items: DatasetItem[] = [];
  const volumes: DatasetVolume[] = [];
  let size = 0;
  for (let k = 0; k < o.volumes; k++) {
    const seed = itemSeed(o.seed, k);
    const v = ctVolume(seed, { ...o, site });
    size = v.columns;
    const vid = `v${String(k).padStart(4, '0')}`;
    const geometry = volumeGeometry(v);
    const vdir = `volumes/${vid}`;
    await fs.mkdir(path.join(dir, vdir), { recursive: true });
    const nifti = { dims: [v.columns, v.rows, v.slices] as [number, number, number], spacing: [v.pixelSpacingMm, v.pixelSpacingMm, v.sliceSpacingMm] as [number, number, number], origin: geometry.slicePosition(0) };
    await writeNifti(path.join(dir, vdir, 'image.nii.gz'), { ...nifti, data: v.hu });
    await writeNifti(path.join(dir, vdir, 'labels.nii.gz'), { ...nifti, data: v.labels });
    volumes.push({
      id: vid,
      seed,
      image: `${vdir}/image.nii.gz`,
      labels: `${vdir}/labels.nii.gz`,
      columns: v.columns,
      rows: v.rows,
      slices: v.slices,
      pixel_spacing_mm: v.pixelSpacingMm,
      slice_spacing_mm: v.sliceSpacingMm,
      phase: v.phase,
      objects: v.objects.map(legendEntry),
    });
    const n = v.columns * v.rows;
    const writes: Promise<unknown>[] = [];
    for (let z = 0; z < v.slices; z += every) {
      const id = `${vid}-${String(z).padStart(3, '0')}`;
      const mask = sliceLesionMask(v, z);
      let lesion = 0;
      for (const m of mask) lesion += m;
      const item: DatasetItem = { id, image: `images/${id}.png`, mask: `masks/${id}.png`, lesion_pixels: lesion, labels: `labels/${id}.png`, volume: vid, slice: z };
      items.push(item);
      const image = volumeSliceImage(v, z);
      const gray = new Uint8Array(n);
      for (let i = 0; i < n; i++) gray[i] = image.data[3 * i]!;
      writes.push(
        writeGrayPng(path.join(dir, item.image), { width: v.columns, height: v.rows, data: gray }),
        writeMaskPng(path.join(dir, item.mask), mask, v.columns, v.rows),
        writeGrayPng(path.join(dir, item.labels!), { width: v.columns, height: v.rows, data: v.labels.slice(z * n, (z + 1) * n) }),
      );
    }
    await Promise.all(writes);
    progress?.({ task, done: k + 1, total: o.volumes });
  }
  const manifest: DatasetManifest = { format: DATASET_FORMAT, version: 1, kind: 'ct', site: site.name, size, seed: o.seed, count: items.length, items, volumes };
  await writeJsonAtomic(path.join(dir, DATASET_MANIFEST), manifest);
  return { ...manifest, dir };
}

/** An item's object-id map (its labels PNG), or null for an item without one. */
export async function loadItemLabels(dataset: Pick<Dataset, 'dir'>, item: DatasetItem): Promise<Uint8Array | null> {
  if (!item.labels) return null;
  if (!isInsidePath(item.labels)) throw new Error(`dataset item '${item.id}': path '${item.labels}' is outside the dataset folder`);
  let rgb: RgbImage;
  try {
    rgb = await readPng(path.join(dataset.dir, item.labels));
  } catch (err) {
    throw new Error(`dataset item '${item.id}': cannot read labels ${item.labels}: ${(err as Error).message}`);
  }
  const out = new Uint8Array(rgb.width * rgb.height);
  for (let i = 0; i < out.length; i++) out[i] = rgb.data[3 * i]!;
  return out;
}
