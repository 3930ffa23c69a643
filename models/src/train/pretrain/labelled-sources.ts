/**
 * What pre-training samples: images with every object a click may mean (each a target), from
 * three kinds of sources: slices of labelled phantom volumes (every structure's pieces on the
 * slice, organs with their lesions inside, and the neighbouring slices' labels for propagation
 * prompts), datasets of images with one lesion mask (dermoscopy and 2D CT phantoms), and generic
 * scenes of shapes made on the fly.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RgbImage } from '../../image/index.js';
import { itemSeed, loadDatasetItem, readDataset } from '../../synth/dataset.js';
import { genericScene } from '../../synth/scenes.js';
import { legendObject, loadItemLabels } from '../../synth/volume-dataset.js';
import { components3d, labelMapTargets, outlineIds, type VolumeObject } from '../../synth/volume-objects.js';
import { maskBox } from './prompt-recipe.js';

export interface PromptTarget {
  /** 0/1 at the image's size. */
  mask: Uint8Array;
  area: number;
  /** What it is: a structure class ('liver', 'rib', 'lesion', ...), 'shape' or 'dermoscopy lesion'. */
  kind: string;
  /** Object ids that make it up on a slice of a labelled volume (to find it on the neighbouring slices). */
  ids?: number[];
  /** Masks of lesions inside it (an organ): a click there may mean either. */
  inner: Uint8Array[];
}

export interface LabelledSample {
  image: RgbImage;
  targets: PromptTarget[];
  /** Object-id maps of slices 1..3 away (volume slices only), to prompt with the object's mask there. */
  neighbours: { offset: number; labels: Uint8Array }[];
}

export interface LabelledSource {
  name: string;
  count: number;
  /** Identifies the data (part of the run key). */
  fingerprint: string;
  /** Sample i; `neighbours` false leaves out the neighbouring slices (only propagation prompts need them). */
  load(i: number, o?: { neighbours?: boolean }): Promise<LabelledSample>;
}

/** Pieces smaller than this many pixels are not targets (a click cannot hit them reliably at 256 px). */
export const MIN_TARGET_AREA = 24;

async function manifestFingerprint(dir: string): Promise<string> {
  return createHash('sha256').update(await readFile(path.join(dir, 'manifest.json'))).digest('hex');
}

/** The masks of the lesions lying inside each organ target, from the targets themselves. */
function withInnerLesions(targets: PromptTarget[], objects: readonly VolumeObject[], idsOf: (t: PromptTarget) => number[]): PromptTarget[] {
  const lesions = targets.filter((t) => t.kind === 'lesion');
  for (const t of targets) {
    if (t.kind === 'lesion') continue;
    const own = new Set(idsOf(t));
    for (const l of lesions) {
      const lesionObject = objects.find((o) => o.id === l.ids?.[0]);
      if (lesionObject?.within !== undefined && own.has(lesionObject.within)) {
        // inside this piece of the organ?
        let overlaps = false;
        for (let i = 0; i < l.mask.length && !overlaps; i++) overlaps = l.mask[i] === 1 && t.mask[i] === 1;
        if (overlaps) t.inner.push(l.mask);
      }
    }
  }
  return targets;
}

/** Slices of a labelled volume dataset (glmedsa synth --volumes), every structure a target. */
export async function volumeSliceSource(dir: string): Promise<LabelledSource> {
  const dataset = await readDataset(dir);
  if (!dataset.volumes?.length) throw new Error(`${dir} holds no labelled volumes (make one with 'glmedsa synth --kind ct --volumes N')`);
  const legends = new Map(dataset.volumes.map((v) => [v.id, v.objects.map(legendObject)]));
  const items = dataset.items.filter((it) => it.labels && it.volume !== undefined);
  const bySlice = new Map(items.map((it) => [`${it.volume}:${it.slice}`, it]));
  return {
    name: `${path.basename(path.resolve(dir))} (${dataset.volumes.length} volumes)`,
    count: items.length,
    fingerprint: await manifestFingerprint(dir),
    async load(i, o = {}) {
      const item = items[i]!;
      const objects = legends.get(item.volume!)!;
      const [{ image }, labels] = await Promise.all([loadDatasetItem(dataset, item), loadItemLabels(dataset, item)]);
      const neighbours: LabelledSample['neighbours'] = [];
      for (const offset of o.neighbours === false ? [] : [-3, -2, -1, 1, 2, 3]) {
        const other = bySlice.get(`${item.volume}:${item.slice! + offset}`);
        if (!other) continue;
        neighbours.push({ offset, labels: (await loadItemLabels(dataset, other))! });
      }
      const targets: PromptTarget[] = labelMapTargets(labels!, image.width, image.height, objects, MIN_TARGET_AREA).map((t) => ({
        mask: t.mask,
        area: t.area,
        kind: t.object.structure,
        ids: outlineIds(objects, t.object),
        inner: [],
      }));
      return { image, targets: withInnerLesions(targets, objects, (t) => t.ids ?? []), neighbours };
    },
  };
}

/** A dataset of images with one lesion mask each (dermoscopy or 2D CT phantoms): the lesion is the target. */
export async function lesionSource(dir: string): Promise<LabelledSource> {
  const dataset = await readDataset(dir);
  const items = dataset.items.filter((it) => it.lesion_pixels > 0);
  return {
    name: `${path.basename(path.resolve(dir))} (${items.length} ${dataset.kind} images)`,
    count: items.length,
    fingerprint: await manifestFingerprint(dir),
    async load(i) {
      const { image, mask } = await loadDatasetItem(dataset, items[i]!);
      let area = 0;
      for (const m of mask) area += m;
      return { image, targets: [{ mask, area, kind: `${dataset.kind} lesion`, inner: [] }], neighbours: [] };
    },
  };
}

/** `count` generic scenes of `size` px made on the fly from `seed`: every visible piece of a shape is a target. */
export function sceneSource(seed: number, count: number, size: number): LabelledSource {
  return {
    name: `generic scenes (${count}, seed ${seed})`,
    count,
    fingerprint: `scenes:v1:${seed}:${count}:${size}`,
    async load(i) {
      const scene = genericScene(itemSeed(seed, i), size);
      const targets: PromptTarget[] = [];
      for (let k = 1; k <= scene.count; k++) {
        const { labels, sizes } = components3d(size, size, 1, (p) => scene.labels[p] === k);
        for (let c = 1; c < sizes.length; c++) {
          if (sizes[c]! < MIN_TARGET_AREA) continue;
          const mask = new Uint8Array(size * size);
          for (let p = 0; p < mask.length; p++) if (labels[p] === c) mask[p] = 1;
          targets.push({ mask, area: sizes[c]!, kind: 'shape', inner: [] });
        }
      }
      return { image: scene.image, targets, neighbours: [] };
    },
  };
}

/** The mask, on the neighbouring slice `labels`, of the pieces of `target` that lie near where it is on this slice. */
export function neighbourMask(target: PromptTarget, labels: Uint8Array, w: number, h: number, marginPx = 8): Uint8Array | null {
  if (!target.ids) return null;
  const lut = new Uint8Array(256);
  for (const id of target.ids) lut[id] = 1;
  const box = maskBox(target.mask, w, h);
  if (!box) return null;
  const [x0, y0, x1, y1] = box;
  const { labels: cc, sizes } = components3d(w, h, 1, (i) => lut[labels[i]!] === 1);
  const keep = new Uint8Array(sizes.length);
  for (let i = 0; i < cc.length; i++) {
    if (!cc[i]) continue;
    const x = i % w;
    const y = (i - x) / w;
    if (x >= x0 - marginPx && x <= x1 + marginPx && y >= y0 - marginPx && y <= y1 + marginPx) keep[cc[i]!] = 1;
  }
  const out = new Uint8Array(w * h);
  let any = 0;
  for (let i = 0; i < cc.length; i++) if (keep[cc[i]!] && cc[i]) (out[i] = 1), any++;
  return any ? out : null;
}
