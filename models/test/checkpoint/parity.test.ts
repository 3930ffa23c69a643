/** The shipped fixtures: the .pth and .safetensors files (written by PyTorch tools) must agree. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
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
import { assertSameStateDict, tempDir } from './helpers.js';

const FIXTURES = '/work/shared/fixtures/parity';

for (const model of ['sam_tiny', 'glmedsa_tiny']) {
  const dir = join(FIXTURES, model);
  const skip = existsSync(join(dir, 'weights.pth')) ? false : 'fixture not present';

  test(`${model}: weights.pth and weights.safetensors hold the same tensors`, { skip }, async () => {
    const pth = await readPth(join(dir, 'weights.pth'));
    const st = await readSafetensors(join(dir, 'weights.safetensors'));
    assert.ok(pth.size > 100, `expected many tensors, got ${pth.size}`);
    assertSameStateDict(pth, st);
    for (const t of pth.values()) assert.equal(t.dtype, 'float32');
    assert.deepEqual(pth.get('image_encoder.patch_embed.proj.weight')!.shape, [48, 3, 16, 16]);
    // readCheckpoint dispatches on content, not names.
    assert.equal(await detectCheckpointFormat(join(dir, 'weights.pth')), 'pth');
    assert.equal(await detectCheckpointFormat(join(dir, 'weights.safetensors')), 'safetensors');
    assertSameStateDict(await readCheckpoint(join(dir, 'weights.pth')), st);
    assert.deepEqual(await readSafetensorsMetadata(join(dir, 'weights.safetensors')), {});
  });

  test(`${model}: re-written by our writers, both formats read back identically`, { skip }, async () => {
    const tmp = await tempDir();
    const original = await readPth(join(dir, 'weights.pth'));
    await writePth(join(tmp, 'w.pth'), original);
    await writeSafetensors(join(tmp, 'w.safetensors'), original, { format: 'pt' });
    assertSameStateDict(await readPth(join(tmp, 'w.pth')), original);
    assertSameStateDict(await readSafetensors(join(tmp, 'w.safetensors')), original);
    // Our .pth keeps the state dict's order.
    assert.deepEqual([...(await readPth(join(tmp, 'w.pth'))).keys()], [...original.keys()]);
  });
}
