/**
 * npm run bench -- soak [--minutes N] [--malloc-arena-max N|unset] [--ort-mem-arena on|off]: mixed traffic from 8 clients against the server in its own
 * process and a real Orthanc, for 10 minutes by default: valid clicks on many images, embedding
 * warm-ups, uploads, and the hostile inputs of issue 8 (a PNG declaring 1 x 60,000,000 pixels, an
 * interlaced decompression bomb, truncated PNGs, header-only JPEGs, images too narrow for SAM,
 * malformed JSON, unknown images). It reports requests by class and status, latency percentiles,
 * and the server's RSS over time, and fails (exit code 1) on any 5xx other than 502/503/504 with
 * a sentence, when the RSS of the last third of the run exceeds the bound, or when it has not
 * levelled off (the last third's maximum more than 5% above the middle third's).
 *
 * Every 5 s it also reads the server's /metrics: each thread's V8 memory
 * (glmedsa_thread_memory_bytes) and the embedding cache's bytes, printed per minute next to the
 * RSS, so native growth (RSS minus what V8 and the caches account for) shows apart from the heaps.
 * --malloc-arena-max starts the server with MALLOC_ARENA_MAX=N (glibc's malloc arenas; default
 * the product's, 2; 'unset' leaves glibc's default of 8 per core); --ort-mem-arena sets
 * GLMEDSA_ORT_MEM_ARENA.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, dermoscopyPhantom, encodePng, siteProfile } from '@glmedsa/models';
import { startBundledOrthanc } from '../src/bundled-pacs/index.js';
import { DEFAULT_MALLOC_ARENA_MAX } from '../src/process/malloc-arenas.js';
import { craftPng, tallPng, zerosZlib } from '../test/helpers/png-craft.js';
import { type Target, pct, phantomTargets, startServerProcess } from './server-bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..', '..');
const CLIENTS = 8;
/**
 * The embedding cache of the soak's server: every upload adds a 256 KB starter embedding, so with
 * the default 1 GiB the RSS would rise for most of an hour while the cache fills (as designed);
 * a smaller cache shows the levelling within minutes.
 */
const CACHE_MB = 128;
/**
 * The upload store of the soak's server: a tenth of the requests upload a new ~70 KB image, about
 * 20 MB a minute, so the default 256 MB would still be filling after 10 minutes (the rise the
 * first soaks saw); 64 MB is full within the first third.
 */
const UPLOAD_CACHE_MB = 64;
/**
 * The RSS the server must stay under: about 215 MB at start (two workers with their sessions),
 * the stores when full (embeddings 128 MB, uploads 64 MB, 2000 low-res masks of 16 KB), and about
 * 330 MB of working memory (V8 heaps, onnxruntime, malloc arenas). Measured in 10-minute soaks:
 * last-third maxima 602 MB (MALLOC_ARENA_MAX=2, the default) and 636 MB (glibc's default).
 */
const RSS_BOUND_MB = 768;
/** Levelled off: the last third's maximum at most this much above the middle third's. */
const LEVEL_SLACK = 0.05;

interface Outcome {
  kind: string;
  status: number;
  ms: number;
  detail: string;
}

/** Everything a client may send, built once. */
interface Inputs {
  targets: Target[];
  bomb: Buffer;
  truncated: Buffer;
  headerOnlyJpeg: Buffer;
  narrow: Buffer;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** One sample of the server's memory: RSS from /proc, the rest from its /metrics. */
interface Sample {
  s: number;
  mb: number;
  /** thread ('main', 'worker-N') -> kind (heapUsed, external, arrayBuffers) -> bytes */
  threads: Map<string, Map<string, number>>;
  cacheBytes: number;
  uploadBytes: number;
}

async function scrape(url: string): Promise<Pick<Sample, 'threads' | 'cacheBytes' | 'uploadBytes'>> {
  const threads = new Map<string, Map<string, number>>();
  let cacheBytes = NaN;
  let uploadBytes = NaN;
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  for (const line of text.split('\n')) {
    const m = /^glmedsa_thread_memory_bytes\{thread="([^"]+)",kind="([^"]+)"\} (\S+)$/.exec(line);
    if (m) {
      if (!threads.has(m[1]!)) threads.set(m[1]!, new Map());
      threads.get(m[1]!)!.set(m[2]!, Number(m[3]));
    }
    const c = /^glmedsa_embedding_cache_bytes (\S+)$/.exec(line);
    if (c) cacheBytes = Number(c[1]);
    const u = /^glmedsa_upload_cache_bytes (\S+)$/.exec(line);
    if (u) uploadBytes = Number(u[1]);
  }
  return { threads, cacheBytes, uploadBytes };
}

async function sample(url: string, pid: number, start: number): Promise<Sample> {
  const [mb, rest] = await Promise.all([rssMb(pid), scrape(url)]);
  return { s: (performance.now() - start) / 1000, mb, ...rest };
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const v = args[at + 1];
  if (v === undefined) throw new Error(`${name} takes a value`);
  return v;
}

async function call(url: string, kind: string, pathname: string, body: Uint8Array | string, type: string): Promise<Outcome & { json: Record<string, unknown> }> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}${pathname}`, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : Buffer.from(body) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: recorded as it is
    }
    return { kind, status: res.status, ms: performance.now() - t0, detail: String(json['detail'] ?? ''), json };
  } catch (err) {
    return { kind, status: 0, ms: performance.now() - t0, detail: `connection failed: ${(err as Error).message}`, json: {} };
  }
}

const json = (v: unknown) => JSON.stringify(v);

/** Uploads then segments; the outcome is the segment's when the upload was accepted. */
async function uploadThenSegment(url: string, kind: string, bytes: Uint8Array, type = 'image/png'): Promise<Outcome> {
  const up = await call(url, kind, '/v1/images', bytes, type);
  if (up.status !== 201) return up;
  return call(url, kind, '/v1/segment', json({ image: { imageId: up.json['imageId'] }, points: [{ x: 0, y: 0, label: 1 }] }), 'application/json');
}

async function oneRequest(url: string, rng: Rng, inputs: Inputs): Promise<Outcome> {
  const r = rng.next();
  const t = inputs.targets[Math.floor(rng.next() * inputs.targets.length)]!;
  const image = { ...t.ref, frame: 1 };
  if (r < 0.5) {
    return call(url, 'click', '/v1/segment', json({ image, points: [{ x: t.point.x + Math.round(rng.next() * 6 - 3), y: t.point.y, label: 1 }] }), 'application/json');
  }
  if (r < 0.6) return call(url, 'warm', '/v1/embeddings', json({ image }), 'application/json');
  if (r < 0.7) {
    const phantom = dermoscopyPhantom(new Rng(Math.floor(rng.next() * 1e9)), 192, siteProfile('B'));
    return uploadThenSegment(url, 'upload', encodePng(phantom.image));
  }
  if (r < 0.74) return call(url, 'tall-png', '/v1/images', tallPng(), 'image/png');
  if (r < 0.78) return uploadThenSegment(url, 'png-bomb', inputs.bomb);
  if (r < 0.83) return uploadThenSegment(url, 'truncated-png', inputs.truncated);
  if (r < 0.88) return uploadThenSegment(url, 'header-only-jpeg', inputs.headerOnlyJpeg, 'image/jpeg');
  if (r < 0.92) return uploadThenSegment(url, 'narrow-png', inputs.narrow);
  if (r < 0.96) return call(url, 'bad-json', '/v1/segment', '{"image": {"frame": "1"', 'application/json');
  return call(url, 'unknown-image', '/v1/segment', json({ image: { imageId: 'f'.repeat(64) }, points: [{ x: 1, y: 1, label: 1 }] }), 'application/json');
}

async function makeInputs(targets: Target[]): Promise<Inputs> {
  const png = encodePng(dermoscopyPhantom(new Rng(77), 256, siteProfile('A')).image);
  const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x40, 0x00, 0x40, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00];
  return {
    targets,
    bomb: craftPng({ width: 1024, height: 1024, interlaced: true }, await zerosZlib(1 << 30)),
    truncated: Buffer.from(png.subarray(0, png.length >> 1)),
    headerOnlyJpeg: Buffer.from([0xff, 0xd8, ...sof, 0xff, 0xd9]),
    narrow: craftPng({ width: 8192, height: 8 }, new Uint8Array(0)),
  };
}

/** A bad 5xx: anything in 500..599 except 502/503/504 that came with a sentence. */
const badServerError = (o: Outcome) => o.status >= 500 && !([502, 503, 504].includes(o.status) && o.detail.length > 0);

export async function soakBench(args: string[]): Promise<void> {
  const minutes = Number(option(args, '--minutes') ?? 10);
  if (!(minutes > 0)) throw new Error('--minutes takes a positive number');
  const arenaMax = option(args, '--malloc-arena-max');
  if (arenaMax !== undefined && arenaMax !== 'unset' && !/^[1-9]\d*$/.test(arenaMax)) throw new Error("--malloc-arena-max takes a positive integer or 'unset'");
  const ortArena = option(args, '--ort-mem-arena');
  if (ortArena !== undefined && !['on', 'off'].includes(ortArena)) throw new Error('--ort-mem-arena takes on or off');
  const serverEnv: Record<string, string> = { GLMEDSA_WORKERS: '2', GLMEDSA_THREADS: '1', GLMEDSA_CACHE_BYTES: String(CACHE_MB << 20), GLMEDSA_UPLOAD_CACHE_BYTES: String(UPLOAD_CACHE_MB << 20) };
  if (ortArena) serverEnv['GLMEDSA_ORT_MEM_ARENA'] = ortArena;
  // Set here rather than by the launcher's relaunch (malloc-arenas.ts), so that the process the
  // bench samples is the server itself; 'unset' runs it with glibc's default.
  const arenas = arenaMax ?? String(DEFAULT_MALLOC_ARENA_MAX);
  if (arenas === 'unset') serverEnv['GLMEDSA_MALLOC_ARENA_MAX'] = 'glibc';
  else serverEnv['MALLOC_ARENA_MAX'] = arenas;
  const unsetEnv = arenas === 'unset' ? ['MALLOC_ARENA_MAX'] : [];
  const setting = `MALLOC_ARENA_MAX ${arenas === 'unset' ? 'unset (glibc default)' : arenas}${arenaMax === undefined ? ' (the default)' : ''}, onnxruntime CPU arena ${ortArena ?? 'as configured (default)'}`;
  const work = await mkdtemp(path.join(os.tmpdir(), 'glmedsa-soak-'));
  const orthanc = await startBundledOrthanc({ dataDir: path.join(work, 'orthanc'), httpPort: 0, stopGraceMs: 0 });
  try {
    process.stderr.write('soak: uploading 36 phantom studies and building the hostile inputs...\n');
    const targets = [...(await phantomTargets(orthanc, 5000)), ...(await phantomTargets(orthanc, 6000)), ...(await phantomTargets(orthanc, 7000))];
    const inputs = await makeInputs(targets);
    const { url, child } = await startServerProcess(path.join(REPO, 'models', 'starter'), orthanc.dicomWebUrl, serverEnv, unsetEnv);
    try {
      const pid = child.pid!;
      const start = performance.now();
      const end = start + minutes * 60_000;
      const rss: Sample[] = [await sample(url, pid, start)];
      const outcomes: Outcome[] = [];
      let reported = 0;
      const sampler = setInterval(() => {
        void sample(url, pid, start).then((x) => {
          rss.push(x);
          const minute = Math.floor(x.s / 60);
          if (minute > reported && minute < minutes) {
            reported = minute;
            process.stderr.write(`soak: minute ${minute}/${minutes}, ${outcomes.length} requests, server RSS ${x.mb.toFixed(0)} MB\n`);
          }
        }, () => undefined);
      }, 5000);
      process.stderr.write(`soak: ${CLIENTS} clients for ${minutes} min, server RSS at start ${rss[0]!.mb.toFixed(0)} MB\n`);
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, c) => {
          const rng = new Rng(100 + c);
          while (performance.now() < end) outcomes.push(await oneRequest(url, rng, inputs));
        }),
      );
      clearInterval(sampler);
      rss.push(await sample(url, pid, start));
      process.stdout.write(`${report(outcomes, rss, minutes, setting)}\n`);
      const bad = outcomes.filter(badServerError);
      const lastThird = rss.filter((x) => x.s >= (minutes * 60 * 2) / 3);
      const lastMax = Math.max(...lastThird.map((x) => x.mb));
      const middleMax = Math.max(...rss.filter((x) => x.s >= (minutes * 60) / 3 && x.s < (minutes * 60 * 2) / 3).map((x) => x.mb));
      if (bad.length || lastMax > RSS_BOUND_MB || lastMax > middleMax * (1 + LEVEL_SLACK)) process.exitCode = 1;
    } finally {
      child.kill('SIGTERM');
    }
  } finally {
    await orthanc.stop({ graceMs: 0 });
    await rm(work, { recursive: true, force: true });
  }
}

function report(outcomes: Outcome[], rss: Sample[], minutes: number, setting: string): string {
  const lines = [`soak: ${CLIENTS} clients, ${minutes} min, ${outcomes.length} requests (${(outcomes.length / (minutes * 60)).toFixed(1)} req/s), starter model, 2 workers, ${CACHE_MB} MB embedding cache, ${UPLOAD_CACHE_MB} MB upload store, ${setting}`];
  const kinds = [...new Set(outcomes.map((o) => o.kind))].sort();
  lines.push('class | requests | by status | median ms | p95 ms | p99 ms | max ms');
  for (const kind of [...kinds, 'all']) {
    const os_ = kind === 'all' ? outcomes : outcomes.filter((o) => o.kind === kind);
    const byStatus = new Map<number, number>();
    for (const o of os_) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    const statuses = [...byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ');
    const ms = os_.map((o) => o.ms);
    lines.push(`${kind} | ${os_.length} | ${statuses} | ${pct(ms, 0.5).toFixed(1)} | ${pct(ms, 0.95).toFixed(1)} | ${pct(ms, 0.99).toFixed(1)} | ${Math.max(...ms).toFixed(0)}`);
  }
  const sentences = new Map<string, number>();
  for (const o of outcomes) if (o.status >= 400) sentences.set(`${o.kind} ${o.status}: ${o.detail.slice(0, 110)}`, (sentences.get(`${o.kind} ${o.status}: ${o.detail.slice(0, 110)}`) ?? 0) + 1);
  lines.push('refusals (class status: detail x count):');
  for (const [s, n] of [...sentences].sort()) lines.push(`  ${s} x${n}`);
  const bad = outcomes.filter(badServerError);
  lines.push(`5xx other than 502/503/504 with a sentence: ${bad.length}${bad.length ? ` (${bad.slice(0, 3).map((o) => `${o.kind} ${o.status} ${o.detail}`).join('; ')})` : ''}`);
  const perMinute = new Map<number, number[]>();
  for (const x of rss) {
    const m = Math.floor(x.s / 60);
    perMinute.set(m, [...(perMinute.get(m) ?? []), x.mb]);
  }
  lines.push(`server RSS (MB), per minute min-max: ${[...perMinute].map(([m, v]) => `${m}: ${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)}`).join(', ')}`);
  lines.push(...memoryTable(rss));
  const third = (minutes * 60) / 3;
  const mid = rss.filter((x) => x.s >= third && x.s < 2 * third).map((x) => x.mb);
  const last = rss.filter((x) => x.s >= 2 * third).map((x) => x.mb);
  lines.push(
    `server RSS: start ${rss[0]!.mb.toFixed(0)} MB, max of the middle third ${Math.max(...mid).toFixed(0)} MB, max of the last third ${Math.max(...last).toFixed(0)} MB, end ${rss.at(-1)!.mb.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB)`,
  );
  const levelled = Math.max(...last) <= Math.max(...mid) * (1 + LEVEL_SLACK);
  lines.push(`levelled off (last third's max within ${LEVEL_SLACK * 100}% of the middle third's): ${levelled ? 'yes' : 'no'}; under the bound: ${Math.max(...last) <= RSS_BOUND_MB ? 'yes' : 'no'}`);
  return lines.join('\n');
}

const MB = (b: number | undefined) => (b === undefined || Number.isNaN(b) ? '-' : (b / 2 ** 20).toFixed(0));

/**
 * Per minute, the sample with the highest RSS: RSS, the main thread's heap used, external and
 * array buffers, each worker's heap used, the embedding cache, and what V8 and the cache do not
 * account for (RSS - heaps - main external; native: onnxruntime, malloc arenas, code).
 */
function memoryTable(rss: Sample[]): string[] {
  const lines = ['minute | RSS MB | main heap | main external | main arrayBuffers | worker heaps | worker external | embedding cache MB | upload cache MB | not V8 MB'];
  const perMinute = new Map<number, Sample>();
  for (const x of rss) {
    const m = Math.floor(x.s / 60);
    if (!perMinute.has(m) || perMinute.get(m)!.mb < x.mb) perMinute.set(m, x);
  }
  for (const [m, x] of perMinute) {
    const main = x.threads.get('main');
    const workers = [...x.threads].filter(([t]) => t !== 'main');
    const v8 = [...x.threads.values()].reduce((a, k) => a + (k.get('heapUsed') ?? 0) + (k.get('external') ?? 0), 0);
    lines.push(
      [
        m,
        x.mb.toFixed(0),
        MB(main?.get('heapUsed')),
        MB(main?.get('external')),
        MB(main?.get('arrayBuffers')),
        workers.map(([, k]) => MB(k.get('heapUsed'))).join('/') || '-',
        workers.map(([, k]) => MB(k.get('external'))).join('/') || '-',
        MB(x.cacheBytes),
        MB(x.uploadBytes),
        x.threads.size ? (x.mb - v8 / 2 ** 20).toFixed(0) : '-',
      ].join(' | '),
    );
  }
  return lines;
}
