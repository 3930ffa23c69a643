/**
 * npm run bench -- propagate-eval: how well one click propagates through a lesion, on the lesions of
 * CT phantom volumes of sites A and B from seeds the starter never saw (--phantoms stacks: on the
 * older 2D-generated lesion stacks instead).
 *
 * For each stack: the propagation seeded by one click at the lesion's centre on its largest slice,
 * and seeded by the true mask of that slice, against the same stack segmented slice by slice with
 * one click per lesion slice at its centre (an upper bound that costs a radiologist N clicks).
 * Reported: 3D Dice, how many slices the first and last found slices are off, and Dice along the
 * lesion (by distance from the largest slice, in half-extents: where it degrades).
 *
 * The stop rule is chosen here: every stack is propagated once in each direction with only the
 * 'empty' test on, every judged slice's measures are kept, and a rule's outcome is then exact
 * offline (a rule cuts a direction at the first slice it fails; everything before is the same
 * run). A grid of rules is scored on the tuning stacks (mean 3D Dice of both seedings) and the best
 * one, the configured default and the oracle cut (the true ends) are reported on held-out stacks.
 * Rerun it on a retrained starter with --model DIR to retune.
 */
import { loadModelWeights } from '../src/model/load-model.js';
import { SamPredictor } from '../src/predict/predictor.js';
import { encodeRle } from '../src/preprocess/mask-encoding.js';
import { maskPromptLogits } from '../src/preprocess/mask-prompt.js';
import { predictorSegmenter } from '../src/propagate/predictor-segmenter.js';
import { type PromptSettings, propagate } from '../src/propagate/propagate.js';
import { runIntersection, runStats } from '../src/propagate/runs.js';
import { DEFAULT_STOP_RULE, type SliceMeasures, type StopRule, stopCause } from '../src/propagate/stop-rule.js';
import { ctVolume } from '../src/synth/ct-volume.js';
import type { CtOrgan } from '../src/synth/ct.js';
import { lesionStack, lesionStackImage, type LesionStack } from '../src/synth/lesion-stack.js';
import { sliceMask } from '../src/synth/volume-objects.js';
import { regionCentre } from '../src/train/clicks.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const STARTER = path.resolve(here, '..', '..', 'starter');

function opt(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

const PERMISSIVE: StopRule = { minPixels: 1, minSeedFraction: 0, minScore: -Infinity, minScoreRatio: 0, maxGrowth: Infinity, growthFromPixels: 0, minOverlap: 0, maxShift: Infinity, minStability: 0 };

/** The prompt variants compared (the first is the one the loop's defaults use). */
const VARIANTS: Record<string, PromptSettings> = {
  'mask+box+point': { maskInput: true, boxMargin: 0.1, point: true, multimask: false },
  'mask+point': { maskInput: true, boxMargin: null, point: true, multimask: false },
  'box+point': { maskInput: false, boxMargin: 0.1, point: true, multimask: false },
  'mask+point, best of 3': { maskInput: true, boxMargin: null, point: true, multimask: true },
  'mask+box': { maskInput: true, boxMargin: 0.1, point: false, multimask: false },
};

interface Judged {
  index: number;
  measures: SliceMeasures;
  /** Pixels shared with the true mask, and the predicted area. */
  inter: number;
  area: number;
}

/** One propagation run (both directions), as the offline rule evaluation needs it. */
interface Chain {
  seedArea: number;
  seedInter: number;
  seedIndex: number;
  forward: Judged[];
  backward: Judged[];
}

interface StackCase {
  stack: LesionStack;
  truthArea: number[];
  truthCounts: number[][];
  /** prompt variant -> seeding -> chain */
  chains: Record<string, { click: Chain; truth: Chain }>;
  /** one click per true lesion slice: slice -> (inter, area) */
  perSliceClicks: Map<number, { inter: number; area: number }>;
}

interface Outcome {
  dice: number;
  firstOffset: number;
  lastOffset: number;
  /** per true slice (index -> dice) */
  perSlice: Map<number, number>;
}

/** What a rule makes of a chain: cut each direction at its first failing slice. */
function outcome(c: StackCase, chain: Chain, rule: StopRule | 'oracle'): Outcome {
  const kept = new Map<number, { inter: number; area: number }>([[chain.seedIndex, { inter: chain.seedInter, area: chain.seedArea }]]);
  for (const dir of [chain.forward, chain.backward]) {
    for (const j of dir) {
      const stop = rule === 'oracle' ? c.truthArea[j.index] === 0 : stopCause(j.measures, chain.seedArea, rule) !== null;
      if (stop) break;
      kept.set(j.index, { inter: j.inter, area: j.area });
    }
  }
  return score(c, kept);
}

function score(c: StackCase, kept: Map<number, { inter: number; area: number }>): Outcome {
  let inter = 0;
  let sizes = 0;
  const perSlice = new Map<number, number>();
  for (let z = 0; z < c.truthArea.length; z++) {
    const k = kept.get(z);
    inter += k?.inter ?? 0;
    sizes += (k?.area ?? 0) + c.truthArea[z]!;
    if (c.truthArea[z]! > 0) perSlice.set(z, (2 * (k?.inter ?? 0)) / ((k?.area ?? 0) + c.truthArea[z]!));
  }
  const found = [...kept.entries()].filter(([, k]) => k.area > 0).map(([z]) => z);
  const { first, last } = c.stack.lesion;
  return {
    dice: sizes ? (2 * inter) / sizes : 1,
    firstOffset: found.length ? Math.min(...found) - first : NaN,
    lastOffset: found.length ? Math.max(...found) - last : NaN,
    perSlice,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function runCase(predictor: SamPredictor, stack: LesionStack, magnitude: number): Promise<StackCase> {
  const { size } = stack;
  const count = stack.masks.length;
  const source = { count, width: size, height: size, image: async (i: number) => lesionStackImage(stack, i) };
  const segmenter = predictorSegmenter(predictor, source, { keep: count });
  segmenter.prefetch!(Array.from({ length: count }, (_, i) => i));
  const truthCounts = stack.masks.map((m) => encodeRle(m, size, size).counts);
  const truthArea = stack.masks.map((m) => m.reduce((a, b) => a + b, 0));
  const L = predictor.geometry.lowResSize;
  const z0 = stack.lesion.largest;
  const centre = regionCentre(stack.masks[z0]!, size, size)!;
  const oneClick = async (z: number, at: { x: number; y: number }) => {
    const a = await segmenter.segment(z, { points: [[at.x, at.y]], labels: [1], box: null, maskInput: null, multimask: true });
    return a;
  };
  const clickSeed = await oneClick(z0, centre);
  const seeds = {
    click: { counts: clickSeed.counts, lowRes: clickSeed.lowRes },
    truth: { counts: truthCounts[z0]!, lowRes: maskPromptLogits(stack.masks[z0]!, size, size, predictor.inputSize, L, magnitude) },
  };
  const chains: StackCase['chains'] = {};
  for (const [name, prompt] of Object.entries(VARIANTS)) {
    const entry = {} as { click: Chain; truth: Chain };
    for (const kind of ['click', 'truth'] as const) {
      const seed = seeds[kind];
      const chain: Chain = {
        seedIndex: z0,
        seedArea: runStats(seed.counts, size).area,
        seedInter: runIntersection(seed.counts, truthCounts[z0]!),
        forward: [],
        backward: [],
      };
      const areas = new Map<number, { inter: number; area: number }>();
      // A seed the model left empty propagates nothing (the stack scores 0).
      if (chain.seedArea > 0) await propagate({
        count,
        width: size,
        seedIndex: z0,
        seed,
        segmenter,
        rule: PERMISSIVE,
        prompt,
        onSlice: (s) => areas.set(s.index, { inter: runIntersection(s.counts, truthCounts[s.index]!), area: s.area }),
        onJudged: (j) => chain[j.direction].push({ index: j.index, measures: j.measures, inter: 0, area: j.measures.area }),
      });
      for (const dir of [chain.forward, chain.backward]) for (const j of dir) j.inter = areas.get(j.index)?.inter ?? 0;
      entry[kind] = chain;
    }
    chains[name] = entry;
  }
  const perSliceClicks = new Map<number, { inter: number; area: number }>();
  for (let z = 0; z < count; z++) {
    if (!truthArea[z]) continue;
    const c = regionCentre(stack.masks[z]!, size, size)!;
    const a = await oneClick(z, c);
    perSliceClicks.set(z, { inter: runIntersection(a.counts, truthCounts[z]!), area: runStats(a.counts, size).area });
  }
  return { stack, truthArea, truthCounts, chains, perSliceClicks };
}

/** The rules searched. */
function* ruleGrid(): Generator<StopRule> {
  for (const minScore of [-Infinity, 0.2, 0.4, 0.6])
    for (const minScoreRatio of [0, 0.75, 0.8, 0.85, 0.9])
      for (const maxGrowth of [1.6, 2, 3, Infinity])
        for (const minOverlap of [0, 0.1, 0.2, 0.3])
          for (const minSeedFraction of [0, 0.02, 0.05])
            for (const maxShift of [1, 2, 3, Infinity])
              for (const minStability of [0, 0.3, 0.5, 0.6, 0.7, 0.8])
                yield { minPixels: 4, minSeedFraction, minScore, minScoreRatio, maxGrowth, growthFromPixels: 64, minOverlap, maxShift, minStability };
}

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));

function describeRule(r: StopRule): string {
  return `minScore ${fmt(r.minScore, 2)}, minScoreRatio ${r.minScoreRatio}, maxGrowth ${fmt(r.maxGrowth, 1)} (from ${r.growthFromPixels} px), minOverlap ${r.minOverlap}, minSeedFraction ${r.minSeedFraction}, maxShift ${fmt(r.maxShift, 1)}, minStability ${r.minStability}, minPixels ${r.minPixels}`;
}

/**
 * The lesions of a CT phantom volume (synth/ct-volume.ts: an abdomen whose structures continue from
 * slice to slice, 1-3 irregular 3D lesions in organs) as lesion stacks: the volume's slices, and one
 * lesion's mask on each.
 */
function volumeLesions(seed: number, site: string, size: number, slices: number): LesionStack[] {
  const v = ctVolume(seed, { site, size, slices });
  const n = v.rows * v.columns;
  const hu = Array.from({ length: v.slices }, (_, z) => v.hu.subarray(z * n, (z + 1) * n));
  return v.objects
    .filter((o) => o.structure === 'lesion')
    .map((lesion) => {
      const masks = Array.from({ length: v.slices }, (_, z) => sliceMask(v, z, [lesion.id]));
      const areas = masks.map((m) => m.reduce((a, b) => a + b, 0));
      const organ = v.objects.find((o) => o.id === lesion.within)?.structure as CtOrgan;
      return { size, hu, masks, lesion: { first: lesion.firstSlice, last: lesion.lastSlice, largest: areas.indexOf(Math.max(...areas)) }, organ, site };
    });
}

/** The lesion stacks of case `i` of a site: a 2D-generated stack, or every lesion of a phantom volume. */
function lesionCases(kind: string, seed: number, site: string, size: number, slices: number): LesionStack[] {
  return kind === 'stacks' ? [lesionStack(seed, { site, size, slices })] : volumeLesions(seed, site, size, slices);
}

export async function propagateEvalBench(args: string[]): Promise<void> {
  const modelDir = path.resolve(opt(args, 'model', STARTER));
  const perSite = Number(opt(args, 'volumes', '10'));
  const sites = opt(args, 'sites', 'A,B').split(',');
  const size = Number(opt(args, 'size', '256'));
  const phantoms = opt(args, 'phantoms', 'volumes');
  if (phantoms !== 'volumes' && phantoms !== 'stacks') throw new Error(`--phantoms must be volumes or stacks, not ${phantoms}`);
  const slices = Number(opt(args, 'slices', phantoms === 'volumes' ? '64' : '32'));
  const magnitude = Number(opt(args, 'mask-magnitude', '8'));
  const variantsWanted = opt(args, 'prompts', Object.keys(VARIANTS).join('|')).split('|');
  for (const k of Object.keys(VARIANTS)) if (!variantsWanted.includes(k)) delete VARIANTS[k];
  const predictor = await SamPredictor.open(modelDir, { device: 'cpu' });
  const name = (await loadModelWeights(modelDir)).folder.manifest.name;
  const t0 = performance.now();
  const tuning: StackCase[] = [];
  const heldOut: StackCase[] = [];
  for (const site of sites) {
    for (let i = 0; i < perSite; i++) {
      for (const stack of lesionCases(phantoms, 9_000_000 + i, site, size, slices)) tuning.push(await runCase(predictor, stack, magnitude));
      for (const stack of lesionCases(phantoms, 9_500_000 + i, site, size, slices)) heldOut.push(await runCase(predictor, stack, magnitude));
      process.stderr.write(`\rsite ${site}: ${i + 1}/${perSite} ${phantoms === 'volumes' ? 'volume' : 'stack'} pairs (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  process.stderr.write('\n');
  const out: string[] = [];
  out.push(
    phantoms === 'volumes'
      ? `propagation through the lesions of CT phantom volumes (${size}x${size}, ${slices} slices of 2.5 mm), model ${name}; ${perSite} tuning + ${perSite} held-out volumes per site (${sites.join(', ')}): ${tuning.length} + ${heldOut.length} lesions`
      : `propagation on lesion stacks (${size}x${size}, ${slices} slices; lesions 5-24 slices), model ${name}; ${perSite} tuning + ${perSite} held-out stacks per site (${sites.join(', ')})`,
  );

  // The stop rule: best mean 3D Dice on the tuning stacks, per prompt variant.
  const best: Record<string, { rule: StopRule; dice: number }> = {};
  for (const v of Object.keys(VARIANTS)) {
    let top = { rule: DEFAULT_STOP_RULE as StopRule, dice: -1 };
    for (const rule of ruleGrid()) {
      const d = mean(tuning.flatMap((c) => [outcome(c, c.chains[v]!.click, rule).dice, outcome(c, c.chains[v]!.truth, rule).dice]));
      if (d > top.dice + 1e-9) top = { rule, dice: d };
    }
    best[v] = top;
  }

  const sitesOf = (cases: StackCase[]) => [...sites.map((site) => [`site ${site}`, cases.filter((c) => c.stack.site === site)] as const), ['all', cases] as const];
  const rows: (string | number)[][] = [['stacks', 'prompt / stop rule', 'seed', '3D Dice', 'first off', 'last off', '|first|+|last|']];
  const summarize = (cases: StackCase[], get: (c: StackCase) => Outcome) => {
    const os = cases.map(get);
    return {
      dice: mean(os.map((o) => o.dice)),
      first: mean(os.map((o) => o.firstOffset).filter(Number.isFinite)),
      last: mean(os.map((o) => o.lastOffset).filter(Number.isFinite)),
      abs: mean(os.map((o) => Math.abs(o.firstOffset) + Math.abs(o.lastOffset)).filter(Number.isFinite)),
    };
  };
  const v0 = Object.keys(VARIANTS)[0]!;
  for (const [label, cases] of sitesOf(heldOut)) {
    const lines: [string, string, StopRule | 'oracle'][] = [
      [v0, 'default', DEFAULT_STOP_RULE],
      [v0, 'tuned', best[v0]!.rule],
      [v0, 'no rule (empty only)', PERMISSIVE],
      [v0, 'oracle ends', 'oracle'],
      ...Object.keys(VARIANTS)
        .slice(1)
        .map((v) => [v, 'default', DEFAULT_STOP_RULE] as [string, string, StopRule]),
    ];
    for (const [v, rname, rule] of lines) {
      for (const kind of ['click', 'truth'] as const) {
        const x = summarize(cases, (c) => outcome(c, c.chains[v]![kind], rule));
        rows.push([`${label} (${cases.length})`, `${v} / ${rname}`, kind === 'click' ? '1 click' : 'true mask', fmt(x.dice), fmt(x.first, 2), fmt(x.last, 2), fmt(x.abs, 2)]);
      }
    }
    const per = summarize(cases, (c) => score(c, c.perSliceClicks));
    rows.push([`${label} (${cases.length})`, 'slice by slice, 1 click per lesion slice', 'N clicks', fmt(per.dice), fmt(per.first, 2), fmt(per.last, 2), fmt(per.abs, 2)]);
  }
  out.push('held-out stacks:');
  out.push(table(rows));
  out.push('first off / last off: found first slice - true first slice, found last - true last (negative first or positive last: beyond the lesion), mean over stacks');
  for (const v of Object.keys(VARIANTS)) out.push(`tuned rule for ${v} (tuning 3D Dice ${fmt(best[v]!.dice)}): ${describeRule(best[v]!.rule)}`);
  out.push(`default rule: ${describeRule(DEFAULT_STOP_RULE)}`);
  // Which test ended each direction under the default rule, and whether the object had really ended there.
  const causes = new Map<string, { beyond: number; inside: number }>();
  for (const c of heldOut) {
    for (const kind of ['click', 'truth'] as const) {
      const chain = c.chains[v0]![kind];
      if (!chain.seedArea) continue;
      for (const dir of [chain.forward, chain.backward]) {
        const stop = dir.find((j) => stopCause(j.measures, chain.seedArea, DEFAULT_STOP_RULE) !== null);
        const cause = stop ? stopCause(stop.measures, chain.seedArea, DEFAULT_STOP_RULE)! : 'series end';
        const e = causes.get(cause) ?? { beyond: 0, inside: 0 };
        if (!stop || c.truthArea[stop.index] === 0) e.beyond++;
        else e.inside++;
        causes.set(cause, e);
      }
    }
  }
  out.push(`what ended each direction (default rule, ${v0}, held-out): ${[...causes.entries()].map(([k, e]) => `${k} ${e.beyond + e.inside} (${e.inside} inside the lesion)`).join(', ')}`);

  // Dice along the lesion, by distance from the largest slice in half-extents.
  const bins = [0, 0.25, 0.5, 0.75, 1.01];
  const along: (string | number)[][] = [['stacks', 'distance from the largest slice', 'slices', `1 click, ${v0}, default rule`, 'true mask, default rule', '1 click per slice']];
  for (const [label, cases] of sitesOf(heldOut)) {
    for (let b = 0; b < bins.length - 1; b++) {
      const vals = { click: [] as number[], truth: [] as number[], per: [] as number[] };
      for (const c of cases) {
        const { first, last, largest } = c.stack.lesion;
        const half = Math.max(largest - first, last - largest, 1);
        const click = outcome(c, c.chains[v0]!.click, DEFAULT_STOP_RULE).perSlice;
        const truth = outcome(c, c.chains[v0]!.truth, DEFAULT_STOP_RULE).perSlice;
        const per = score(c, c.perSliceClicks).perSlice;
        for (const [z, d] of click) {
          const r = Math.abs(z - largest) / half;
          if (r >= bins[b]! && r < bins[b + 1]!) {
            vals.click.push(d);
            vals.truth.push(truth.get(z)!);
            vals.per.push(per.get(z)!);
          }
        }
      }
      along.push([label, `${bins[b]}-${Math.min(1, bins[b + 1]!)}`, vals.click.length, fmt(mean(vals.click)), fmt(mean(vals.truth)), fmt(mean(vals.per))]);
    }
  }
  out.push('Dice on each lesion slice, by distance from the largest slice (in half-extents of the lesion), held-out stacks:');
  out.push(table(along));
  if (args.includes('--verbose')) {
    const v = Object.keys(VARIANTS)[0]!;
    for (const [set, cases] of [['tuning', tuning], ['held-out', heldOut]] as const) {
      for (const c of cases) {
        const o = outcome(c, c.chains[v]!.click, PERMISSIVE);
        const d = outcome(c, c.chains[v]!.click, DEFAULT_STOP_RULE);
        const trail = (js: Judged[]) => js.map((j) => `${j.index}:${j.measures.area}/${fmt(j.measures.score, 2)}/${fmt(j.measures.stability, 2)}/${fmt(j.measures.overlap, 2)}/${c.truthArea[j.index]}`).join(' ');
        out.push(`${set} site ${c.stack.site} ${c.stack.organ} lesion ${c.stack.lesion.first}-${c.stack.lesion.last} (largest ${c.stack.lesion.largest}): no rule ${fmt(o.dice)}, default ${fmt(d.dice)}; seed area ${c.chains[v]!.click.seedArea} (true ${c.truthArea[c.stack.lesion.largest]})`);
        out.push(`  forward  (index:area/score/stability/overlap/true area) ${trail(c.chains[v]!.click.forward)}`);
        out.push(`  backward ${trail(c.chains[v]!.click.backward)}`);
      }
    }
  }
  out.push(`(${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
  await predictor.release();
}
