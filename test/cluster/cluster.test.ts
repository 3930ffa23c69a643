/**
 * Several servers, one service, on this machine with real parts: Redis and HAProxy from Debian
 * (started here, HAProxy with the README's example configuration as shipped), a real Orthanc, two
 * API replicas and a trainer as separate processes, the shared storage a temp folder. The clicks go
 * through the extension's own HTTP client (its routing header and its retries are under test).
 *
 * In order, on one cluster:
 * 1. clicks through the balancer: each image's clicks reach the replica that encoded it;
 * 2. a job started through replica A and followed (SSE) through replica B; kill -9 of its trainer
 *    mid-job (a second trainer resumes it from the checkpoint on the shared storage); Redis killed
 *    and restarted mid-job (meanwhile job requests answer 503 and clicks go on; then the job goes
 *    on and nothing is lost);
 * 3. the adapter the job published, activated on A and used by B's next click within a second;
 * 4. kill -9 of an API replica during a stream of clicks: the clicks go on (counted), the killed
 *    replica's images are encoded again on the other, once each, and nothing else moves;
 * 5. a rolling restart of both API replicas under clicks: no click fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { SegmentResponse } from '@glmedsa/server/api';
import { lesionStack, regionCentre } from '@glmedsa/models';
import { type BundledOrthanc, startBundledOrthanc, uploadDicom } from '@glmedsa/server/dist/src/bundled-pacs/index.js';
import { ctSlice, newStudy, newUid } from '@glmedsa/server/dist/src/dicom/factory.js';
import { type Target, phantomTargets } from '@glmedsa/server/dist/bench/server-bench.js';
import { type TestHaproxy, startTestHaproxy } from '@glmedsa/server/dist/test/helpers/haproxy.js';
import { type TestRedis, startTestRedis } from '@glmedsa/server/dist/test/helpers/redis-server.js';
import { readEvents, waitFor } from '@glmedsa/server/dist/test/jobs/job-fixtures.js';
import { GlmedsaClient } from '../../extension/src/client.js';
import { type PropagationEvent, PropagationClient } from '../../extension/src/propagation/propagation-client.js';
import { ADMIN, AUTH, type Replica, STARTER, VIEWER_KEY, startReplica, stopAll } from './replicas.js';

const CLI = path.join(path.dirname(STARTER), '..', 'models', 'bin', 'glmedsa.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (line: string) => process.stderr.write(`[cluster] ${line}\n`);

let work: string;
let orthanc: BundledOrthanc;
let redis: TestRedis;
let lb: TestHaproxy;
let a: Replica;
let b: Replica;
let trainer1: Replica;
let targets: Target[];
const config = (role: string, name: string) => ({
  role,
  pacs: { url: orthanc.dicomWebUrl, timeoutMs: 10_000 },
  models: [{ id: 'starter', dir: STARTER }],
  device: 'cpu',
  auth: AUTH,
  workers: { count: 1, threads: 1 },
  jobs: { threads: 1, checkpointEvery: 3, maxResumes: 3 },
  // A dead trainer is noticed within seconds here (30 s by default).
  queue: { url: redis.url, replicaId: name, lockMs: 6000, stalledCheckMs: 1000 },
  storage: { dir: path.join(work, 'shared') },
  http: { drainMs: 3000 },
  viewer: { enabled: false },
  logLevel: 'warn',
});

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'glmedsa-cluster-'));
  for (const [part, n, seed] of [['train', 12, 1], ['validation', 4, 2]] as const) {
    const r = spawnSync(process.execPath, [CLI, 'synth', '--site', 'B', '--n', String(n), '--size', '128', '--seed', String(seed), '--out', path.join(work, 'shared', 'datasets', 'site-b', part)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  orthanc = await startBundledOrthanc({ dataDir: path.join(work, 'orthanc'), httpPort: 0, stopGraceMs: 0 });
  // 24 images, so that each replica's share of the hash ring holds some.
  targets = [...(await phantomTargets(orthanc, 4200)), ...(await phantomTargets(orthanc, 5200))];
  redis = await startTestRedis();
  [a, b] = await Promise.all([startReplica('api-a', work, config('api', 'api-a')), startReplica('api-b', work, config('api', 'api-b'))]);
  trainer1 = await startReplica('trainer-1', work, config('trainer', 'trainer-1'));
  lb = await startTestHaproxy([a.address, b.address], VIEWER_KEY);
  await lb.waitFor('UP', ['api-1', 'api-2']);
});

after(async () => {
  await stopAll();
  await lb?.stop();
  await redis?.stop();
  await orthanc?.stop({ graceMs: 0 });
  rmSync(work, { recursive: true, force: true });
});

/** The extension's client against the balancer, with the viewer's key. */
const client = (baseUrl = lb.url) => new GlmedsaClient({ baseUrl, authorization: () => `Bearer ${VIEWER_KEY}`, timeoutMs: 60_000 });

/** Every fetch to the balancer, and those that failed (no answer, or a 5xx), before the client's retries. */
const raw = { attempts: 0, failed: 0 };
const realFetch = globalThis.fetch;
globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
  const url = String(input instanceof Request ? input.url : input);
  const counted = lb !== undefined && url.startsWith(lb.url);
  if (counted) raw.attempts++;
  try {
    const res = await realFetch(input, init);
    if (counted && res.status >= 500) raw.failed++;
    return res;
  } catch (err) {
    if (counted) raw.failed++;
    throw err;
  }
};

const click = (t: Target, maskId?: string, dx = 0) => ({ image: { ...t.ref, frame: 1 }, points: [{ x: t.point.x + dx, y: t.point.y, label: 1 as const }], ...(maskId ? { maskId } : {}) });

interface StreamStats {
  ok: number;
  failed: number;
  maskDropped: number;
  errors: string[];
}

/**
 * Clicks from `clients` concurrent users through the balancer until `until` resolves, each user
 * refining the mask of its last answer on each image (a radiologist's second and later clicks).
 */
async function clickStream(users: number, until: Promise<unknown>): Promise<StreamStats> {
  const stats: StreamStats = { ok: 0, failed: 0, maskDropped: 0, errors: [] };
  let done = false;
  void until.finally(() => (done = true));
  const c = client();
  await Promise.all(
    Array.from({ length: users }, async (_, u) => {
      const masks = new Map<number, string>();
      for (let i = u; !done; i++) {
        const k = i % targets.length;
        try {
          const r = await c.segment(click(targets[k]!, masks.get(k), (i % 3) - 1));
          masks.set(k, r.maskId);
          stats.ok++;
          if (r.maskDropped) stats.maskDropped++;
        } catch (err) {
          stats.failed++;
          stats.errors.push((err as Error).message);
        }
      }
    }),
  );
  return stats;
}

/** A replica's embedding cache lookups so far (hits and misses), and its encodes (one per computed embedding). */
async function lookups(r: Replica): Promise<{ hit: number; miss: number; encodes: number }> {
  const text = await (await realFetch(`${r.url}/metrics`, { headers: { 'x-api-key': VIEWER_KEY } })).text();
  const n = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    hit: n(/glmedsa_embedding_cache_total\{result="hit"\} (\d+)/),
    miss: n(/glmedsa_embedding_cache_total\{result="miss"\} (\d+)/),
    encodes: n(/glmedsa_stage_seconds_count\{stage="encode",model="starter"\} (\d+)/),
  };
}

/** Which replica the balancer sends each target's clicks to (the one whose cache was asked). */
async function placement(replicas: Replica[]): Promise<Map<Target, Replica>> {
  const found = new Map<Target, Replica>();
  for (const t of targets) {
    const before = await Promise.all(replicas.map(lookups));
    await client().segment(click(t));
    const after = await Promise.all(replicas.map(lookups));
    const i = after.findIndex((x, k) => x.hit + x.miss > before[k]!.hit + before[k]!.miss);
    assert.ok(i >= 0, 'a replica answered');
    found.set(t, replicas[i]!);
  }
  return found;
}

/** Which replica holds each image (the balancer's choice), found by the first test. */
let where: Map<Target, Replica>;

test('clicks through the balancer reach the replica that encoded their image', async () => {
  where = await placement([a, b]);
  const onA = targets.filter((t) => where.get(t) === a).length;
  say(`images per replica: a ${onA}, b ${targets.length - onA} (of ${targets.length})`);
  assert.ok(onA > 0 && onA < targets.length, 'each replica holds some images (the hash spreads them)');
  const c = client();
  const first = await Promise.all(targets.map((t) => c.segment(click(t, undefined, 1))));
  assert.ok(first.every((r) => r.masks.length > 0 && r.adapterVersion === 'base'));
  // With round robin, about half of these clicks would land on a replica that has not encoded the image.
  assert.deepEqual(first.map((r) => r.cached), targets.map(() => true), 'every later click found its embedding warm');
  const second = await Promise.all(targets.map((t, i) => c.segment(click(t, first[i]!.maskId, 2))));
  assert.deepEqual(second.map((r) => r.maskDropped ?? null), targets.map(() => null), 'every refinement found its mask where it was made');
});

test('a propagation through the balancer runs where its seed mask was made; its events, record and cancel reach that replica', async () => {
  // a CT volume of 16 slices with a lesion running through it
  const stack = lesionStack(31, { size: 128, slices: 16 });
  const study = newStudy('cluster propagation');
  const seriesInstanceUID = newUid();
  const sops: string[] = [];
  for (let z = 0; z < stack.hu.length; z++) {
    const file = ctSlice({ rows: 128, cols: 128, hu: stack.hu[z]!, window: { center: 40, width: 400 }, study, seriesInstanceUID, seriesDescription: 'cluster volume', instanceNumber: z + 1, geometry: { position: [-90, -90, z * 2.5] } });
    await uploadDicom(orthanc, file.bytes);
    sops.push(file.ref.sopInstanceUID);
  }
  const z = stack.lesion.largest;
  const centre = regionCentre(stack.masks[z]!, 128, 128)!;
  const series = { studyInstanceUID: study.StudyInstanceUID, seriesInstanceUID };
  // the seed's mask lives on the replica that answered the click: a propagation routed elsewhere would not find it (404)
  const seed = await client().segment({ image: { ...series, sopInstanceUID: sops[z]!, frame: 1 }, points: [{ x: centre.x, y: centre.y, label: 1 }] });
  const p = new PropagationClient({ baseUrl: lb.url, authorization: () => `Bearer ${VIEWER_KEY}`, timeoutMs: 60_000 });
  const started = await p.start({ series, seed: { sopInstanceUID: sops[z]!, frame: 1, maskId: seed.maskId } });
  const events: PropagationEvent[] = [];
  assert.equal(await p.events(started.id, (e) => events.push(e), new AbortController().signal), 'ended');
  const end = events.at(-1)!;
  assert.ok(end.type === 'end' && end.summary.state === 'succeeded', JSON.stringify(end));
  const record = await p.get(started.id);
  const streamed = events.flatMap((e) => (e.type === 'slice' ? [e.slice.index] : [])).sort((x, y) => x - y);
  assert.deepEqual(record.slices.map((s) => s.index), streamed, 'the record read through the balancer holds the slices the stream gave');
  assert.ok(record.slices.length > 1, `${record.slices.length} slices`);
  say(`propagation through the balancer: ${record.slices.length} slices`);
  // the record is held by one replica only
  const direct = await Promise.all([a, b].map(async (r) => (await realFetch(`${r.url}/v1/propagations/${started.id}`, { headers: { 'x-api-key': VIEWER_KEY } })).status));
  assert.deepEqual(direct.sort(), [200, 404]);
  // a second one, cancelled through the balancer
  const second = await p.start({ series, seed: { sopInstanceUID: sops[z]!, frame: 1, maskId: seed.maskId } });
  await p.cancel(second.id);
  let state = (await p.get(second.id)).state;
  for (let i = 0; i < 100 && (state === 'queued' || state === 'running'); i++) {
    await sleep(50);
    state = (await p.get(second.id)).state;
  }
  assert.ok(state === 'cancelled' || state === 'succeeded', state);
});

let jobId: string;

test('a job started through A, followed through B, survives kill -9 of its trainer and a Redis restart', async () => {
  const submitted = await realFetch(`${a.url}/v1/jobs`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify({ dataset: { folder: 'site-b' }, hyperparameters: { steps: 36, batch: 2, lr: 1e-3, validateEvery: 18 } }),
  });
  assert.equal(submitted.status, 202, await submitted.clone().text());
  jobId = String(((await submitted.json()) as { id: string }).id);
  // Followed through B from the start, while A took the job and trainer-1 runs it.
  const steps: { step: number; replica: string | null }[] = [];
  const followed = readEvents(`${b.url}/v1/jobs/${jobId}/events`, ADMIN, (e) => {
    if (e.event === 'progress') steps.push({ step: (e.data['progress'] as { step: number }).step, replica: (e.data['replica'] as string | null) ?? null });
  });
  await waitFor('trainer-1 to pass a checkpoint', async () => (steps.some((s) => s.step >= 7 && s.replica === 'trainer-1') ? true : undefined), 180_000);
  await startReplica('trainer-2', work, config('trainer', 'trainer-2'));
  trainer1.kill('SIGKILL');
  const killedAt = steps.at(-1)!.step;
  say(`trainer-1 killed at step ${killedAt}`);
  await waitFor('trainer-2 to resume the job', async () => (steps.some((s) => s.replica === 'trainer-2') ? true : undefined), 120_000);
  const resumedAt = steps.find((s) => s.replica === 'trainer-2')!.step;
  say(`trainer-2 resumed at step ${resumedAt}`);
  assert.ok(resumedAt > 1 && resumedAt <= killedAt + 3, `trainer-2 resumed from the checkpoint (step ${resumedAt} after a kill at ${killedAt})`);
  // Redis killed (kill -9) and restarted while trainer-2 trains: the job goes on.
  await waitFor('a few steps on trainer-2', async () => (steps.filter((s) => s.replica === 'trainer-2').length >= 2 ? true : undefined), 120_000);
  const beforeRestart = steps.length;
  let whileDown: { jobStatus: number; jobDetail: string; click: SegmentResponse } | undefined;
  await redis.restart({
    kill: true,
    whileDown: async () => {
      // What needs Redis answers 503 with a sentence; clicks do not need it.
      const r = await realFetch(`${a.url}/v1/jobs/${jobId}`, { headers: ADMIN });
      whileDown = { jobStatus: r.status, jobDetail: String(((await r.json()) as { detail?: string }).detail), click: await client().segment(click(targets[1]!)) };
      await sleep(500);
    },
  });
  say(`redis restarted at step ${steps.at(-1)!.step}`);
  assert.equal(whileDown?.jobStatus, 503);
  assert.match(whileDown!.jobDetail, /the shared job queue \(Redis\) cannot be reached right now; try again in a few seconds/);
  assert.ok(whileDown!.click.masks.length > 0, 'clicks go on while Redis is away');
  const events = await followed;
  const end = events.at(-1)!;
  assert.equal(end.event, 'end');
  assert.equal(end.data['state'], 'succeeded', String(end.data['reason']));
  assert.ok(steps.length > beforeRestart, 'progress went on after the Redis restart');
  assert.equal(end.data['resumes'], 1, 'one resume (the killed trainer), none for the Redis restart');
  assert.equal(end.data['replica'], 'trainer-2');
  assert.equal(end.data['adapterVersion'], 1);
  // Nothing lost: the record, the version index, the queue's state, as every replica reads them.
  for (const r of [a, b]) {
    const job = (await (await realFetch(`${r.url}/v1/jobs/${jobId}`, { headers: ADMIN })).json()) as Record<string, unknown>;
    assert.equal(job['state'], 'succeeded');
    const adapters = (await (await realFetch(`${r.url}/v1/models/starter/adapters`, { headers: ADMIN })).json()) as { adapters: { version: number; job: string }[] };
    assert.deepEqual(adapters.adapters.map((v) => [v.version, v.job]), [[1, jobId]]);
  }
  const direct = new Redis(redis.url);
  assert.equal(await direct.exists(`glmedsa:job:${jobId}`), 1);
  direct.disconnect();
});

test('an adapter activated on A is used by B within a second, and B loads it before it answers with it', async () => {
  // One of B's own images (B encodes it again for the new version, and nothing of A's).
  const imageOnB = targets.find((t) => where.get(t) === b)!;
  const cb = client(b.url);
  assert.equal((await cb.segment(click(imageOnB))).adapterVersion, 'base');
  const res = await realFetch(`${a.url}/v1/models/starter/adapters/1/activate`, { method: 'POST', headers: ADMIN });
  assert.equal(res.status, 200, await res.clone().text());
  const activatedAt = performance.now();
  let answer: SegmentResponse;
  for (;;) {
    answer = await cb.segment(click(imageOnB));
    if (answer.adapterVersion === '1') break;
    assert.equal(answer.adapterVersion, 'base');
    assert.ok(performance.now() - activatedAt < 5000, 'B switched to version 1');
  }
  const ms = performance.now() - activatedAt;
  say(`B's first click on version 1: ${ms.toFixed(0)} ms after A's activation answered`);
  assert.ok(ms < 1000, `B used version 1 within a second (${ms.toFixed(0)} ms)`);
  // A new embedding was made for the new version (the old one is not reused).
  assert.equal(answer.cached, false);
  // Deactivating on B reaches A the same way.
  assert.equal((await realFetch(`${b.url}/v1/models/starter/adapters/deactivate`, { method: 'POST', headers: ADMIN })).status, 200);
  await waitFor('A to serve the base model again', async () => ((await client(a.url).segment(click(imageOnB))).adapterVersion === 'base' ? true : undefined), 5000);
});

test('kill -9 of an API replica during a stream of clicks: the clicks go on; only its images move', async () => {
  const onA = targets.filter((t) => where.get(t) === a);
  const onB = targets.filter((t) => where.get(t) === b);
  const bBefore = await lookups(b);
  raw.attempts = 0;
  raw.failed = 0;
  const killed = (async () => {
    await sleep(2500);
    a.kill('SIGKILL');
    await a.exited();
    // Until the health checks have taken it out, and a while after.
    await lb.waitFor('DOWN', ['api-1']);
    await sleep(3000);
  })();
  const stats = await clickStream(4, killed);
  say(`kill -9 during clicks: ${stats.ok} clicks answered, ${stats.failed} failed after the client's retries; ${raw.failed} of ${raw.attempts} requests failed before retries; ${stats.maskDropped} refinements answered from their prompts (mask made on the killed replica)`);
  assert.equal(stats.failed, 0, `no click failed after the retries: ${stats.errors.slice(0, 3).join(' | ')}`);
  assert.ok(stats.maskDropped > 0, 'refinements of masks made on the killed replica were answered from their prompts');
  // A's images were encoded again on B, once each; B's own images stayed warm there.
  const bAfter = await lookups(b);
  say(`A held ${onA.length} images and B ${onB.length}; B encoded ${bAfter.encodes - bBefore.encodes} after the kill`);
  assert.equal(bAfter.encodes - bBefore.encodes, onA.length, "B encoded each of A's images once, and nothing else");
  const again = await Promise.all(onB.map((t) => client().segment(click(t))));
  assert.deepEqual(again.map((r) => r.cached), onB.map(() => true), "B's own images did not move");
  await a.restart();
  await lb.waitFor('UP', ['api-1']);
});

test('a rolling restart of both API replicas under clicks: no click fails', async () => {
  raw.attempts = 0;
  raw.failed = 0;
  const rolled = (async () => {
    await sleep(1500);
    for (const [r, name] of [[a, 'api-1'], [b, 'api-2']] as const) {
      r.kill('SIGTERM');
      await r.exited();
      await r.restart();
      await lb.waitFor('UP', [name]);
      say(`${name} restarted`);
    }
    await sleep(1500);
  })();
  const stats = await clickStream(4, rolled);
  say(`rolling restart: ${stats.ok} clicks answered, ${stats.failed} failed; ${raw.failed} of ${raw.attempts} requests failed before retries`);
  assert.equal(stats.failed, 0, stats.errors.slice(0, 3).join(' | '));
  assert.equal(raw.failed, 0, 'the balancer took each replica out before it stopped: not even a retry was needed');
});
