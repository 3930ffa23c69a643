/**
 * npm run bench -- cluster: what the balancer costs a click. One server in its own process (the
 * starter, a real Orthanc), reached directly and through HAProxy running the shipped example
 * configuration (docs/cluster/haproxy.cfg, both backend lines on that one server, so only the hop
 * is measured): later clicks (the embedding cached), one client in sequence and 8 concurrent for a
 * few seconds, the two paths interleaved in rounds so that the machine's other load falls on both.
 * Scaling with replicas is not measured here: two cores cannot show it.
 *
 * Also the figures for a second-level embedding cache in Redis (not built; see the README's
 * "Running on several machines"): how long a Redis GET of a starter and of a vit_b embedding takes
 * here, next to the starter's measured encode time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { IMAGE_ROUTE_HEADER, imageRouteKey } from '../src/api/routing.js';
import { startBundledOrthanc } from '../src/bundled-pacs/index.js';
import { startTestHaproxy } from '../test/helpers/haproxy.js';
import { startTestRedis } from '../test/helpers/redis-server.js';
import { type Target, pct, phantomTargets, startServerProcess } from './server-bench.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const ROUNDS = 5;

function body(t: Target, dx = 0): string {
  return JSON.stringify({ image: { ...t.ref, frame: 1 }, points: [{ x: t.point.x + dx, y: t.point.y, label: 1 }] });
}

async function click(url: string, t: Target, dx = 0): Promise<{ ms: number; embedMs: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/segment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [IMAGE_ROUTE_HEADER]: imageRouteKey({ ...t.ref, frame: 1 }) },
    body: body(t, dx),
  });
  const answer = (await res.json()) as { timings?: { embedMs: number } };
  if (res.status !== 200) throw new Error(`segment answered ${res.status}`);
  return { ms: performance.now() - t0, embedMs: answer.timings?.embedMs ?? 0 };
}

async function sequential(url: string, targets: Target[], n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push((await click(url, targets[i % targets.length]!, (i % 5) - 2)).ms);
  return ms;
}

async function concurrent(url: string, targets: Target[], seconds: number): Promise<{ rps: number; p50: number; p97: number; errors: number }> {
  const requests = targets.map((t) => ({
    method: 'POST' as const,
    path: '/v1/segment',
    headers: { 'content-type': 'application/json', [IMAGE_ROUTE_HEADER]: imageRouteKey({ ...t.ref, frame: 1 }) },
    body: body(t),
  }));
  const r = await autocannon({ url, connections: 8, duration: seconds, requests });
  return { rps: r.requests.average, p50: r.latency.p50, p97: r.latency.p97_5, errors: r.errors + r.timeouts + r.non2xx };
}

/** Median and 95th percentile of a Redis GET of `bytes`, in ms. */
async function redisGet(redis: Redis, bytes: number): Promise<{ p50: number; p95: number }> {
  const key = `bench:embedding:${bytes}`;
  await redis.set(key, Buffer.alloc(bytes, 7));
  const ms: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    const v = await redis.getBuffer(key);
    ms.push(performance.now() - t0);
    if (v?.length !== bytes) throw new Error('redis returned another size');
  }
  await redis.del(key);
  return { p50: pct(ms, 0.5), p95: pct(ms, 0.95) };
}

export async function clusterBench(args: string[]): Promise<void> {
  const seconds = Number(args.find((a) => /^\d+$/.test(a)) ?? 5);
  const load = os.loadavg()[0]!.toFixed(1);
  const work = await mkdtemp(path.join(os.tmpdir(), 'glmedsa-cluster-bench-'));
  const orthanc = await startBundledOrthanc({ dataDir: path.join(work, 'orthanc'), httpPort: 0, stopGraceMs: 0 });
  const cleanups: (() => Promise<unknown>)[] = [() => orthanc.stop({ graceMs: 0 })];
  try {
    const targets = (await phantomTargets(orthanc, 7300)).slice(0, 4);
    const { url: direct, child } = await startServerProcess(path.join(REPO, 'models', 'starter'), orthanc.dicomWebUrl, { GLMEDSA_WORKERS: '2' });
    cleanups.unshift(async () => child.kill('SIGTERM'));
    const address = direct.replace('http://', '');
    const lb = await startTestHaproxy([address, address], 'unused-without-authentication');
    cleanups.unshift(() => lb.stop());
    await lb.waitFor('UP', ['api-1', 'api-2']);
    // First clicks: the encodes, measured once (the cache is warm for every later click).
    const encodes: number[] = [];
    for (const t of targets) encodes.push((await click(direct, t)).embedMs);
    const seq = { direct: [] as number[], lb: [] as number[] };
    const conc = { direct: [] as Awaited<ReturnType<typeof concurrent>>[], lb: [] as Awaited<ReturnType<typeof concurrent>>[] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, url] of [['direct', direct], ['lb', lb.url]] as const) {
        seq[name].push(...(await sequential(url, targets, 30)));
        conc[name].push(await concurrent(url, targets, seconds));
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rps = { direct: mean(conc.direct.map((c) => c.rps)), lb: mean(conc.lb.map((c) => c.rps)) };
    const p50 = { direct: pct(seq.direct, 0.5), lb: pct(seq.lb, 0.5) };
    const p95 = { direct: pct(seq.direct, 0.95), lb: pct(seq.lb, 0.95) };
    const errors = [...conc.direct, ...conc.lb].reduce((n, c) => n + c.errors, 0);
    const lines = [
      `the balancer's cost: starter, 512x512 photographs in Orthanc, later clicks (embedding cached), ${os.cpus().length} cores, ${ROUNDS} interleaved rounds, load average ${load} before, ${os.loadavg()[0]!.toFixed(1)} after`,
      `1 client, in sequence   | direct median ${p50.direct.toFixed(1)} ms, p95 ${p95.direct.toFixed(1)} ms | through HAProxy median ${p50.lb.toFixed(1)} ms, p95 ${p95.lb.toFixed(1)} ms | +${(p50.lb - p50.direct).toFixed(1)} ms (x${(p50.lb / p50.direct).toFixed(2)})`,
      `8 clients, ${seconds} s rounds  | direct ${rps.direct.toFixed(1)} clicks/s (median ${mean(conc.direct.map((c) => c.p50)).toFixed(0)} ms) | through HAProxy ${rps.lb.toFixed(1)} clicks/s (median ${mean(conc.lb.map((c) => c.p50)).toFixed(0)} ms) | x${(rps.lb / rps.direct).toFixed(2)}, ${errors} errors`,
    ];
    // A second-level embedding cache in Redis would trade an encode for a GET of the embedding.
    const redis = await startTestRedis();
    cleanups.unshift(() => redis.stop());
    const client = new Redis(redis.url);
    cleanups.unshift(async () => client.disconnect());
    const starterBytes = 128 * 16 * 16 * 4;
    const vitbBytes = 256 * 64 * 64 * 4;
    const g1 = await redisGet(client, starterBytes);
    const g2 = await redisGet(client, vitbBytes);
    lines.push(
      `embedding from Redis (loopback) | starter ${(starterBytes / 1024).toFixed(0)} KB: GET median ${g1.p50.toFixed(2)} ms, p95 ${g1.p95.toFixed(2)} ms, vs its encode (fetch excluded) median ${pct(encodes, 0.5).toFixed(0)} ms | vit_b ${(vitbBytes / 1024 ** 2).toFixed(0)} MB float32: GET median ${g2.p50.toFixed(2)} ms, p95 ${g2.p95.toFixed(2)} ms`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
