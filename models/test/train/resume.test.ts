import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { readSafetensors } from '../../src/checkpoint/index.js';
import { CLI, tempDir } from '../helpers/paths.js';
import { runCli } from '../cli/run-cli.js';
import { writeJsonAtomic } from '../../src/util/atomic-file.js';
import { tinyTrainConfig } from './tiny-config.js';

const TINY = tinyTrainConfig('sam');

/** Starts a training run and kills it (SIGKILL, no chance to clean up) once `marker` is printed. */
function trainAndKill(args: string[], marker: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (marker.test(err)) child.kill('SIGKILL');
    });
    child.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`run ended (${code}) before the kill: ${err}`))));
  });
}

describe('training resumes after a crash exactly where it stopped', () => {
  const dir = tempDir();
  const base = path.join(dir, 'base');
  const data = path.join(dir, 'data');
  const common = () => ['--base', base, '--variant', 'glmedsa', '--trainable', 'adapters', '--data', data, '--steps', '8', '--batch', '2', '--lr', '1e-3', '--clicks', '2', '--seed', '5', '--checkpoint-every', '2'];

  before(async () => {
    await writeJsonAtomic(path.join(dir, 'tiny.json'), TINY);
    assert.equal((await runCli(['export', '--config', path.join(dir, 'tiny.json'), '--random-weights', '--seed', '1', '--out', base])).code, 0);
    assert.equal((await runCli(['synth', '--site', 'A', '--n', '6', '--size', '64', '--seed', '3', '--out', data])).code, 0);
  });

  test('a killed run resumed with --resume ends with the same adapter as an uninterrupted run', async () => {
    const straight = path.join(dir, 'straight');
    const r1 = await runCli(['train', ...common(), '--out', straight]);
    assert.equal(r1.code, 0, r1.stderr);

    const crashed = path.join(dir, 'crashed');
    await trainAndKill(['train', ...common(), '--out', crashed], /checkpoint saved at step 4/);
    const r2 = await runCli(['train', ...common(), '--out', crashed, '--resume']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /resuming from the checkpoint at step [46]/);

    const a = await readSafetensors(path.join(straight, 'adapter.safetensors'));
    const b = await readSafetensors(path.join(crashed, 'adapter.safetensors'));
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    assert.ok([...a.keys()].some((k) => k.includes('Global_Adapter')), 'adapters were trained');
    for (const [k, t] of a) assert.deepEqual(b.get(k)!.data, t.data, `${k} differs`);
  });

  test('resuming with other options is refused', async () => {
    const out = path.join(dir, 'other');
    await trainAndKill(['train', ...common(), '--out', out], /checkpoint saved at step 2/);
    const args = common();
    args[args.indexOf('--lr') + 1] = '2e-3';
    const r = await runCli(['train', ...args, '--out', out, '--resume']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /belongs to a run with other options/);
  });
});
