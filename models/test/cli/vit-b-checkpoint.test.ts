import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { writePth } from '../helpers/pth-writer.js';
import { readPng, rgbImage, writePng } from '../../src/image/index.js';
import { openModelFolder } from '../../src/model/manifest.js';
import { presetConfig } from '../../src/sam/config.js';
import { parameterSpecs } from '../../src/sam/parameters.js';
import { randomWeights } from '../../src/sam/weights.js';
import { tempDir } from '../helpers/paths.js';
import { runCli } from './run-cli.js';

describe('a vit_b-shaped checkpoint (random weights in the official layout)', () => {
  const dir = tempDir();
  const ckpt = path.join(dir, 'sam_vit_b_random.pth');
  const model = path.join(dir, 'model');
  const image = path.join(dir, 'image.png');

  before(async () => {
    // Plain SAM keys only, as in sam_vit_b_01ec64.pth.
    await writePth(ckpt, randomWeights(presetConfig('vit_b', 'sam'), 3));
    const img = rgbImage(320, 240);
    for (let y = 0; y < 240; y++) {
      for (let x = 0; x < 320; x++) {
        const inside = (x - 150) ** 2 + (y - 110) ** 2 < 50 ** 2;
        img.data.set(inside ? [90, 40, 30] : [220, 180, 160], (y * 320 + x) * 3);
      }
    }
    await writePng(image, img);
  });

  test('exports as a GLMed-SA model with fresh adapters', async () => {
    const r = await runCli(['export', '--checkpoint', ckpt, '--preset', 'vit_b', '--variant', 'glmedsa', '--input-size', '256', '--out', model]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /exported .* glmedsa, encoder input 256px, embeddings 256x16x16/);
    const { manifest } = await openModelFolder(model);
    assert.equal(manifest.config.embed_dim, 768);
    assert.equal(manifest.config.depth, 12);
    assert.equal(manifest.input_size, 256);
    const adapters = parameterSpecs(manifest.config).filter((s) => s.group.endsWith('adapter')).length;
    assert.equal(manifest.source.initialized_adapters, adapters);
    // SAM vit_b has 93,735,472 parameters (nn.Parameter count; the state dict adds a 256-value
    // buffer, the prompt encoder's Gaussian matrix); Med-SA adapters add 7.1M.
    assert.equal(manifest.parameter_counts.total - manifest.parameter_counts.local_adapter - manifest.parameter_counts.global_adapter, 93_735_472);
    assert.equal(manifest.parameter_counts.local_adapter, 7_100_928);
    for (const f of ['encoder.onnx', 'decoder.onnx', 'weights.safetensors']) assert.ok(existsSync(path.join(model, f)), f);
  });

  test('predicts a mask for a click and prints IoU and timings', async () => {
    const out = path.join(dir, 'mask.png');
    const r = await runCli(['predict', '--model', model, '--image', image, '--point', '150,110,1', '--multimask', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { iou_scores: number[]; timings_ms: Record<string, number>; image_size: number[] };
    assert.equal(result.iou_scores.length, 3);
    assert.deepEqual(result.image_size, [320, 240]);
    for (const k of ['load', 'preprocess', 'encode', 'decode']) assert.ok(result.timings_ms[k]! >= 0, k);
    const mask = await readPng(out);
    assert.equal(mask.width, 320);
    assert.equal(mask.height, 240);
    assert.ok(mask.data.every((v) => v === 0 || v === 255));
  });

  test('a point outside the image is a usage error, not a crash', async () => {
    const r = await runCli(['predict', '--model', model, '--image', image, '--point', '999,10,1', '--out', path.join(dir, 'x.png')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /outside the 320x240 image/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('a truncated checkpoint is refused with a clear message', async () => {
    const bytes = await fs.readFile(ckpt);
    const cut = path.join(dir, 'truncated.pth');
    await fs.writeFile(cut, bytes.subarray(0, bytes.length >> 1));
    const r = await runCli(['export', '--checkpoint', cut, '--preset', 'vit_b', '--out', path.join(dir, 'bad')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^glmedsa: .*truncated\.pth: truncated ZIP archive/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.ok(!existsSync(path.join(dir, 'bad', 'model.json')));
  });

  test('a checkpoint of another size names the mismatching keys and shapes', async () => {
    const r = await runCli(['export', '--checkpoint', ckpt, '--preset', 'vit_l', '--out', path.join(dir, 'bad2')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wrong shapes: image_encoder\.patch_embed\.proj\.weight: expected \[1024, 3, 16, 16\], found \[768, 3, 16, 16\]/);
    assert.match(r.stderr, /missing keys: image_encoder\.blocks\.12\./);
  });
});
