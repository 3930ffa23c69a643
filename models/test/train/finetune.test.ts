import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadModelWeights } from '../../src/model/load-model.js';
import { SamPredictor } from '../../src/predict/predictor.js';
import { parseModelConfig } from '../../src/sam/config.js';
import { weightsForVariant } from '../../src/sam/weights.js';
import { writePhantomDataset } from '../../src/synth/dataset.js';
import { datasetSource } from '../../src/train/dataset-source.js';
import { evaluate } from '../../src/train/evaluate.js';
import { trainableNames } from '../../src/train/trainable.js';
import { train } from '../../src/train/trainer.js';
import { MODELS_ROOT, tempDir } from '../helpers/paths.js';

test('fine-tuning GLMed-SA adapters on site-B phantoms raises the starter model\'s Dice on held-out site-B images', async () => {
  const dir = tempDir();
  const base = await loadModelWeights(path.join(MODELS_ROOT, 'starter'));
  const S = base.folder.manifest.input_size;
  await writePhantomDataset(path.join(dir, 'train'), { kind: 'dermoscopy', site: 'B', n: 80, size: S, seed: 1101 });
  await writePhantomDataset(path.join(dir, 'test'), { kind: 'dermoscopy', site: 'B', n: 30, size: S, seed: 2202 });
  const testData = await datasetSource(path.join(dir, 'test'));

  const before = await evaluate(await SamPredictor.fromWeights(base.config, base.weights, S, { device: 'cpu' }), testData.samples(), { clicks: 1 });

  const config = parseModelConfig({ ...base.config, variant: 'glmedsa' });
  const { weights } = weightsForVariant(config, base.weights, { seed: 3 });
  const result = await train({
    config,
    weights,
    trainable: trainableNames(config, 'adapters'),
    data: await datasetSource(path.join(dir, 'train')),
    steps: 200,
    batch: 4,
    lr: 1e-3,
    seed: 3,
    inputSize: S,
    workDir: path.join(dir, 'run'),
    baseFingerprint: base.fingerprint,
    device: 'cpu',
  });
  assert.ok(Number.isFinite(result.finalLoss));

  const after = await evaluate(await SamPredictor.fromWeights(config, weights, S, { device: 'cpu' }), testData.samples(), { clicks: 1 });
  assert.equal(after.n, 30);
  assert.ok(after.dice > before.dice + 0.1, `one-click Dice on held-out site B: ${before.dice.toFixed(3)} before, ${after.dice.toFixed(3)} after`);
});
