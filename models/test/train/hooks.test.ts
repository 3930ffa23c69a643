import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { parseModelConfig } from '../../src/sam/config.js';
import { randomWeights } from '../../src/sam/weights.js';
import { writePhantomDataset } from '../../src/synth/dataset.js';
import { CHECKPOINT_FILE } from '../../src/train/checkpoint.js';
import { datasetSource } from '../../src/train/dataset-source.js';
import { trainableNames } from '../../src/train/trainable.js';
import { type TrainOptions, TrainingCancelled, train } from '../../src/train/trainer.js';
import type { TrainProgress } from '../../src/train/training-progress.js';
import { validate } from '../../src/train/validation.js';
import { tempDir } from '../helpers/paths.js';
import { tinyTrainConfig } from './tiny-config.js';

const TINY = parseModelConfig(tinyTrainConfig('glmedsa'));
const STEPS = 8;

describe('training hooks: progress, validation, cancellation', () => {
  const dir = tempDir();
  let options: (workDir: string, extra?: Partial<TrainOptions>) => Promise<TrainOptions>;

  before(async () => {
    await writePhantomDataset(path.join(dir, 'data'), { kind: 'dermoscopy', site: 'A', n: 6, size: 64, seed: 3 });
    const data = await datasetSource(path.join(dir, 'data'));
    options = async (workDir, extra = {}) => ({
      config: TINY,
      weights: randomWeights(TINY, 1),
      trainable: trainableNames(TINY, 'adapters'),
      data,
      steps: STEPS,
      batch: 2,
      lr: 1e-3,
      seed: 5,
      clicks: 2,
      workDir: path.join(dir, workDir),
      checkpointEvery: 2,
      baseFingerprint: 'tiny:1',
      device: 'cpu',
      ...extra,
    });
  });

  /** The trainable tensors after a run, by name. */
  const trained = (o: TrainOptions) => new Map(o.trainable.map((k) => [k, o.weights.get(k)!.data]));

  test('progress arrives after every step; cancelling stops at once; the resumed run equals an uninterrupted one', async () => {
    // An uninterrupted run, validated along the way.
    const straight = await options('straight');
    const validationData = await datasetSource(path.join(dir, 'data'), 3);
    const events: TrainProgress[] = [];
    const result = await train({
      ...straight,
      onProgress: (p) => events.push(p),
      validation: { every: 4, evaluate: () => validate({ config: TINY, weights: straight.weights, inputSize: 64, data: validationData, device: 'cpu' }) },
    });

    assert.deepEqual(events.map((e) => e.step), [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const e of events) {
      assert.equal(e.steps, STEPS);
      assert.ok(Number.isFinite(e.loss) && e.loss > 0, `loss at step ${e.step}: ${e.loss}`);
      assert.ok(Number.isFinite(e.smoothedLoss), `smoothed loss at step ${e.step}`);
      assert.ok(e.lr > 0 && e.lr <= 1e-3, `lr at step ${e.step}: ${e.lr}`);
      assert.ok(Number.isFinite(e.etaSeconds) && e.etaSeconds >= 0, `ETA at step ${e.step}: ${e.etaSeconds}`);
      assert.ok(e.trainDice >= 0 && e.trainDice <= 1);
      assert.equal(e.checkpointed, e.step % 2 === 0, `checkpoint flag at step ${e.step}`);
      assert.equal(e.validation !== undefined, e.step % 4 === 0, `validation at step ${e.step}`);
    }
    assert.equal(events.at(-1)!.etaSeconds, 0);
    for (const e of events.filter((x) => x.validation)) {
      assert.equal(e.validation!.n, 3);
      assert.ok(e.validation!.dice >= 0 && e.validation!.dice <= 1, `validation Dice ${e.validation!.dice}`);
    }
    assert.deepEqual(result.validation, events.at(-1)!.validation);
    assert.equal(result.finalLoss, events.at(-1)!.loss);
    // JSON-safe, as a child process or an SSE stream would send it.
    assert.deepEqual(JSON.parse(JSON.stringify(events[3])), events[3]);

    // The same run, cancelled from its progress hook after step 3.
    const cancelled = await options('cancelled');
    const controller = new AbortController();
    const seen: number[] = [];
    await assert.rejects(
      train({
        ...cancelled,
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.step);
          if (p.step === 3) controller.abort();
        },
      }),
      (e: unknown) => e instanceof TrainingCancelled && e.step === 3,
    );
    assert.deepEqual(seen, [1, 2, 3], 'no step runs after the abort');
    assert.ok(existsSync(path.join(cancelled.workDir, CHECKPOINT_FILE)), 'the cancelled run left a checkpoint');

    // Resumed in a fresh process state (fresh weights, fresh optimizer), without validation.
    const resumed = await options('cancelled', { resume: true });
    const after: number[] = [];
    const r = await train({ ...resumed, onProgress: (p) => after.push(p.step) });
    assert.equal(r.resumedFrom, 3);
    assert.deepEqual(after, [4, 5, 6, 7, 8]);

    const a = trained(straight);
    const b = trained(resumed);
    assert.ok([...a.keys()].some((k) => k.includes('Global_Adapter')), 'adapters were trained');
    assert.ok(
      [...a].some(([k, t]) => !randomWeights(TINY, 1).get(k)!.data.every((v, i) => v === t[i])),
      'the run changed some parameter',
    );
    for (const [k, t] of a) assert.deepEqual(b.get(k), t, `${k} differs between the straight and the cancelled + resumed run`);
  });

  test('a run aborted before its first step leaves a checkpoint at step 0 that resumes', async () => {
    const o = await options('early', { steps: 2 });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(train({ ...o, signal: controller.signal }), (e: unknown) => e instanceof TrainingCancelled && e.step === 0);
    const r = await train({ ...(await options('early', { steps: 2 })), resume: true });
    assert.equal(r.resumedFrom, 0);
    assert.ok(Number.isFinite(r.finalLoss));
  });
});
