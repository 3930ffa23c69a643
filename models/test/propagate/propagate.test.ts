/**
 * The propagation loop. Its logic (where each direction ends, what prompts each slice, limits,
 * cancellation, failures) on a segmenter that answers each slice's true mask; then the real
 * starter model on a phantom lesion stack, through the command line too.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readPng, writeMaskPng, writePng } from '../../src/image/index.js';
import { SamPredictor } from '../../src/predict/predictor.js';
import { encodeRle } from '../../src/preprocess/mask-encoding.js';
import { type PropagatedSlice, propagate } from '../../src/propagate/propagate.js';
import { lesionStackSource } from '../../src/propagate/slice-sources.js';
import { propagateStack } from '../../src/propagate/stack-propagation.js';
import type { SliceAnswer, SlicePrompt, SliceSegmenter } from '../../src/propagate/types.js';
import { volumeOverlap } from '../../src/propagate/volume-metrics.js';
import { lesionStack, lesionStackImage } from '../../src/synth/lesion-stack.js';
import { regionCentre } from '../../src/train/clicks.js';
import { runCli } from '../cli/run-cli.js';
import { MODELS_ROOT, tempDir } from '../helpers/paths.js';

const STARTER = path.join(MODELS_ROOT, 'starter');
const SIZE = 96;
const stack = lesionStack(31, { size: SIZE, slices: 24 });

/** Answers the true mask of each slice with confident logits whose first value carries the slice index (index + 2), to check what prompts the next one. */
class TruthSegmenter implements SliceSegmenter {
  prompts = new Map<number, SlicePrompt>();
  prefetched: number[][] = [];
  calls: number[] = [];
  constructor(
    private readonly masks: readonly Uint8Array[],
    private readonly fail?: { at: number; error: Error },
  ) {}
  prefetch(indices: number[]): void {
    this.prefetched.push(indices);
  }
  async segment(index: number, prompt: SlicePrompt): Promise<SliceAnswer> {
    this.calls.push(index);
    this.prompts.set(index, prompt);
    await new Promise((r) => setImmediate(r));
    if (this.fail && index === this.fail.at) throw this.fail.error;
    return { counts: encodeRle(this.masks[index]!, SIZE, SIZE).counts, score: 0.9, lowRes: Float32Array.of(index + 2, 10, -10, -10) };
  }
}

const seedOf = (z: number) => ({ counts: encodeRle(stack.masks[z]!, SIZE, SIZE).counts, lowRes: new Float32Array(4).fill(-1) });

describe('the loop on true masks', () => {
  const { first, last, largest } = stack.lesion;

  test('both directions from the largest slice keep exactly the lesion slices and end where it ends', async () => {
    assert.ok(first > 0 && last < 23 && first < largest && largest < last, JSON.stringify(stack.lesion));
    const seg = new TruthSegmenter(stack.masks);
    const kept: PropagatedSlice[] = [];
    const r = await propagate({ count: 24, width: SIZE, seedIndex: largest, seed: seedOf(largest), segmenter: seg, onSlice: (s) => kept.push(s) });
    assert.deepEqual(
      kept.map((s) => s.index).sort((a, b) => a - b),
      [...Array(last - first + 1).keys()].map((k) => first + k).filter((z) => z !== largest),
    );
    assert.deepEqual(r.forward, { reason: 'object-ended', cause: 'empty', last, rejected: r.forward.reason === 'object-ended' ? r.forward.rejected : null });
    assert.equal(r.backward.reason === 'object-ended' && r.backward.cause, 'empty');
    assert.equal(r.backward.last, first);
    assert.ok(kept.every((s) => (s.direction === 'forward') === s.index > largest));
    // Each slice is prompted from the slice before it on its side: a point inside that mask, its box (widened), its logits.
    for (const [index, prompt] of seg.prompts) {
      const prev = index > largest ? index - 1 : index + 1;
      const prevMask = stack.masks[prev]!;
      const [[x, y]] = prompt.points as [[number, number]];
      assert.equal(prevMask[y * SIZE + x], 1, `slice ${index}: the point lies in slice ${prev}'s mask`);
      assert.deepEqual(prompt.labels, [1]);
      for (let i = 0; i < prevMask.length; i++) {
        if (!prevMask[i]) continue;
        const px = i % SIZE;
        const py = Math.floor(i / SIZE);
        assert.ok(px >= prompt.box![0] && px <= prompt.box![2] && py >= prompt.box![1] && py <= prompt.box![3], `slice ${index}: the box holds slice ${prev}'s mask`);
      }
      assert.equal(prompt.maskInput![0], prev === largest ? -1 : prev + 2, `slice ${index}: slice ${prev}'s logits are the mask prompt`);
      assert.equal(prompt.multimask, false);
    }
    // Slices ahead of each front are asked for before they are needed, nearest first.
    assert.ok(seg.prefetched.some((p) => p[0] === largest + 2 && p[1] === largest + 3));
    assert.ok(seg.prefetched.some((p) => p[0] === largest - 2 && p[1] === largest - 3));
  });

  test('one direction, a slice limit, and the ends of the stack', async () => {
    const fwd = await propagate({ count: 24, width: SIZE, seedIndex: largest, seed: seedOf(largest), segmenter: new TruthSegmenter(stack.masks), direction: 'forward' });
    assert.deepEqual(fwd.backward, { reason: 'not-asked', last: largest });
    assert.equal(fwd.forward.last, last);
    const kept: number[] = [];
    const limited = await propagate({ count: 24, width: SIZE, seedIndex: largest, seed: seedOf(largest), segmenter: new TruthSegmenter(stack.masks), maxSlices: 1, onSlice: (s) => kept.push(s.index) });
    assert.deepEqual(limited.forward, { reason: 'max-slices', last: largest + 1 });
    assert.deepEqual(kept.sort((a, b) => a - b), [largest - 1, largest + 1]);
    // an object through the whole stack runs to both ends
    const everywhere = Array.from({ length: 24 }, () => stack.masks[largest]!);
    const whole = await propagate({ count: 24, width: SIZE, seedIndex: 5, seed: seedOf(largest), segmenter: new TruthSegmenter(everywhere) });
    assert.deepEqual(whole, { forward: { reason: 'series-ended', last: 23 }, backward: { reason: 'series-ended', last: 0 } });
  });

  test('a cancellation or a failure on one side stops both; the slices kept until then stand', async () => {
    const controller = new AbortController();
    const kept: number[] = [];
    const reason = new Error('cancelled by the test');
    await assert.rejects(
      propagate({
        count: 24,
        width: SIZE,
        seedIndex: largest,
        seed: seedOf(largest),
        segmenter: new TruthSegmenter(stack.masks),
        signal: controller.signal,
        onSlice: (s) => {
          kept.push(s.index);
          if (kept.length === 2) controller.abort(reason);
        },
      }),
      (err) => err === reason,
    );
    assert.equal(kept.length, 2);
    const broken = new Error('the archive went away');
    const seg = new TruthSegmenter(stack.masks, { at: largest + 2, error: broken });
    await assert.rejects(propagate({ count: 24, width: SIZE, seedIndex: largest, seed: seedOf(largest), segmenter: seg }), (err) => err === broken);
    const after = seg.calls.length;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(seg.calls.length, after, 'nothing is asked for after the failure');
    assert.ok(!seg.calls.includes(first - 1) || largest - first < 3, 'the backward side stopped with it');
  });

  test('bad input is refused with a sentence', async () => {
    const empty = { counts: [SIZE * SIZE], lowRes: null };
    await assert.rejects(propagate({ count: 24, width: SIZE, seedIndex: 3, seed: empty, segmenter: new TruthSegmenter(stack.masks) }), /the seed mask is empty/);
    await assert.rejects(propagate({ count: 24, width: SIZE, seedIndex: 24, seed: seedOf(largest), segmenter: new TruthSegmenter(stack.masks) }), /outside the stack of 24/);
    await assert.rejects(propagate({ count: 24, width: SIZE, seedIndex: 2, seed: seedOf(largest), segmenter: new TruthSegmenter(stack.masks), prompt: { point: false, boxMargin: null } }), /neither a point nor a box/);
  });
});

describe('the starter model on a phantom lesion stack', () => {
  // A site-A liver lesion of 9 slices at 256 px (the starter's own CT resolution).
  const real = lesionStack(9_500_001, { site: 'A', size: 256, slices: 32 });

  test('one click on the largest slice, and its true mask, propagate through the lesion and stop near its ends', async () => {
    const predictor = await SamPredictor.open(STARTER, { device: 'cpu' });
    try {
      const source = lesionStackSource(real);
      const { first, last, largest } = real.lesion;
      for (const seed of [{ index: largest, point: regionCentre(real.masks[largest]!, 256, 256)! }, { index: largest, mask: real.masks[largest]! }]) {
        const p = await propagateStack({ predictor, source, seed });
        const predicted = new Map<number, ArrayLike<number>>([[p.seed.index, p.seed.counts], ...p.slices.map((s) => [s.index, s.counts] as [number, ArrayLike<number>])]);
        const o = volumeOverlap(predicted, real.masks, 256);
        assert.ok(o.dice > 0.8, `3D Dice ${o.dice}`);
        assert.ok(Math.abs(o.firstOffset!) <= 2 && Math.abs(o.lastOffset!) <= 2, `found ${JSON.stringify(o.found)}, truth ${first}-${last}`);
        assert.ok(p.encodes <= 32, `${p.encodes} encodes`);
      }
    } finally {
      await predictor.release();
    }
  });

  test('glmedsa propagate on a folder of PNG slices writes the masks and the report', async () => {
    const dir = tempDir();
    const slices = path.join(dir, 'slices');
    await mkdir(slices);
    // names sort as numbers (2 before 10), as a folder of exported slices is usually named
    for (let z = 0; z < 32; z++) await writePng(path.join(slices, `${z + 1}.png`), lesionStackImage(real, z));
    const seedMask = path.join(dir, 'seed.png');
    await writeMaskPng(seedMask, real.masks[real.lesion.largest]!, 256, 256);
    const out = path.join(dir, 'out');
    const r = await runCli(['propagate', '--model', STARTER, '--slices', slices, '--seed-slice', `${real.lesion.largest + 1}.png`, '--seed-mask', seedMask, '--device', 'cpu', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /found: slices \d+-\d+/);
    const report = JSON.parse(await readFile(path.join(out, 'propagation.json'), 'utf8')) as { seed: { index: number; name: string }; slices: { index: number; name: string; area: number }[] };
    assert.equal(report.seed.name, `${real.lesion.largest + 1}.png`);
    const files = (await readdir(out)).filter((f) => f.endsWith('.png')).sort();
    assert.deepEqual(files, report.slices.map((s) => s.name).sort());
    const mask = await readPng(path.join(out, report.slices[0]!.name));
    let area = 0;
    for (let i = 0; i < 256 * 256; i++) if (mask.data[3 * i]) area++;
    assert.equal(area, report.slices[0]!.area);
    const bad = await runCli(['propagate', '--model', STARTER, '--slices', slices, '--seed-point', '5,5']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--seed-slice is required/);
    const dicom = await runCli(['propagate', '--model', STARTER, '--dicom', slices]);
    assert.match(dicom.stderr, /glmedsa-server propagate --dicom/);
  });
});
