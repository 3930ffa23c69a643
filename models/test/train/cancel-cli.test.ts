import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { readSafetensors } from '../../src/checkpoint/index.js';
import { CLI_EXIT, TrainEventSchema } from '../../src/cli/contract.js';
import { writeJsonAtomic } from '../../src/util/atomic-file.js';
import { runCli } from '../cli/run-cli.js';
import { CLI, tempDir } from '../helpers/paths.js';
import { tinyTrainConfig } from './tiny-config.js';

const TINY = tinyTrainConfig('sam');
const STEPS = 20;

interface RunEvent {
  type: 'progress' | 'cancelled' | 'done';
  step: number;
  loss?: number;
  etaSeconds?: number;
}

/** Runs `glmedsa train --events`, sends SIGTERM once a progress event reaches `atStep`; resolves with the exit code and the events. */
function trainAndTerminate(args: string[], atStep: number): Promise<{ code: number | null; events: RunEvent[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: RunEvent[] = [];
    let out = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const e = JSON.parse(line) as RunEvent;
        events.push(e);
        if (!sent && e.type === 'progress' && e.step >= atStep) {
          sent = true;
          child.kill('SIGTERM');
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, events, stderr }));
  });
}

describe('glmedsa train stops cleanly on SIGTERM', () => {
  const dir = tempDir();
  const base = path.join(dir, 'base');
  const data = path.join(dir, 'data');
  const common = () => ['--base', base, '--variant', 'glmedsa', '--trainable', 'adapters', '--data', data, '--steps', String(STEPS), '--batch', '2', '--lr', '1e-3', '--clicks', '2', '--seed', '7', '--checkpoint-every', '100'];

  before(async () => {
    await writeJsonAtomic(path.join(dir, 'tiny.json'), TINY);
    assert.equal((await runCli(['export', '--config', path.join(dir, 'tiny.json'), '--random-weights', '--seed', '2', '--out', base])).code, 0);
    assert.equal((await runCli(['synth', '--site', 'A', '--n', '6', '--size', '64', '--seed', '4', '--out', data])).code, 0);
  });

  test('a terminated run reports where it stopped, and --resume ends with the uninterrupted run\'s adapter', async () => {
    const straight = path.join(dir, 'straight');
    const r1 = await runCli(['train', ...common(), '--out', straight]);
    assert.equal(r1.code, 0, r1.stderr);

    const stopped = path.join(dir, 'stopped');
    const t = await trainAndTerminate(['train', ...common(), '--out', stopped], 2);
    assert.equal(t.code, CLI_EXIT.cancelled, t.stderr);
    const progress = t.events.filter((e) => e.type === 'progress');
    const last = t.events.at(-1)!;
    assert.equal(last.type, 'cancelled', JSON.stringify(last));
    assert.deepEqual(progress.map((e) => e.step), Array.from({ length: progress.length }, (_, i) => i + 1), 'one progress event per step, in order');
    assert.ok(progress.every((e) => Number.isFinite(e.loss) && Number.isFinite(e.etaSeconds)));
    assert.equal(last.step, progress.at(-1)!.step, 'it stops after the step under way, with a checkpoint of exactly the steps reported');
    assert.ok(last.step < STEPS, `the run stopped early (at ${last.step} of ${STEPS})`);
    assert.match(t.stderr, /cancelled at step \d+; .*checkpoint\.safetensors lets --resume continue/);

    const r2 = await runCli(['train', ...common(), '--out', stopped, '--resume', '--events']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, new RegExp(`resuming from the checkpoint at step ${last.step}\\b`));
    const resumedEvents = r2.stdout.trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
    assert.equal(resumedEvents[0]!.step, last.step + 1);
    assert.equal(resumedEvents.at(-1)!.type, 'done');
    // Every line is the contract's (the server's job runner parses them with this schema).
    for (const e of [...t.events, ...resumedEvents]) {
      const parsed = TrainEventSchema.safeParse(e);
      assert.ok(parsed.success, `${JSON.stringify(e)}: ${parsed.error?.message}`);
    }

    const a = await readSafetensors(path.join(straight, 'adapter.safetensors'));
    const b = await readSafetensors(path.join(stopped, 'adapter.safetensors'));
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [k, v] of a) assert.deepEqual(b.get(k)!.data, v.data, `${k} differs`);
  });
});
