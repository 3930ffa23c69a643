/**
 * onnxruntime's usage data: a process that opens a session through this package must leave no
 * telemetry database under its HOME and no /tmp/mat-debug-<pid>.log. Each case runs in a child
 * process with a fresh HOME; the control case (the operator's opt-in, ORT_DISABLE_TELEMETRY=0)
 * shows the files do appear when telemetry is on, so the check can fail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Graph } from '../../src/ir/graph.js';
import * as op from '../../src/ir/ops.js';
import { serializeModel } from '../../src/onnx/serialize.js';
import { float32 } from '../../src/tensor.js';
import { tempDir } from '../helpers/paths.js';

const run = promisify(execFile);
const sessionModule = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'runtime', 'session.js')).href;

function tinyModel(dir: string): string {
  const g = new Graph();
  const x = g.input('x', 'float32', [1, 2]);
  g.output(op.matmul(x, g.param('w', float32([2, 2], [1, 0, 0, 1]))), 'y');
  const file = path.join(dir, 'tiny.onnx');
  writeFileSync(file, serializeModel(g));
  return file;
}

/** Opens (and runs) one session in a child process with HOME = a fresh folder; returns what it left. */
async function leftovers(telemetrySwitch: string | undefined): Promise<{ home: string[]; matLog: boolean }> {
  const home = tempDir('glmedsa-ort-home-');
  const model = tinyModel(tempDir('glmedsa-ort-model-'));
  const script = `
    const { openSession, runSession } = await import(${JSON.stringify(sessionModule)});
    const { float32 } = await import(${JSON.stringify(new URL('../../src/tensor.js', import.meta.url).href)});
    const s = await openSession(${JSON.stringify(model)}, { device: 'cpu' });
    await runSession(s, { x: float32([1, 2], [1, 2]) });
    await s.session.release();
    process.stdout.write(String(process.pid));`;
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env['ORT_DISABLE_TELEMETRY']; // this test process set it when it imported the package
  // onnxruntime also stays silent on CI machines (it checks CI and GITHUB_ACTIONS), which would make
  // the control case below pass for the wrong reason or fail: the child sees neither.
  delete env['CI'];
  delete env['GITHUB_ACTIONS'];
  if (telemetrySwitch !== undefined) env['ORT_DISABLE_TELEMETRY'] = telemetrySwitch;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
  const pid = Number(stdout.trim());
  assert.ok(pid > 0, `child pid from ${JSON.stringify(stdout)}`);
  const matLog = `/tmp/mat-debug-${pid}.log`;
  const found = existsSync(matLog);
  rmSync(matLog, { force: true });
  const files = readdirSync(home, { recursive: true }).map(String);
  return { home: files, matLog: found };
}

test('opening a session writes no telemetry database and no mat-debug log', async () => {
  const { home, matLog } = await leftovers(undefined);
  assert.deepEqual(home, [], 'nothing written under HOME');
  assert.equal(matLog, false, 'no /tmp/mat-debug-<pid>.log');
});

test('control: with the operator opting in (ORT_DISABLE_TELEMETRY=0), onnxruntime does write them', async () => {
  const { home, matLog } = await leftovers('0');
  assert.ok(home.some((f) => f.endsWith('onnxruntime.db')), `files under HOME: ${home.join(', ')}`);
  assert.equal(matLog, true);
});
