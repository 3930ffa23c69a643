/**
 * Pre-training with SAM's recipe on a tiny model: every prompt mode runs through real onnxruntime
 * sessions, the same seed gives the same weights, and a run stopped and resumed ends exactly where
 * an uninterrupted one does. The sources read a labelled volume dataset, a lesion dataset and
 * generic scenes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseModelConfig } from '../../src/sam/config.js';
import { randomWeights, type Weights } from '../../src/sam/weights.js';
import { writePhantomDataset } from '../../src/synth/dataset.js';
import { writeVolumeDataset } from '../../src/synth/volume-dataset.js';
import { lesionSource, neighbourMask, sceneSource, volumeSliceSource } from '../../src/train/pretrain/labelled-sources.js';
import { pretrain, type PretrainOptions } from '../../src/train/pretrain/pretrain.js';
import { PROMPT_MODES } from '../../src/train/pretrain/prompt-recipe.js';
import { trainableNames } from '../../src/train/trainable.js';
import { TrainingCancelled } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/paths.js';
import { tinyTrainConfig } from './tiny-config.js';

const root = tempDir('glmedsa-pretrain-');
const config = parseModelConfig(tinyTrainConfig('sam'));
let data: { volumes: string; lesions: string } | undefined;

async function datasets(): Promise<{ volumes: string; lesions: string }> {
  if (!data) {
    data = { volumes: path.join(root, 'volumes'), lesions: path.join(root, 'lesions') };
    await writeVolumeDataset(data.volumes, { site: 'A', volumes: 1, seed: 2, size: 64, slices: 8, sliceSpacingMm: 20 });
    await writePhantomDataset(data.lesions, { kind: 'dermoscopy', site: 'A', n: 4, size: 64, seed: 3 });
  }
  return data;
}

async function options(workDir: string, over: Partial<PretrainOptions> = {}): Promise<PretrainOptions> {
  const d = await datasets();
  return {
    config,
    weights: randomWeights(config, 7),
    trainable: trainableNames(config, 'all'),
    sources: [
      { source: await volumeSliceSource(d.volumes), weight: 2 },
      { source: await lesionSource(d.lesions), weight: 1, flipVertical: true },
      { source: sceneSource(4, 10, 64), weight: 1, flipVertical: true },
    ],
    steps: 16,
    batch: 2,
    targetsPerImage: 3,
    lr: 1e-3,
    weightDecay: 0.01,
    warmup: 2,
    seed: 11,
    // every mode appears within a few steps
    modeWeights: { click: 1, box: 1, 'click+box': 1, corrective: 1, neighbour: 1 },
    workDir,
    resume: true,
    checkpointEvery: 3,
    baseFingerprint: 'test',
    device: 'cpu',
    threads: 1,
    ...over,
  };
}

function same(a: Weights, b: Weights): boolean {
  for (const [k, t] of a) {
    const u = b.get(k)!;
    for (let i = 0; i < t.data.length; i++) if (t.data[i] !== u.data[i]) return false;
  }
  return true;
}

test('sources: every structure piece of a volume slice is a target, with the neighbouring slices to prompt from', async () => {
  const d = await datasets();
  const src = await volumeSliceSource(d.volumes);
  assert.equal(src.count, 8);
  const s = await src.load(4);
  assert.ok(s.targets.length >= 5, `${s.targets.length} targets`);
  assert.deepEqual(s.neighbours.map((n) => n.offset).sort(), [-1, -2, -3, 1, 2, 3].sort());
  const liver = s.targets.find((t) => t.kind === 'liver');
  if (liver) {
    const m = neighbourMask(liver, s.neighbours.find((n) => n.offset === 1)!.labels, 64, 64);
    assert.ok(m === null || m.some((v) => v));
  }
  for (const t of s.targets) assert.equal(t.area, t.mask.reduce((a, v) => a + v, 0));
  const scenes = sceneSource(4, 10, 64);
  assert.ok((await scenes.load(0)).targets.every((t) => t.kind === 'shape'));
  assert.equal((await (await lesionSource(d.lesions)).load(0)).targets.length, 1);
});

test('every prompt mode trains; the same seed gives the same weights; a resumed run ends where an uninterrupted one does', async () => {
  const straight = await options(path.join(root, 'a'));
  const modes = new Set<string>();
  const r = await pretrain({ ...straight, progress: (e) => Object.keys(e.info ?? {}).forEach((k) => modes.add(k)) });
  assert.equal(r.steps, 16);
  assert.ok(Number.isFinite(r.finalLoss));
  assert.equal(r.totalSeconds, r.seconds, 'a run in one sitting: its whole time is this sitting');
  for (const m of PROMPT_MODES) assert.ok(modes.has(m), `mode ${m} ran (saw ${[...modes]})`);

  const again = await options(path.join(root, 'b'));
  await pretrain(again);
  assert.ok(same(straight.weights, again.weights), 'same seed, same weights');

  const stop = new AbortController();
  const interrupted = await options(path.join(root, 'c'));
  const firstSittingStarted = performance.now();
  await assert.rejects(
    pretrain({ ...interrupted, signal: stop.signal, progress: (e) => (e.done === 6 ? stop.abort() : undefined) }),
    (e: unknown) => e instanceof TrainingCancelled && e.step === 6,
  );
  const firstSitting = (performance.now() - firstSittingStarted) / 1000;
  const resumed = await options(path.join(root, 'c'));
  const rr = await pretrain(resumed);
  assert.equal(rr.resumedFrom, 6);
  // The checkpoint carries the first sitting's time: the whole run counts it, and no more than it took.
  assert.ok(rr.totalSeconds !== null && rr.totalSeconds > rr.seconds, `whole ${rr.totalSeconds} s counts the first sitting beside this one's ${rr.seconds} s`);
  assert.ok(rr.totalSeconds - rr.seconds <= firstSitting, `the first sitting counted ${rr.totalSeconds - rr.seconds} s, it took ${firstSitting} s`);
  assert.ok(same(straight.weights, resumed.weights), 'resumed = uninterrupted');
  assert.ok(!same(straight.weights, randomWeights(config, 7)), 'training changed the weights');
});
