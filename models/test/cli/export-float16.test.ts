import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { rgbImage, writePng } from '../../src/image/index.js';
import { openModelFolder } from '../../src/model/manifest.js';
import { openSession, runSession } from '../../src/runtime/session.js';
import { float32 } from '../../src/tensor.js';
import { MODELS_ROOT, fixtureDir, tempDir } from '../helpers/paths.js';
import { runCli } from './run-cli.js';

describe('glmedsa export --dtype float16', () => {
  const dir = tempDir();
  const config = path.join(dir, 'tiny.json');
  const half = path.join(dir, 'half');
  const full = path.join(dir, 'full');
  const common = () => ['export', '--random-weights', '--config', config, '--variant', 'glmedsa', '--seed', '4'];

  before(async () => {
    const fixture = JSON.parse(await fs.readFile(path.join(fixtureDir('glmedsa_tiny'), 'fixture.json'), 'utf8')) as { model: unknown };
    await fs.writeFile(config, JSON.stringify(fixture.model));
  });

  test('writes half-precision graphs with float32 inputs and outputs, and records the dtype', async () => {
    const r = await runCli([...common(), '--dtype', 'float16', '--out', half]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /computing in float16/);
    assert.equal((await runCli([...common(), '--out', full])).code, 0);
    const h = await openModelFolder(half);
    const f = await openModelFolder(full);
    assert.equal(h.manifest.dtype, 'float16');
    assert.equal(f.manifest.dtype, 'float32');
    // Same weights, same identity; the float32 weights file is kept for training and re-export.
    assert.equal(h.manifest.weights_sha256, f.manifest.weights_sha256);
    assert.equal(h.manifest.files['weights.safetensors']!.sha256, f.manifest.files['weights.safetensors']!.sha256);
    const ratio = h.manifest.files['encoder.onnx']!.bytes / f.manifest.files['encoder.onnx']!.bytes;
    assert.ok(ratio > 0.45 && ratio < 0.65, `float16 encoder.onnx is ${ratio.toFixed(2)} of the float32 one`);

    const S = h.manifest.input_size;
    const E = h.manifest.embedding.size;
    const encoder = await openSession(h.encoderPath, { device: 'cpu' });
    const image = float32([1, 3, S, S]).data.map((_, i) => Math.cos(i * 0.003));
    const emb = (await runSession(encoder, { image: float32([1, 3, S, S], image) }))['image_embeddings']!;
    assert.equal(emb.dtype, 'float32');
    assert.deepEqual(emb.shape, [1, h.manifest.embedding.channels, E, E]);
    const decoder = await openSession(h.decoderPath, { device: 'cpu' });
    const out = await runSession(decoder, {
      image_embeddings: emb,
      point_coords: float32([1, 2, 2], [40, 50, 0, 0]),
      point_labels: float32([1, 2], [1, -1]),
      mask_input: float32([1, 1, 4 * E, 4 * E]),
      has_mask_input: float32([1], [0]),
      orig_im_size: float32([2], [S, S]),
    });
    for (const k of ['masks', 'iou_predictions', 'low_res_masks']) assert.equal(out[k]!.dtype, 'float32', k);
    assert.deepEqual(out['masks']!.shape, [1, h.manifest.mask_tokens, S, S]);
  });

  test('predict runs on a float16 model folder', async () => {
    const img = rgbImage(96, 80);
    for (let i = 0; i < 96 * 80; i++) img.data.set((i % 96) ** 2 + (Math.floor(i / 96) - 40) ** 2 < 400 ? [90, 40, 30] : [220, 180, 160], i * 3);
    const png = path.join(dir, 'image.png');
    await writePng(png, img);
    const r = await runCli(['predict', '--model', half, '--image', png, '--point', '10,40,1', '--out', path.join(dir, 'mask.png'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { iou_scores: number[] }).iou_scores.length, 1);
  });

  test('re-exporting a model folder keeps its dtype unless told otherwise', async () => {
    const again = path.join(dir, 'again');
    assert.equal((await runCli(['export', '--model', half, '--out', again])).code, 0);
    assert.equal((await openModelFolder(again)).manifest.dtype, 'float16');
    const back = path.join(dir, 'back');
    assert.equal((await runCli(['export', '--model', half, '--dtype', 'float32', '--out', back])).code, 0);
    const m = await openModelFolder(back);
    assert.equal(m.manifest.dtype, 'float32');
    assert.equal(m.manifest.files['encoder.onnx']!.sha256, (await openModelFolder(full)).manifest.files['encoder.onnx']!.sha256);
  });

  test('an unknown dtype is a usage error', async () => {
    const r = await runCli([...common(), '--dtype', 'int8', '--out', path.join(dir, 'bad')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--dtype must be one of float32, float16, got 'int8'/);
  });

  test('a model.json written before the dtype field opens as float32', async () => {
    const starter = await openModelFolder(path.join(MODELS_ROOT, 'starter'));
    assert.equal(starter.manifest.dtype, 'float32');
  });
});
