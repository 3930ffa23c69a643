/**
 * A cluster's bad input, with a real Redis: a replica whose queue does not answer says so and exits
 * without listening; configurations that cannot work are refused with a sentence; a job record or a
 * queue item written by a newer server is refused, not misread; a job whose trainers kept dying fails
 * with the reason after jobs.maxResumes; two replicas that serve different
 * base models under one id refuse each other's jobs with a sentence, and a job waits for a trainer
 * that serves its base weights when there is one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { exportModel, openModelFolder, randomWeights } from '@glmedsa/models';
import type { JobRecord } from '../../src/api/jobs.js';
import { findFreePort } from '../../src/bundled-pacs/index.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { RunningServer } from '../../src/server.js';
import { type TestRedis, startTestRedis } from '../helpers/redis-server.js';
import { REPO_ROOT, STARTER_MODEL, get, post, startTestServer } from '../helpers/server.js';
import { ADMIN, AUTH, NO_PACS, dataDirWithSiteB, waitFor } from '../jobs/job-fixtures.js';

let redis: TestRedis;
const servers: RunningServer[] = [];
const dirs: string[] = [];

before(async () => {
  redis = await startTestRedis();
});

/** Stops the replicas of a test (a trainer left running would take the next test's jobs). */
async function closeAll(): Promise<void> {
  for (const s of servers.splice(0)) await s.close().catch(() => undefined);
}

after(async () => {
  await closeAll();
  await redis?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A replica in this process: the starter (or `modelDir`) under the id 'starter', on the test's Redis and shared storage. */
async function replica(role: 'api' | 'trainer' | 'all', storage: string, name: string, modelDir = STARTER_MODEL): Promise<RunningServer> {
  const s = await startTestServer(
    NO_PACS.url,
    {
      role,
      pacs: NO_PACS,
      auth: AUTH,
      models: [{ id: 'starter', dir: modelDir }],
      workers: { count: 1, threads: 1 },
      jobs: { threads: 1, checkpointEvery: 3 },
      queue: { url: redis.url, replicaId: name, lockMs: 5000, stalledCheckMs: 1000 },
      storage: { dir: storage },
    },
    {},
    storage,
  );
  servers.push(s);
  return s;
}

test('a replica whose queue does not answer says so in a sentence and exits without listening', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'glmedsa-noqueue-'));
  dirs.push(dir);
  const [port, deadRedis] = [await findFreePort(), await findFreePort()];
  for (const role of ['api', 'trainer']) {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'server', 'bin', 'glmedsa-server.js'), '--role', role], {
      cwd: dir,
      env: {
        ...process.env,
        MALLOC_ARENA_MAX: '2',
        GLMEDSA_PORT: String(port),
        GLMEDSA_MODEL_DIR: STARTER_MODEL,
        GLMEDSA_QUEUE_URL: `redis://127.0.0.1:${deadRedis}`,
        GLMEDSA_STORAGE_DIR: dir,
        GLMEDSA_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let listened = false;
    const watch = setInterval(() => void fetch(`http://127.0.0.1:${port}/healthz`).then(() => (listened = true), () => undefined), 100);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    clearInterval(watch);
    assert.equal(code, 1, `role ${role}: ${stderr}`);
    assert.match(stderr, new RegExp(`cannot reach the shared queue at redis://127\\.0\\.0\\.1:${deadRedis} \\(.+\\): a replica does not start without its queue`), stderr);
    assert.equal(stderr.trim().split('\n').length, 1, `one sentence, no stack trace: ${stderr}`);
    assert.equal(listened, false, `role ${role} never answered HTTP`);
  }
});

test('configurations a cluster cannot work with are refused with a sentence', () => {
  const refused = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig({ env });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail(`accepted ${JSON.stringify(env)}`);
  };
  assert.match(refused({ GLMEDSA_ROLE: 'api' }), /role \(set by GLMEDSA_ROLE\): role 'api' needs a shared queue \(queue.url\): without one, no trainer would run its jobs/);
  assert.match(refused({ GLMEDSA_ROLE: 'trainer' }), /no job would reach this trainer/);
  assert.match(refused({ GLMEDSA_ROLE: 'both' }), /role \(set by GLMEDSA_ROLE\)/);
  assert.match(refused({ GLMEDSA_QUEUE_URL: 'redis://127.0.0.1:6379' }), /storage.dir: a replica on a shared queue needs storage.dir/);
  assert.match(refused({ GLMEDSA_QUEUE_URL: 'http://127.0.0.1:6379', GLMEDSA_STORAGE_DIR: '/srv/glmedsa' }), /queue.url \(set by GLMEDSA_QUEUE_URL\): queue.url must be a redis:\/\/ or rediss:\/\/ URL/);
  // The single-machine default needs none of it.
  const c = loadConfig({ env: {} });
  assert.equal(c.role, 'all');
  assert.equal(c.queue.url, undefined);
  assert.equal(c.http.drainMs, 0);
});

test('a job record and a queue item written by a newer server are refused, not misread', async () => {
  const storage = dataDirWithSiteB();
  dirs.push(storage);
  const s = await replica('all', storage, 'replica-newer');
  const direct = new Redis(redis.url);
  const id = randomUUID();
  // What a future server might write: another record shape under schema 2.
  const newer = JSON.stringify({ schema: 2, record: { id, state: 'paused-for-review', steps: { done: 3 } }, owner: null, cancel: false });
  await direct.set(`glmedsa:job:${id}`, newer);
  await direct.zadd('glmedsa:jobs', Date.now(), id);
  const one = await get(`${s.url}/v1/jobs/${id}`, ADMIN);
  assert.equal(one.status, 409);
  assert.match(String(one.body['detail']), new RegExp(`job ${id} was written by a newer version of the server \\(job record schema 2; this server reads up to 1\\); read it through an upgraded replica`));
  const list = await get(`${s.url}/v1/jobs`, ADMIN);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body['jobs'], [], 'the list leaves out what it cannot read');
  // Its queue item: this replica's trainer leaves it for an upgraded worker and touches nothing.
  const queue = new Queue('fine-tune', { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'glmedsa:bull' });
  await queue.add('fine-tune', { schema: 2, id, model: 'starter', weights: 'future' }, { jobId: id });
  await waitFor('the trainer to give the newer item back', async () => ((await (await queue.getJob(id))?.getState()) === 'delayed' ? true : undefined), 20_000);
  assert.equal(await direct.get(`glmedsa:job:${id}`), newer, 'the newer record is left exactly as it was written');
  await queue.close();
  direct.disconnect();
  await closeAll();
});

test('a job whose trainers kept dying fails with the reason once jobs.maxResumes is spent', async () => {
  const storage = dataDirWithSiteB();
  dirs.push(storage);
  const s = await replica('all', storage, 'replica-last');
  const weights = (await openModelFolder(STARTER_MODEL)).manifest.weights_sha256;
  const id = randomUUID();
  // What three dead trainers leave: the record still 'running' after 3 resumes, and its queue item.
  const record: JobRecord = {
    id,
    model: 'starter',
    variant: 'glmedsa',
    dataset: { folder: 'site-b' },
    hyperparameters: { steps: 10, batch: 2, lr: 1e-3, clicks: 1, seed: 0 },
    state: 'running',
    phase: 'training',
    progress: { step: 6, steps: 10, loss: 1, etaSeconds: 3, imagesPerSecond: 1 },
    validation: { before: 0.4, now: 0.4, images: 6 },
    data: null,
    adapterVersion: null,
    reason: null,
    resumes: 3,
    pid: 12345,
    replica: 'trainer-gone',
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
    finishedAt: null,
    requestedBy: 'test',
  };
  const direct = new Redis(redis.url);
  await direct.set(`glmedsa:job:${id}`, JSON.stringify({ schema: 1, record, owner: 'trainer-gone/lost-token', cancel: false }));
  await direct.zadd('glmedsa:jobs', Date.now(), id);
  direct.disconnect();
  const queue = new Queue('fine-tune', { connection: { host: '127.0.0.1', port: redis.port }, prefix: 'glmedsa:bull' });
  await queue.add('fine-tune', { schema: 1, id, model: 'starter', weights }, { jobId: id });
  await queue.close();
  const failed = await waitFor('the job to fail', async () => {
    const j = (await get(`${s.url}/v1/jobs/${id}`, ADMIN)).body;
    return j['state'] === 'failed' ? j : undefined;
  }, 20_000);
  assert.equal(failed['reason'], 'the trainer running this job stopped 4 times (last: trainer-gone); it is not resumed again');
  await closeAll();
});

test('replicas that serve different base models under one id refuse each other’s jobs with a sentence; a matching trainer gets the job', async () => {
  const storage = dataDirWithSiteB();
  dirs.push(storage);
  // Another base model under the same id: the starter's architecture with other (random) weights.
  const starter = (await openModelFolder(STARTER_MODEL)).manifest;
  const otherDir = path.join(storage, 'other-base');
  const other = await exportModel({ config: starter.config, weights: randomWeights(starter.config, 7), outDir: otherDir, name: 'other-base' });
  assert.notEqual(other.weights_sha256, starter.weights_sha256);
  const api = await replica('api', storage, 'api-starter');
  await replica('trainer', storage, 'trainer-other', otherDir);
  const r = await post(`${api.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: { steps: 3, batch: 2 } }, ADMIN);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const refused = await waitFor('the other trainer to refuse the job', async () => {
    const j = (await get(`${api.url}/v1/jobs/${r.body['id']}`, ADMIN)).body;
    return j['state'] === 'failed' ? j : undefined;
  }, 30_000);
  assert.equal(
    refused['reason'],
    `trainer trainer-other refused this job: it was submitted for model 'starter' with base weights ${starter.weights_sha256.slice(0, 12)}, this trainer serves base weights ${other.weights_sha256.slice(0, 12)}, ` +
      'and no trainer on the queue serves those weights (every replica on one queue must serve the same base models)',
  );
  // With a trainer that serves the starter on the queue too, the other trainer leaves the next job to it.
  await replica('trainer', storage, 'trainer-starter');
  const next = await post(`${api.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: { steps: 3, batch: 2 } }, ADMIN);
  assert.equal(next.status, 202);
  const running = await waitFor('the matching trainer to take the job', async () => {
    const j = (await get(`${api.url}/v1/jobs/${next.body['id']}`, ADMIN)).body;
    return j['state'] !== 'queued' ? j : undefined;
  }, 30_000);
  assert.equal(running['state'], 'running', String(running['reason']));
  assert.equal(running['replica'], 'trainer-starter');
  assert.equal((await post(`${api.url}/v1/jobs/${next.body['id']}/cancel`, {}, ADMIN)).status, 202);
  const cancelled = await waitFor('the job to be cancelled', async () => {
    const j = (await get(`${api.url}/v1/jobs/${next.body['id']}`, ADMIN)).body;
    return j['state'] === 'cancelled' ? j : undefined;
  }, 60_000);
  assert.match(String(cancelled['reason']), /cancelled while running/);
  await closeAll();
});
