/**
 * `glmedsa eval --json` is what the server's job runner measures validation Dice with: its one
 * line is the contract's summary, with the figures the library's own evaluate() gives in process
 * for the same model, data, clicks and thread count.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { EvalSummarySchema } from '../../src/cli/contract.js';
import { loadModelWithAdapter } from '../../src/model/load-model.js';
import { SamPredictor } from '../../src/predict/predictor.js';
import { datasetSource } from '../../src/train/dataset-source.js';
import { evaluate } from '../../src/train/evaluate.js';
import { writeJsonAtomic } from '../../src/util/atomic-file.js';
import { tempDir } from '../helpers/paths.js';
import { tinyTrainConfig } from '../train/tiny-config.js';
import { runCli } from './run-cli.js';

const dir = tempDir();
const base = path.join(dir, 'base');
const data = path.join(dir, 'data');

before(async () => {
  await writeJsonAtomic(path.join(dir, 'tiny.json'), tinyTrainConfig('glmedsa'));
  assert.equal((await runCli(['export', '--config', path.join(dir, 'tiny.json'), '--random-weights', '--seed', '3', '--out', base])).code, 0);
  assert.equal((await runCli(['synth', '--site', 'B', '--n', '4', '--size', '64', '--seed', '5', '--out', data])).code, 0);
});

test('glmedsa eval --json prints one summary line with the figures of evaluate() in process', async () => {
  const r = await runCli(['eval', '--model', base, '--data', data, '--clicks', '2', '--threads', '1', '--device', 'cpu', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  const summary = EvalSummarySchema.parse(JSON.parse(lines[0]!));

  const model = await loadModelWithAdapter(base);
  const predictor = await SamPredictor.fromWeights(model.config, model.weights, model.folder.manifest.input_size, { device: 'cpu', threads: 1 });
  try {
    const set = await datasetSource(data);
    const expected = await evaluate(predictor, set.samples(), { clicks: 2, total: set.count });
    assert.deepEqual(summary, { dice: expected.dice, iou: expected.iou, n: expected.n });
    assert.equal(summary.n, 4);
  } finally {
    await predictor.release();
  }
});

test('glmedsa eval refuses a thread count that is not a positive integer', async () => {
  const r = await runCli(['eval', '--model', base, '--data', data, '--threads', '0', '--json']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--threads expects an integer >= 1/);
});
