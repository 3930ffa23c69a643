/**
 * The decode core's rules on the starter model's real decoder (onnxruntime-node): which tokens a
 * decode keeps and when, the best mask, the low-res logits handed back for refinement, and the
 * reasons it gives for inputs that do not fit.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { bestMask, maskAnswer, multimaskByDefault, outputTokens, runDecoder, summarizeLogits } from '../../src/decode/index.js';
import { MODELS_ROOT } from '../helpers/paths.js';
import { openModelFolder } from '../../src/model/manifest.js';

const dir = path.join(MODELS_ROOT, 'starter');
const { manifest, decoderPath } = await openModelFolder(dir);
const session = await ort.InferenceSession.create(decoderPath);
const tensor = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
const E = manifest.embedding.size;
const C = manifest.embedding.channels;
/** A smooth, non-zero embedding, so that masks and scores differ between tokens. */
const data = Float32Array.from({ length: C * E * E }, (_, i) => Math.sin(i * 0.37) * 0.5);
const emb = { data, shape: [1, C, E, E] as [number, number, number, number], originalSize: [48, 80] as const, inputSize: manifest.input_size };

test("SAM's multimask default: one click alone is ambiguous, anything more is not", () => {
  assert.equal(multimaskByDefault({ pointCount: 1, box: false, maskInput: false }), true);
  assert.equal(multimaskByDefault({ pointCount: 0, box: false, maskInput: false }), true);
  assert.equal(multimaskByDefault({ pointCount: 2, box: false, maskInput: false }), false);
  assert.equal(multimaskByDefault({ pointCount: 1, box: true, maskInput: false }), false);
  assert.equal(multimaskByDefault({ pointCount: 1, box: false, maskInput: true }), false);
  assert.deepEqual(outputTokens(true, 4), [1, 3]);
  assert.deepEqual(outputTokens(false, 4), [0, 1]);
  assert.equal(bestMask([0.2, 0.9, 0.9]), 1, 'the first of equal scores');
  assert.equal(bestMask([0.5]), 0);
});

test('one click keeps the three candidates (tokens 1-3), as the raw decoder output orders them', async () => {
  const d = await runDecoder(session, tensor, emb, { points: [[40, 20]], labels: [1] });
  const M = manifest.mask_tokens;
  assert.equal(d.scores.length, M - 1);
  assert.equal(d.masks.length, (M - 1) * 48 * 80);
  assert.equal(d.lowRes.length, (M - 1) * 16 * E * E);
  assert.equal(d.lowResSize, 4 * E);
  // The same feeds by hand: the kept tokens are the raw outputs 1..M-1.
  const H = 48;
  const W = 80;
  const [h, w] = [Math.trunc(H * (manifest.input_size / 80) + 0.5), manifest.input_size];
  const raw = await session.run({
    image_embeddings: tensor(data, [1, C, E, E]),
    point_coords: tensor(Float32Array.of(40 * (w / W), 20 * (h / H), 0, 0), [1, 2, 2]),
    point_labels: tensor(Float32Array.of(1, -1), [1, 2]),
    mask_input: tensor(new Float32Array(16 * E * E), [1, 1, 4 * E, 4 * E]),
    has_mask_input: tensor(Float32Array.of(0), [1]),
    orig_im_size: tensor(Float32Array.of(H, W), [2]),
  });
  const iou = raw['iou_predictions']!.data as Float32Array;
  assert.deepEqual(d.scores, Array.from(iou.subarray(1)));
  assert.deepEqual(Array.from(d.masks), Array.from((raw['masks']!.data as Float32Array).subarray(H * W)));
  const answer = maskAnswer(d);
  assert.equal(answer.best, bestMask(d.scores));
  assert.deepEqual(answer.masks[answer.best]!.counts, summarizeLogits(d.masks.subarray(answer.best * H * W, (answer.best + 1) * H * W), W, H).counts);
  assert.deepEqual(Array.from(answer.lowRes), Array.from(d.lowRes.subarray(answer.best * 16 * E * E, (answer.best + 1) * 16 * E * E)));
});

test('two clicks, a box or a previous mask keep token 0 alone; multimask overrides the default', async () => {
  const two = await runDecoder(session, tensor, emb, { points: [[40, 20], [5, 5]], labels: [1, 0] });
  assert.equal(two.scores.length, 1);
  const box = await runDecoder(session, tensor, emb, { box: [10, 10, 50, 30] });
  assert.equal(box.scores.length, 1);
  const refined = await runDecoder(session, tensor, emb, { points: [[40, 20]], labels: [1], maskInput: maskAnswer(two).lowRes });
  assert.equal(refined.scores.length, 1);
  const forced = await runDecoder(session, tensor, emb, { points: [[40, 20]], labels: [1], multimask: false });
  assert.equal(forced.scores.length, 1);
});

test('inputs that do not fit are refused with a reason', async () => {
  await assert.rejects(runDecoder(session, tensor, { ...emb, data: data.subarray(1) }, { points: [[1, 1]], labels: [1] }), /the embedding has \d+ values, not 1x/);
  await assert.rejects(runDecoder(session, tensor, emb, { points: [[1, 1]], labels: [1], maskInput: new Float32Array(10) }), /mask input must be \[1, 1, \d+, \d+\] low-res logits, got 10 values/);
  await assert.rejects(runDecoder(session, tensor, emb, { points: [], labels: [] }), /at least one prompt/);
  await assert.rejects(runDecoder(session, tensor, emb, { points: [[1, 1]], labels: [3] }), /label 0 must be 1/);
});
