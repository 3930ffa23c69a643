/**
 * The per-structure evaluation: rows per structure class with every prompt kind, the same seed
 * giving the same figures, and `glmedsa eval` reporting it on a volume dataset. Run with the
 * committed starter model (real onnxruntime sessions) on a small held-out volume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SamPredictor } from '../../src/predict/predictor.js';
import { writeVolumeDataset } from '../../src/synth/volume-dataset.js';
import { evaluateStructures, formatStructureTable } from '../../src/train/structure-eval.js';
import { runCli } from '../cli/run-cli.js';
import { MODELS_ROOT, tempDir } from '../helpers/paths.js';

const root = tempDir('glmedsa-structure-eval-');
const STARTER = path.join(MODELS_ROOT, 'starter');

test('per structure class: one click, best of three, three clicks, box and neighbour mask, reproducibly', async () => {
  const dir = path.join(root, 'vol');
  await writeVolumeDataset(dir, { site: 'A', volumes: 1, seed: 31, slices: 16, sliceSpacingMm: 10 });
  const predictor = await SamPredictor.open(STARTER, { device: 'cpu', threads: 1 });
  try {
    const e = await evaluateStructures(predictor, dir, { every: 5, perClass: 3, seed: 1 });
    assert.equal(e.slices, 4, 'slices 0, 5, 10, 15');
    const classes = e.rows.map((r) => r.structure);
    for (const c of ['liver', 'vertebra', 'aorta', 'subcutaneous fat']) assert.ok(classes.includes(c), `${c} among ${classes}`);
    for (const r of [...e.rows, e.all]) {
      for (const v of [r.click1, r.best3, r.clicks3, r.box]) assert.ok(v >= 0 && v <= 1, `${r.structure}: ${v}`);
      assert.ok(r.best3 >= r.click1 - 1e-9, `${r.structure}: the best of three is at least the first candidate`);
      assert.ok(r.neighbourN <= r.n);
    }
    for (const r of e.rows) assert.ok(r.n >= 1 && r.n <= 3, `${r.structure}: ${r.n} targets`);
    assert.equal(e.all.n, e.rows.reduce((s, r) => s + r.n, 0));
    const again = await evaluateStructures(predictor, dir, { every: 5, perClass: 3, seed: 1 });
    assert.deepEqual(again, e, 'same seed, same clicks, same figures');
    const table = formatStructureTable(e);
    assert.match(table, /^structure +n +1 click +best of 3 +3 clicks +box +neighbour mask +\(n\)/);
    assert.match(table, /lesion centre clicks: \d+/);

    const cli = await runCli(['eval', '--model', STARTER, '--data', dir, '--every', '5', '--per-class', '3', '--seed', '1', '--json', '--device', 'cpu']);
    assert.equal(cli.code, 0, cli.stderr);
    const json = JSON.parse(cli.stdout) as { structures: unknown[]; all: { n: number; click1: number }; lesions: { n: number } };
    assert.equal(json.all.n, e.all.n);
    assert.ok(Math.abs(json.all.click1 - e.all.click1) < 1e-6, 'the CLI reports the same figures');
    assert.deepEqual(json.structures.length, e.rows.length);
  } finally {
    await predictor.release();
  }
});
