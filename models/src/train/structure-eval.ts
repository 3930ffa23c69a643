/**
 * What a click does, per kind of structure, on held-out labelled volumes (DESIGN.md, "Pre-training
 * a starter"): for each target (a structure's connected piece on a slice; organs with their lesions),
 *
 * - 1 click: one positive click at a random interior point, SAM's three candidates, the one with
 *   the best predicted IoU (what the viewer shows first);
 * - best of 3: the best of the three candidates by true Dice (what M can reach);
 * - 3 clicks: then two corrective clicks at the centre of the largest error, each with the previous
 *   low-res logits as the mask prompt (the single-mask output);
 * - box: the target's bounding box alone;
 * - neighbour: the object's true mask on the slice above (below for an object's first slice) as the
 *   mask prompt with its box: what slice-to-slice propagation gives the model.
 *
 * Dice at the image's own resolution, logit > 0. Targets are sampled per class with a fixed seed,
 * so two models are compared on the same clicks.
 */
import { maskFromLogits, maskPromptLogits } from '../preprocess/index.js';
import type { ImageEmbedding, SamPredictor } from '../predict/predictor.js';
import { itemSeed, loadDatasetItem, readDataset } from '../synth/dataset.js';
import { legendObject, loadItemLabels } from '../synth/volume-dataset.js';
import { type VolumeObject, labelMapTargets, outlineIds } from '../synth/volume-objects.js';
import { float32 } from '../tensor.js';
import { type ProgressSink, silentProgress } from '../util/progress.js';
import { Rng } from '../util/random.js';
import { nextErrorClick, randomClickInside, regionCentre } from './clicks.js';
import { overlap } from './metrics.js';
import { neighbourMask, MIN_TARGET_AREA } from './pretrain/labelled-sources.js';
import { maskBox } from './pretrain/prompt-recipe.js';

export interface StructureRow {
  structure: string;
  /** Targets evaluated. */
  n: number;
  click1: number;
  best3: number;
  clicks3: number;
  box: number;
  /** Mean Dice with the neighbour's mask as prompt, over the `neighbourN` targets that have a neighbour. */
  neighbour: number;
  neighbourN: number;
}

export interface LesionCandidates {
  /** Clicks at lesion centres. */
  n: number;
  /** Dice of the best-scored candidate with the lesion. */
  lesionDice: number;
  /** Fraction of those clicks where one of the three candidates covers the lesion's organ (Dice >= 0.8 with it). */
  organAmongCandidates: number;
}

export interface StructureEvaluation {
  rows: StructureRow[];
  /** Every target pooled. */
  all: StructureRow;
  lesionCentre: LesionCandidates;
  slices: number;
}

export interface StructureEvalOptions {
  /** Evaluate every k-th slice (default 4). */
  every?: number;
  /** At most this many targets per structure class (default 60). */
  perClass?: number;
  /** Seed of the target sampling and the clicks (default 0). */
  seed?: number;
  progress?: ProgressSink;
}

interface Target {
  mask: Uint8Array;
  structure: string;
  object: VolumeObject;
  ids: number[];
  neighbour: Uint8Array | null;
  /** For a lesion: its organ's outline on this slice. */
  organ: Uint8Array | null;
}

interface Slice {
  item: Parameters<typeof loadDatasetItem>[1];
  targets: Target[];
}

const dice = (a: Uint8Array, b: Uint8Array) => overlap(a, b).dice;

/** Segments with points (multimask for one point), a box and a mask prompt; returns per-candidate masks, the best-scored index and its low-res logits. */
async function segment(
  predictor: SamPredictor,
  emb: ImageEmbedding,
  o: { points?: [number, number][]; labels?: number[]; box?: [number, number, number, number]; maskInput?: Float32Array | null; multimask: boolean },
) {
  const L = predictor.geometry.lowResSize;
  const out = await predictor.decode(
    emb,
    { points: o.points ?? null, labels: o.labels ?? null, box: o.box ?? null },
    { multimask: o.multimask, maskInput: o.maskInput ? float32([1, 1, L, L], o.maskInput) : null },
  );
  const [h, w] = emb.originalSize;
  const masks = out.iou.map((_, k) => maskFromLogits(out.masks.data.subarray(k * w * h, (k + 1) * w * h)));
  let best = 0;
  out.iou.forEach((v, k) => {
    if (v > out.iou[best]!) best = k;
  });
  return { masks, best, lowRes: out.lowRes.data.slice(best * L * L, (best + 1) * L * L) };
}

export async function evaluateStructures(predictor: SamPredictor, dir: string, o: StructureEvalOptions = {}): Promise<StructureEvaluation> {
  const dataset = await readDataset(dir);
  if (!dataset.volumes?.length) throw new Error(`${dir} holds no labelled volumes: the per-structure evaluation needs 'glmedsa synth --kind ct --volumes N'`);
  const every = o.every ?? 4;
  const perClass = o.perClass ?? 60;
  const seed = o.seed ?? 0;
  const progress = o.progress ?? silentProgress;
  const legends = new Map(dataset.volumes.map((v) => [v.id, v.objects.map(legendObject)]));
  const bySlice = new Map(dataset.items.map((it) => [`${it.volume}:${it.slice}`, it]));
  // the candidate targets of every evaluated slice
  const slices: Slice[] = [];
  for (const item of dataset.items) {
    if (item.volume === undefined || item.slice === undefined || item.slice % every !== 0) continue;
    const objects = legends.get(item.volume)!;
    const labels = (await loadItemLabels(dataset, item))!;
    const vol = dataset.volumes.find((v) => v.id === item.volume)!;
    const { columns: w, rows: h } = vol;
    const above = bySlice.get(`${item.volume}:${item.slice - 1}`);
    const below = bySlice.get(`${item.volume}:${item.slice + 1}`);
    const aboveLabels = above ? await loadItemLabels(dataset, above) : null;
    const belowLabels = below ? await loadItemLabels(dataset, below) : null;
    const found = labelMapTargets(labels, w, h, objects, MIN_TARGET_AREA);
    const targets: Target[] = found.map((t) => {
      const ids = outlineIds(objects, t.object);
      const probe = { mask: t.mask, area: t.area, kind: t.object.structure, ids, inner: [] };
      const neighbour = (aboveLabels && neighbourMask(probe, aboveLabels, w, h)) || (belowLabels && neighbourMask(probe, belowLabels, w, h)) || null;
      let organ: Uint8Array | null = null;
      if (t.object.within !== undefined) {
        const host = found.find((f) => f.object.id === t.object.within && f.mask.some((v, i) => v && t.mask[i]));
        organ = host?.mask ?? null;
      }
      return { mask: t.mask, structure: t.object.structure, object: t.object, ids, neighbour, organ };
    });
    slices.push({ item, targets });
  }
  // a fixed sample of at most perClass targets of each class
  const byClass = new Map<string, { slice: number; target: number }[]>();
  slices.forEach((s, si) => s.targets.forEach((t, ti) => {
    const list = byClass.get(t.structure) ?? [];
    list.push({ slice: si, target: ti });
    byClass.set(t.structure, list);
  }));
  const chosen = new Set<string>();
  const pick = new Rng(itemSeed(seed, 1));
  for (const list of byClass.values()) for (const e of pick.shuffle([...list]).slice(0, perClass)) chosen.add(`${e.slice}:${e.target}`);
  const total = chosen.size;

  const results = new Map<string, { click1: number[]; best3: number[]; clicks3: number[]; box: number[]; neighbour: number[] }>();
  const lesionCentre = { n: 0, dice: 0, organ: 0 };
  let done = 0;
  progress({ task: 'evaluate structures', done, total });
  for (let si = 0; si < slices.length; si++) {
    const s = slices[si]!;
    const wanted = s.targets.map((_, ti) => chosen.has(`${si}:${ti}`));
    if (!wanted.some(Boolean)) continue;
    const { image } = await loadDatasetItem(dataset, s.item);
    const emb = await predictor.encode(image);
    const w = image.width;
    const h = image.height;
    for (let ti = 0; ti < s.targets.length; ti++) {
      if (!wanted[ti]) continue;
      const t = s.targets[ti]!;
      const rng = new Rng(itemSeed(seed + 7919 * (si + 1), ti));
      const r = results.get(t.structure) ?? { click1: [], best3: [], clicks3: [], box: [], neighbour: [] };
      results.set(t.structure, r);
      // one click at a random interior point, then two corrective clicks
      const c = randomClickInside(t.mask, w, h, rng)!;
      const points: [number, number][] = [[c.x, c.y]];
      const labels = [1];
      const first = await segment(predictor, emb, { points, labels, multimask: true });
      r.click1.push(dice(first.masks[first.best]!, t.mask));
      r.best3.push(Math.max(...first.masks.map((m) => dice(m, t.mask))));
      let pred = first.masks[first.best]!;
      let prev = first.lowRes;
      for (let k = 2; k <= 3; k++) {
        const e = nextErrorClick(pred, t.mask, w, h);
        if (!e) break;
        points.push([e.x, e.y]);
        labels.push(e.label);
        const next = await segment(predictor, emb, { points, labels, maskInput: prev, multimask: false });
        pred = next.masks[0]!;
        prev = next.lowRes;
      }
      r.clicks3.push(dice(pred, t.mask));
      // a box
      const box = maskBox(t.mask, w, h)!;
      const boxed = await segment(predictor, emb, { box, multimask: false });
      r.box.push(dice(boxed.masks[0]!, t.mask));
      // the neighbouring slice's mask
      if (t.neighbour) {
        const nb = maskBox(t.neighbour, w, h)!;
        const prompt = maskPromptLogits(t.neighbour, w, h, predictor.inputSize, predictor.geometry.lowResSize);
        const propagated = await segment(predictor, emb, { box: nb, maskInput: prompt, multimask: false });
        r.neighbour.push(dice(propagated.masks[0]!, t.mask));
      }
      // a lesion: a click at its centre, and whether the organ is among the candidates
      if (t.structure === 'lesion' && t.organ) {
        const centre = regionCentre(t.mask, w, h)!;
        const out = await segment(predictor, emb, { points: [[centre.x, centre.y]], labels: [1], multimask: true });
        lesionCentre.n++;
        lesionCentre.dice += dice(out.masks[out.best]!, t.mask);
        if (out.masks.some((m) => dice(m, t.organ!) >= 0.8)) lesionCentre.organ++;
      }
      done++;
      progress({ task: 'evaluate structures', done, total });
    }
  }
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
  const row = (structure: string, r: { click1: number[]; best3: number[]; clicks3: number[]; box: number[]; neighbour: number[] }): StructureRow => ({
    structure,
    n: r.click1.length,
    click1: mean(r.click1),
    best3: mean(r.best3),
    clicks3: mean(r.clicks3),
    box: mean(r.box),
    neighbour: mean(r.neighbour),
    neighbourN: r.neighbour.length,
  });
  const rows = [...results].map(([k, v]) => row(k, v)).sort((a, b) => a.structure.localeCompare(b.structure));
  const pooled = { click1: [] as number[], best3: [] as number[], clicks3: [] as number[], box: [] as number[], neighbour: [] as number[] };
  for (const v of results.values()) for (const k of Object.keys(pooled) as (keyof typeof pooled)[]) pooled[k].push(...v[k]);
  return {
    rows,
    all: row('all', pooled),
    lesionCentre: {
      n: lesionCentre.n,
      lesionDice: lesionCentre.n ? lesionCentre.dice / lesionCentre.n : NaN,
      organAmongCandidates: lesionCentre.n ? lesionCentre.organ / lesionCentre.n : NaN,
    },
    slices: slices.length,
  };
}

/** The evaluation as a fixed-width table, one row per structure class and one for all. */
export function formatStructureTable(e: StructureEvaluation): string {
  const head = ['structure', 'n', '1 click', 'best of 3', '3 clicks', 'box', 'neighbour mask', '(n)'];
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
  const lines = [...e.rows, e.all].map((r) => [r.structure, String(r.n), f(r.click1), f(r.best3), f(r.clicks3), f(r.box), f(r.neighbour), String(r.neighbourN)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    fmt(head),
    ...lines.map(fmt),
    `lesion centre clicks: ${e.lesionCentre.n}, Dice of the first candidate ${f(e.lesionCentre.lesionDice)}, the organ among the three candidates in ${Number.isFinite(e.lesionCentre.organAmongCandidates) ? (100 * e.lesionCentre.organAmongCandidates).toFixed(0) : '-'}%`,
  ].join('\n');
}

