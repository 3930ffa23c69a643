/**
 * Labelled volumes: a stack of slices with one object id per voxel and a legend naming every
 * object (a structure or a lesion), and what can be read from them: an object's mask on a slice,
 * the 2D targets of a slice (each object's connected pieces there, an organ with the lesions
 * inside it), 3D connected components.
 *
 * Voxels are indexed z * rows * columns + y * columns + x; slice 0 is the most cranial one.
 */

/** What kind of structure an object is (the rows of the per-structure evaluation). */
export const STRUCTURE_CLASSES = [
  'liver',
  'spleen',
  'kidney',
  'aorta',
  'vena cava',
  'vertebra',
  'intervertebral disc',
  'spinal canal',
  'rib',
  'bowel',
  'stomach',
  'muscle',
  'subcutaneous fat',
  'visceral fat',
  'table',
  'lesion',
] as const;
export type StructureClass = (typeof STRUCTURE_CLASSES)[number];

export interface VolumeObject {
  /** The voxel value of the object in the label volume (1..255; 0 is air and what no object holds). */
  id: number;
  /** A unique, readable name ('liver', 'left kidney', 'vertebra L1', 'lesion 2'). */
  name: string;
  structure: StructureClass;
  /** The first and last slice (inclusive) the object appears on. */
  firstSlice: number;
  lastSlice: number;
  voxels: number;
  /** For a lesion: the id of the organ it lies in (the organ's outline includes its lesions). */
  within?: number;
}

export interface LabelVolume {
  columns: number;
  rows: number;
  slices: number;
  /** Object id per voxel. */
  labels: Uint8Array;
  objects: VolumeObject[];
}

/** The object ids whose union is `object` as a radiologist outlines it: itself and the lesions inside it. */
export function outlineIds(objects: readonly VolumeObject[], object: VolumeObject): number[] {
  return [object.id, ...objects.filter((o) => o.within === object.id).map((o) => o.id)];
}

/** 0/1 mask (rows x columns) of slice z where the label is one of `ids`. */
export function sliceMask(volume: LabelVolume, z: number, ids: readonly number[]): Uint8Array {
  const n = volume.rows * volume.columns;
  if (!Number.isInteger(z) || z < 0 || z >= volume.slices) throw new Error(`slice ${z} is outside 0..${volume.slices - 1}`);
  const lut = new Uint8Array(256);
  for (const id of ids) lut[id] = 1;
  const out = new Uint8Array(n);
  const src = volume.labels.subarray(z * n, (z + 1) * n);
  for (let i = 0; i < n; i++) out[i] = lut[src[i]!]!;
  return out;
}

/** The object ids of slice z (a view of the label volume, rows x columns). */
export function sliceLabels(volume: LabelVolume, z: number): Uint8Array {
  const n = volume.rows * volume.columns;
  if (!Number.isInteger(z) || z < 0 || z >= volume.slices) throw new Error(`slice ${z} is outside 0..${volume.slices - 1}`);
  return volume.labels.subarray(z * n, (z + 1) * n);
}

/**
 * Labels the connected components of the voxels where `on(i)` holds (6-connected in 3D, or
 * 4-connected when slices is 1). Returns per-voxel component numbers (0 = off) and the sizes
 * (sizes[0] unused).
 */
export function components3d(columns: number, rows: number, slices: number, on: (i: number) => boolean): { labels: Int32Array; sizes: number[] } {
  const plane = columns * rows;
  const n = plane * slices;
  const labels = new Int32Array(n);
  const sizes = [0];
  const stack = new Int32Array(n);
  for (let start = 0; start < n; start++) {
    if (labels[start] || !on(start)) continue;
    const label = sizes.length;
    let top = 0;
    let size = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top) {
      const i = stack[--top]!;
      size++;
      const x = i % columns;
      const y = Math.floor(i / columns) % rows;
      const z = Math.floor(i / plane);
      const visit = (j: number) => {
        if (!labels[j] && on(j)) {
          labels[j] = label;
          stack[top++] = j;
        }
      };
      if (x > 0) visit(i - 1);
      if (x < columns - 1) visit(i + 1);
      if (y > 0) visit(i - columns);
      if (y < rows - 1) visit(i + columns);
      if (z > 0) visit(i - plane);
      if (z < slices - 1) visit(i + plane);
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

/** One object's connected piece on one slice: what a click on that slice should segment. */
export interface SliceTarget {
  /** The object (for an organ, its outline includes the lesions inside it). */
  object: VolumeObject;
  /** 0/1 mask of the piece, rows x columns. */
  mask: Uint8Array;
  area: number;
}

/**
 * The targets of slice z: every object's 4-connected pieces of at least `minArea` pixels, organs
 * with their lesions inside them. Ordered by object id, then by the piece's first pixel.
 */
export function sliceTargets(volume: LabelVolume, z: number, minArea = 1): SliceTarget[] {
  return labelMapTargets(sliceLabels(volume, z), volume.columns, volume.rows, volume.objects, minArea);
}

/** The targets of one slice's object-id map (w x h) with the volume's legend (see sliceTargets). */
export function labelMapTargets(labels: Uint8Array, w: number, h: number, objects: readonly VolumeObject[], minArea = 1): SliceTarget[] {
  if (labels.length !== w * h) throw new Error(`a ${w}x${h} label map needs ${w * h} values, got ${labels.length}`);
  // each id's bounding box, so that every object's pieces are searched only where it is
  const x0 = new Int32Array(256).fill(w);
  const y0 = new Int32Array(256).fill(h);
  const x1 = new Int32Array(256).fill(-1);
  const y1 = new Int32Array(256).fill(-1);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const l = labels[i]!;
      if (!l) continue;
      if (x < x0[l]!) x0[l] = x;
      if (x > x1[l]!) x1[l] = x;
      if (y < y0[l]!) y0[l] = y;
      if (y > y1[l]!) y1[l] = y;
    }
  }
  const out: SliceTarget[] = [];
  for (const object of objects) {
    if (x1[object.id]! < 0) continue;
    const ids = outlineIds(objects, object);
    const lut = new Uint8Array(256);
    let bx0 = w, by0 = h, bx1 = -1, by1 = -1;
    for (const id of ids) {
      lut[id] = 1;
      if (x1[id]! < 0) continue;
      bx0 = Math.min(bx0, x0[id]!);
      by0 = Math.min(by0, y0[id]!);
      bx1 = Math.max(bx1, x1[id]!);
      by1 = Math.max(by1, y1[id]!);
    }
    const bw = bx1 - bx0 + 1;
    const bh = by1 - by0 + 1;
    const { labels: cc, sizes } = components3d(bw, bh, 1, (j) => lut[labels[(by0 + Math.floor(j / bw)) * w + bx0 + (j % bw)]!] === 1);
    for (let c = 1; c < sizes.length; c++) {
      if (sizes[c]! < minArea) continue;
      // a piece made only of the organ's lesions is the lesions' target, not the organ's
      const mask = new Uint8Array(w * h);
      let own = 0;
      for (let j = 0; j < cc.length; j++) {
        if (cc[j] !== c) continue;
        const i = (by0 + Math.floor(j / bw)) * w + bx0 + (j % bw);
        mask[i] = 1;
        if (labels[i] === object.id) own++;
      }
      if (own === 0) continue;
      out.push({ object, mask, area: sizes[c]! });
    }
  }
  return out;
}
