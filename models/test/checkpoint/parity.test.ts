/** The shipped fixtures: the .pth and .safetensors files (written by PyTorch tools) must agree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  detectCheckpointFormat,
  readCheckpoint,
  readPth,
  readSafetensors,
  readSafetensorsMetadata,
  writeSafetensors,
} from '../../src/checkpoint/index.js';
import { writePth } from '../helpers/pth-writer.js';
import { type FixtureName, fixtureFile } from '../helpers/paths.js';
import { assertSameStateDict, tempDir } from './helpers.js';

for (const model of ['sam_tiny', 'glmedsa_tiny'] satisfies FixtureName[]) {

  test(`${model}: weights.pth and weights.safetensors hold the same tensors`, async () => {
    const pthFile = fixtureFile(model, 'weights.pth');
    const stFile = fixtureFile(model, 'weights.safetensors');
    const pth = await readPth(pthFile);
    const st = await readSafetensors(stFile);
    assert.ok(pth.size > 100, `expected many tensors, got ${pth.size}`);
    assertSameStateDict(pth, st);
    for (const t of pth.values()) assert.equal(t.dtype, 'float32');
    assert.deepEqual(pth.get('image_encoder.patch_embed.proj.weight')!.shape, [48, 3, 16, 16]);
    // readCheckpoint dispatches on content, not names.
    assert.equal(await detectCheckpointFormat(pthFile), 'pth');
    assert.equal(await detectCheckpointFormat(stFile), 'safetensors');
    assertSameStateDict(await readCheckpoint(pthFile), st);
    assert.deepEqual(await readSafetensorsMetadata(stFile), {});
  });

  test(`${model}: re-written by our writers, both formats read back identically`, async () => {
    const tmp = await tempDir();
    const original = await readPth(fixtureFile(model, 'weights.pth'));
    await writePth(join(tmp, 'w.pth'), original);
    await writeSafetensors(join(tmp, 'w.safetensors'), original, { format: 'pt' });
    assertSameStateDict(await readPth(join(tmp, 'w.pth')), original);
    assertSameStateDict(await readSafetensors(join(tmp, 'w.safetensors')), original);
    // Our .pth keeps the state dict's order.
    assert.deepEqual([...(await readPth(join(tmp, 'w.pth'))).keys()], [...original.keys()]);
  });
}
