/**
 * npm run train:starter: makes the project's starter model from nothing but this repository.
 * A small SAM-shaped model (scripts/starter-config.json) is trained from scratch on an even mix of
 * synthetic site-A dermoscopy phantoms and site-A abdominal CT phantoms (rendered with the
 * soft-tissue window 40/400, the window the demo CT series carries and the viewer sends), with
 * simulated clicks, exported to models/starter, and evaluated on held-out phantoms: dermoscopy of
 * sites A and B and CT of site A. The CT phantoms come from the same generator as the demo CT series
 * (server/src/demo/demo-studies.ts) but from dataset seeds, never the demo's own seeds, so the demo
 * slices stay held out. A demo model, not for clinical use.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportModel } from '../src/model/export.js';
import { weightsFingerprint } from '../src/model/fingerprint.js';
import { SamPredictor } from '../src/predict/predictor.js';
import { parseModelConfig } from '../src/sam/config.js';
import { randomWeights } from '../src/sam/weights.js';
import { writePhantomDataset } from '../src/synth/dataset.js';
import { siteProfile } from '../src/synth/sites.js';
import { datasetSource } from '../src/train/dataset-source.js';
import { evaluate } from '../src/train/evaluate.js';
import { trainableNames } from '../src/train/trainable.js';
import type { SampleSource } from '../src/train/samples.js';
import { TrainingCancelled, train } from '../src/train/trainer.js';
import { consoleProgress } from '../src/util/progress.js';
import { writeJsonAtomic } from '../src/util/atomic-file.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.resolve(here, '..', '..'); // models/ (this file runs from models/dist/scripts)
const WORK = path.resolve(MODELS, '..', '.data', 'starter');
const OUT = path.join(MODELS, 'starter');

export const STARTER_RECIPE = {
  trainImages: 1000,
  evalImages: 200,
  size: 256,
  steps: Number(process.env['STARTER_STEPS'] ?? 1500),
  batch: 8,
  lr: 4e-4,
  weightDecay: 0.01,
  clicks: 3,
  seed: 20261125,
  seeds: { trainA: 101, evalA: 202, evalB: 303, trainCt: 404, evalCt: 505 },
};

/** The samples of several sources one after the other (the trainer shuffles across all of them). */
function concatSources(sources: SampleSource[]): SampleSource {
  const count = sources.reduce((n, s) => n + s.count, 0);
  return {
    count,
    fingerprint: sources.map((s) => s.fingerprint).join('+'),
    description: sources.map((s) => s.description).join(' + '),
    load(i: number) {
      for (const s of sources) {
        if (i < s.count) return s.load(i);
        i -= s.count;
      }
      throw new Error(`sample ${i} is past the end of the training data`);
    },
  };
}

async function main(): Promise<void> {
  const r = STARTER_RECIPE;
  const progress = consoleProgress();
  const config = parseModelConfig(JSON.parse(await fs.readFile(path.join(MODELS, 'scripts', 'starter-config.json'), 'utf8')));
  const sets = {
    trainA: { dir: path.join(WORK, 'train-A'), kind: 'dermoscopy', site: 'A', n: r.trainImages, seed: r.seeds.trainA },
    trainCt: { dir: path.join(WORK, 'train-CT'), kind: 'ct', site: 'A', n: r.trainImages, seed: r.seeds.trainCt },
    evalA: { dir: path.join(WORK, 'eval-A'), kind: 'dermoscopy', site: 'A', n: r.evalImages, seed: r.seeds.evalA },
    evalB: { dir: path.join(WORK, 'eval-B'), kind: 'dermoscopy', site: 'B', n: r.evalImages, seed: r.seeds.evalB },
    evalCt: { dir: path.join(WORK, 'eval-CT'), kind: 'ct', site: 'A', n: r.evalImages, seed: r.seeds.evalCt },
  } as const;
  for (const s of Object.values(sets)) {
    siteProfile(s.site);
    await writePhantomDataset(s.dir, { kind: s.kind, site: s.site, n: s.n, size: r.size, seed: s.seed }, progress);
  }

  const weights = randomWeights(config, r.seed);
  const data = concatSources([await datasetSource(sets.trainA.dir), await datasetSource(sets.trainCt.dir)]);
  // Ctrl-C stops after the current step with a checkpoint; running the script again continues.
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  const result = await train({
    config,
    weights,
    trainable: trainableNames(config, 'all'),
    data,
    steps: r.steps,
    batch: r.batch,
    lr: r.lr,
    weightDecay: r.weightDecay,
    seed: r.seed,
    clicks: r.clicks,
    augment: true,
    inputSize: config.img_size,
    workDir: path.join(WORK, 'run'),
    resume: true,
    checkpointEvery: 250,
    baseFingerprint: `random:${r.seed}:${weightsFingerprint(randomWeights(config, r.seed))}`,
    progress,
    log: (l) => process.stderr.write(`${l}\n`),
    signal: stop.signal,
  }).catch((e: unknown) => {
    if (!(e instanceof TrainingCancelled)) throw e;
    process.stderr.write(`stopped at step ${e.step}; run npm run train:starter again to continue\n`);
    process.exit(3);
  });

  const manifest = await exportModel({
    config,
    weights,
    outDir: OUT,
    name: 'glmedsa-starter',
    source: { initialized_adapters: 0 },
    progress,
  });
  const predictor = await SamPredictor.open(OUT, { device: 'cpu' });
  const metrics: Record<string, { clicks1: number; clicks3: number; iou1: number; n: number }> = {};
  for (const [name, s] of [['dermoscopy site A', sets.evalA], ['dermoscopy site B', sets.evalB], ['CT site A', sets.evalCt]] as const) {
    const d = await datasetSource(s.dir);
    const e = await evaluate(predictor, d.samples(), { clicks: 3, total: d.count, progress });
    metrics[name] = { clicks1: e.byClicks[0]!.dice, clicks3: e.byClicks[2]!.dice, iou1: e.byClicks[0]!.iou, n: e.n };
  }
  const report = {
    model: manifest.name,
    weights_sha256: manifest.weights_sha256,
    parameters: manifest.parameter_counts.total,
    recipe: r,
    training: { seconds: Math.round(result.seconds), images_per_second: +result.imagesPerSecond.toFixed(2), final_loss: result.finalLoss },
    dice: metrics,
  };
  await writeJsonAtomic(path.join(OUT, 'training-report.json'), report);
  process.stdout.write(
    `starter model -> ${OUT} (${manifest.parameter_counts.total.toLocaleString('en-US')} parameters, trained ${Math.round(result.seconds)} s)\n` +
      Object.entries(metrics)
        .map(([k, m]) => `  ${k}: one-click Dice ${m.clicks1.toFixed(3)} (IoU ${m.iou1.toFixed(3)}), three clicks ${m.clicks3.toFixed(3)}, n=${m.n}`)
        .join('\n') +
      '\n',
  );
}

await main();
