/**
 * npm run bench -- table1: a miniature of the paper's Table I on phantoms. The starter model
 * (trained on site A) is adapted to site B by each method with the same data, steps and seed,
 * and evaluated on held-out site-B images; plus the cost of a train step relative to a forward
 * pass of the same batch.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelWeights } from '../src/model/load-model.js';
import { serializeModel } from '../src/onnx/serialize.js';
import { SamPredictor } from '../src/predict/predictor.js';
import { openSession, runSession } from '../src/runtime/session.js';
import { type Variant, parseModelConfig } from '../src/sam/config.js';
import { countParameters } from '../src/sam/parameters.js';
import { weightsForVariant } from '../src/sam/weights.js';
import { writePhantomDataset } from '../src/synth/dataset.js';
import { float32, numel } from '../src/tensor.js';
import { datasetSource } from '../src/train/dataset-source.js';
import { evaluate } from '../src/train/evaluate.js';
import { buildTrainGraph } from '../src/train/train-graph.js';
import { type TrainableSet, trainableNames } from '../src/train/trainable.js';
import { train } from '../src/train/trainer.js';
import { median, table, timeRuns } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const STARTER = path.resolve(here, '..', '..', 'starter');

interface Row {
  method: string;
  variant: Variant;
  set: TrainableSet | null;
}

const ROWS: Row[] = [
  { method: 'SAM zero-shot', variant: 'sam', set: null },
  { method: 'Decoder-only fine-tune', variant: 'sam', set: 'decoder' },
  { method: 'Med-SA (local adapters)', variant: 'medsa', set: 'adapters' },
  { method: 'GMed-SA (global adapter)', variant: 'gmedsa', set: 'adapters' },
  { method: 'GLMed-SA (both)', variant: 'glmedsa', set: 'adapters' },
];

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export async function table1Bench(args: string[]): Promise<void> {
  const steps = flag(args, 'steps', 300);
  const batch = flag(args, 'batch', 4);
  const lr = flag(args, 'lr', 1e-3);
  const trainN = flag(args, 'train', 200);
  const testN = flag(args, 'test', 100);
  const seed = flag(args, 'seed', 7);
  const clicks = flag(args, 'clicks', 3);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'glmedsa-table1-'));
  try {
    const base = await loadModelWeights(STARTER);
    const S = base.folder.manifest.input_size;
    process.stdout.write(
      `Table I on phantoms: ${base.folder.manifest.name} (trained on site A) adapted to site B; ${trainN} site-B training images, ` +
        `${testN} held-out site-B test images, ${steps} steps, batch ${batch}, lr ${lr}, up to ${clicks} simulated clicks, seed ${seed}\n`,
    );
    const trainDir = path.join(work, 'train-B');
    const testDir = path.join(work, 'test-B');
    await writePhantomDataset(trainDir, { kind: 'dermoscopy', site: 'B', n: trainN, size: S, seed: 4000 + seed });
    await writePhantomDataset(testDir, { kind: 'dermoscopy', site: 'B', n: testN, size: S, seed: 9000 + seed });
    const trainData = await datasetSource(trainDir);
    const testData = await datasetSource(testDir);

    const rows: (string | number)[][] = [['method', 'total params', 'tunable params', 'Dice (1 click)', 'IoU (1 click)', 'Dice (3 clicks)', 'train s']];
    for (const row of ROWS) {
      process.stderr.write(`  ${row.method}...\n`);
      const config = parseModelConfig({ ...base.config, variant: row.variant });
      const { weights } = weightsForVariant(config, base.weights, { seed });
      const tunable = row.set ? trainableNames(config, row.set) : [];
      let seconds = 0;
      if (row.set) {
        const r = await train({
          config, weights, trainable: tunable, data: trainData, steps, batch, lr, seed, clicks,
          inputSize: S, workDir: path.join(work, row.method.replace(/\W+/g, '-')), baseFingerprint: base.fingerprint, device: 'cpu',
        });
        seconds = r.seconds;
      }
      const predictor = await SamPredictor.fromWeights(config, weights, S, { device: 'cpu' });
      const e = await evaluate(predictor, testData.samples(), { clicks: 3 });
      rows.push([
        row.method,
        countParameters(config).total.toLocaleString('en-US'),
        tunable.reduce((n, k) => n + numel(weights.get(k)!.shape), 0).toLocaleString('en-US'),
        e.byClicks[0]!.dice.toFixed(4),
        e.byClicks[0]!.iou.toFixed(4),
        e.byClicks[2]!.dice.toFixed(4),
        row.set ? seconds.toFixed(0) : '-',
      ]);
    }
    process.stdout.write(`${table(rows)}\n`);

    // Cost of one GLMed-SA train step (forward + loss + backward) against the forward pass alone.
    const config = parseModelConfig({ ...base.config, variant: 'glmedsa' });
    const { weights } = weightsForVariant(config, base.weights, { seed });
    const trainable = trainableNames(config, 'adapters');
    const E = S / config.patch_size;
    const feeds = {
      image: float32([batch, 3, S, S], Array.from({ length: batch * 3 * S * S }, (_, i) => Math.sin(i))),
      point_coords: float32([batch, 2, 2], Array.from({ length: batch * 4 }, (_, i) => (i % 2 ? 0 : S / 2))),
      point_labels: float32([batch, 2], Array.from({ length: batch * 2 }, (_, i) => (i % 2 ? -1 : 1))),
      mask_input: float32([batch, 1, 4 * E, 4 * E]),
      has_mask_input: float32([batch]),
      targets: float32([batch, 1, 4 * E, 4 * E]),
      ...Object.fromEntries(trainable.map((k) => [k, weights.get(k)!])),
    };
    const graph = (withGradients: boolean) => buildTrainGraph({ config, weights, trainable, batch, points: 2, inputSize: S, maskInput: true, withGradients });
    const fwd = await openSession(serializeModel(graph(false)), { device: 'cpu' });
    const step = await openSession(serializeModel(graph(true)), { device: 'cpu' });
    const { targets: _unused, ...fwdFeeds } = feeds;
    const tf = median(await timeRuns(10, () => runSession(fwd, fwdFeeds), 2));
    const ts = median(await timeRuns(10, () => runSession(step, feeds), 2));
    process.stdout.write(
      `GLMed-SA train step (batch ${batch}, forward + loss + backward): median ${ts.toFixed(1)} ms = ${(ts / tf).toFixed(2)}x the forward pass (${tf.toFixed(1)} ms)\n`,
    );
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
