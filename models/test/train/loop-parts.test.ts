import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { rgbImage } from '../../src/image/index.js';
import { parseModelConfig } from '../../src/sam/config.js';
import { writePhantomDataset } from '../../src/synth/dataset.js';
import { BatchSource } from '../../src/train/batch-source.js';
import { ClickSimulator } from '../../src/train/click-simulator.js';
import { stepRng } from '../../src/train/clicks.js';
import { datasetSource } from '../../src/train/dataset-source.js';
import { makeTrainSample } from '../../src/train/samples.js';
import { EtaClock } from '../../src/train/training-progress.js';
import { tempDir } from '../helpers/paths.js';

const S = 64;
const L = 16;

/** A sample whose object is the rectangle [x0, x1) x [y0, y1) of an S x S image. */
function rectSample(x0: number, y0: number, x1: number, y1: number) {
  const mask = new Uint8Array(S * S);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) mask[y * S + x] = 1;
  return makeTrainSample(rgbImage(S, S), mask, S, L);
}

test('the click simulator starts inside the object and corrects where the model missed it', async () => {
  const samples = [rectSample(8, 8, 40, 24), rectSample(32, 32, 56, 60)];
  const counts = new Set<number>();
  for (let seed = 0; seed < 40; seed++) {
    const simulator = new ClickSimulator({ inputSize: S, lowRes: L, maxClicks: 2 });
    const shownCalls: number[] = [];
    // The model shows nothing: the only error is the whole object, a false negative.
    const prompts = await simulator.simulate(samples, stepRng(seed, 0, 1), async (clicks, maskInput) => {
      shownCalls.push(clicks[0]!.length);
      assert.equal(maskInput, null, 'the first forward pass has no mask prompt');
      return new Float32Array(2 * L * L).fill(-5);
    });
    const n = prompts.clicks[0]!.length;
    counts.add(n);
    assert.deepEqual(shownCalls, n === 2 ? [1] : [], 'one forward pass per corrective click');
    prompts.clicks.forEach((cs, b) => {
      assert.equal(cs.length, n, 'every image gets the same number of clicks');
      const first = cs[0]!;
      assert.equal(first.label, 1);
      assert.equal(samples[b]!.maskS[first.y * S + first.x], 1, `first click of image ${b} is inside its object`);
      if (n === 2) {
        const second = cs[1]!;
        assert.equal(second.label, 1, 'a missed object gets a positive click');
        assert.equal(samples[b]!.maskS[Math.floor(second.y) * S + Math.floor(second.x)], 1, `corrective click of image ${b} is inside the object`);
      }
    });
    if (n === 2) assert.equal(prompts.maskInput!.length, 2 * L * L, 'the shown logits become the mask prompt');
  }
  assert.deepEqual([...counts].sort(), [1, 2], 'both click counts are drawn');
});

test('the click simulator places a negative click on a false positive', async () => {
  const samples = [rectSample(0, 0, 16, 16)];
  for (let seed = 0; seed < 40; seed++) {
    const prompts = await new ClickSimulator({ inputSize: S, lowRes: L, maxClicks: 2 }).simulate(samples, stepRng(seed, 0, 1), async () => {
      // The object exactly, plus a large false positive in the bottom-right quarter.
      const logits = new Float32Array(L * L).fill(-5);
      for (let y = 0; y < L; y++) for (let x = 0; x < L; x++) if ((x < 4 && y < 4) || (x >= 8 && y >= 8)) logits[y * L + x] = 5;
      return logits;
    });
    const second = prompts.clicks[0]![1];
    if (!second) continue;
    assert.equal(second.label, 0);
    assert.ok(second.x >= 32 && second.y >= 32, `negative click at (${second.x}, ${second.y}) lies in the false positive`);
    return;
  }
  assert.fail('no seed drew two clicks');
});

test('the batch source visits every item once per epoch, and the same step always gets the same batch', async () => {
  const dir = tempDir();
  await writePhantomDataset(path.join(dir, 'data'), { kind: 'dermoscopy', site: 'A', n: 5, size: 64, seed: 9 });
  const data = await datasetSource(path.join(dir, 'data'));
  const config = parseModelConfig({
    variant: 'sam', img_size: 64, patch_size: 16, embed_dim: 32, depth: 2, heads: 2, window: 2, global_attn_indexes: [1],
    prompt_dim: 32, decoder_heads: 2, decoder_mlp_dim: 64, iou_head_hidden_dim: 32,
  });
  const open = () =>
    BatchSource.open({ config, weights: new Map(), data, batch: 1, inputSize: S, seed: 4, augment: false, encoderTrains: true, session: { device: 'cpu' } });
  const a = await open();
  const b = await open();
  // With batch 1 and no flips, step k's image is item perm_epoch[k mod 5]; its input identifies it.
  const inputs: Float32Array[] = [];
  for (let step = 0; step < 10; step++) {
    const x = await a.batch(step, stepRng(4, step, 1));
    assert.deepEqual(Object.keys(x.imageFeed), ['image']);
    assert.deepEqual(x.targets.shape, [1, 1, L, L]);
    inputs.push(x.imageFeed['image']!.data as Float32Array);
  }
  const ids = inputs.map((x) => inputs.findIndex((y) => y.every((v, i) => v === x[i])));
  for (const epoch of [ids.slice(0, 5), ids.slice(5, 10)]) assert.equal(new Set(epoch).size, 5, `an epoch repeats an image: ${ids.join(',')}`);
  assert.notDeepEqual(ids.slice(5, 10), ids.slice(0, 5), 'epochs are reshuffled');
  // Another source, asked out of order (as a resumed run does), gives the same batch.
  const late = await b.batch(7, stepRng(4, 7, 1));
  assert.deepEqual(late.imageFeed['image']!.data, inputs[7]);
  await a.release();
  await b.release();
});

test('the ETA is the mean step time after the first (session-building) step, times the steps left', () => {
  const clock = new EtaClock(0);
  assert.equal(clock.stepDone(5000, 10), 50); // only the first step is known: 5 s per step
  assert.equal(clock.stepDone(6000, 9), 9); // later steps take 1 s
  assert.equal(clock.stepDone(9000, 8), 16); // (9000 - 5000) / 2 steps = 2 s
  assert.equal(clock.stepDone(10000, 0), 0);
});
