/**
 * kill -9 of the server during a job: the job's training child stops itself with a checkpoint,
 * and the next server resumes the job from it; the registry keeps its published version and
 * nothing half-written is left.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { findFreePort } from '../../src/bundled-pacs/index.js';
import { REPO_ROOT, STARTER_MODEL, get, post } from '../helpers/server.js';
import { ADMIN, AUTH, dataDirWithSiteB, readEvents, sleep, waitFor } from './job-fixtures.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startServerProcess(dir: string, port: number): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const config = path.join(dir, 'server.json');
  writeFileSync(
    config,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      pacs: { url: 'http://127.0.0.1:9/dicom-web', timeoutMs: 1000 },
      models: [{ id: 'starter', dir: STARTER_MODEL }],
      device: 'cpu',
      auth: AUTH,
      jobs: { threads: 1, checkpointEvery: 3, datasetRoot: path.join(dir, 'datasets') },
      logLevel: 'warn',
    }),
  );
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'server', 'bin', 'glmedsa-server.js'), '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the server to listen', async () => ((await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) ? true : child.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined), 60_000);
  return { child, url, stderr: () => stderr };
}

test('kill -9 of the server during a job: the next server resumes the job from its checkpoint; the registry is intact', async () => {
  const dir = dataDirWithSiteB();
  const port = await findFreePort();
  const first = await startServerProcess(dir, port);
  // A first job publishes version 1, so there is a registry to keep intact.
  const quick = await post(`${first.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: { steps: 3, batch: 2, lr: 1e-3 } }, ADMIN);
  assert.equal(quick.status, 202, JSON.stringify(quick.body));
  await readEvents(`${first.url}/v1/jobs/${quick.body['id']}/events`, ADMIN);
  assert.equal((await post(`${first.url}/v1/models/starter/adapters/1/activate`, {}, ADMIN)).status, 200);
  const r = await post(`${first.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: { steps: 30, batch: 2, lr: 1e-3 } }, ADMIN);
  assert.equal(r.status, 202);
  const id = String(r.body['id']);
  const before = await waitFor('the job to pass a checkpoint', async () => {
    const j = (await get(`${first.url}/v1/jobs/${id}`, ADMIN)).body as Record<string, any>;
    return j['phase'] === 'training' && j['progress'].step >= 4 ? j : undefined;
  });
  const trainer = before['pid'] as number;
  assert.ok(alive(trainer));
  first.child.kill('SIGKILL');
  await waitFor('the orphaned trainer to stop itself', async () => (alive(trainer) ? undefined : true), 60_000);
  const work = path.join(dir, '.data', 'jobs', id, 'adapter');
  assert.ok(existsSync(path.join(work, 'checkpoint.safetensors')), 'the trainer wrote its checkpoint when its server died');

  const second = await startServerProcess(dir, port);
  const resumed = (await get(`${second.url}/v1/jobs/${id}`, ADMIN)).body as Record<string, any>;
  assert.ok(['queued', 'running'].includes(resumed['state']), `state after restart: ${resumed['state']}`);
  assert.equal(resumed['resumes'], 1);
  const events = await readEvents(`${second.url}/v1/jobs/${id}/events`, ADMIN);
  const steps = events.filter((e) => e.event === 'progress').map((e) => (e.data['progress'] as { step: number }).step);
  assert.ok(steps.length > 0 && steps[0]! > 1, `the resumed run continues from its checkpoint, not from step 1 (steps ${steps.join(',')})`);
  const done = events.at(-1)!.data as Record<string, any>;
  assert.equal(done['state'], 'succeeded', String(done['reason']));
  assert.equal(done['adapterVersion'], 2);
  const adapters = (await get(`${second.url}/v1/models/starter/adapters`, ADMIN)).body['adapters'] as Record<string, any>[];
  assert.deepEqual(adapters.map((a) => [a['version'], a['job'], a['active']]), [[1, quick.body['id'], true], [2, id, false]], 'the active version is served again after the restart');
  const entries = readdirSync(path.join(dir, '.data', 'adapters', 'starter'));
  assert.deepEqual(entries.filter((e) => e.startsWith('.')), [], 'no half-written version is left');
  for (const v of ['1', '2']) for (const f of ['adapter.safetensors', 'adapter.json', 'version.json']) assert.ok(existsSync(path.join(dir, '.data', 'adapters', 'starter', v, f)), `${v}/${f}`);
  second.child.kill('SIGTERM');
  await new Promise((res) => second.child.once('exit', res));
  await sleep(10);
});
