/**
 * npm run bench -- soak [--minutes N] [--cache-mb N] [--malloc-arena-max N|unset] [--ort-mem-arena on|off]: mixed traffic from 8 clients against the server in its own
 * process and a real Orthanc, for 10 minutes by default: valid clicks on many images, embedding
 * warm-ups, uploads, and the hostile inputs of issue 8 (a PNG declaring 1 x 60,000,000 pixels, an
 * interlaced decompression bomb, truncated PNGs, header-only JPEGs, images too narrow for SAM,
 * malformed JSON, unknown images) and of issue 19 (a 29-byte JPEG declaring 8192 x 8192, a
 * truncated 8192 x 8192 PNG, cross-site form posts, text/plain JSON, __proto__ keys, a declared
 * 1 GB body with 3 bytes sent). One of the 8 clients sends large legitimate images (4096 x 4096
 * and 8192 x 8192, PNG and JPEG, each upload new bytes so each is encoded) for 20 s of every 40 s,
 * and the report compares the latency of the other clients' clicks while a large image is in
 * flight with the rest. It reports requests by class and status, latency percentiles,
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
import { request } from 'node:http';
import jpeg from 'jpeg-js';
import { flatBlocksJpeg, jpegWithComment } from '../test/helpers/jpeg-craft.js';
import { craftPng, gradientPng, pngWithText, tallPng, zerosZlib } from '../test/helpers/png-craft.js';
import { type Target, pct, phantomTargets, startServerProcess } from './server-bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..', '..');
const CLIENTS = 8;
/**
 * The embedding cache of the soak's server (--cache-mb): every upload adds a 256 KB starter
 * embedding, so with the default 1 GiB the RSS would rise for most of an hour while the cache fills
 * (as designed); a smaller cache shows the levelling within minutes. At 150 req/s (a quiet machine)
 * 128 MB is full in the first minute; at 17 req/s (the 2 cores shared with other builds) it is
 * still filling after 10 minutes, and 32 MB shows the levelling.
 */
const DEFAULT_CACHE_MB = 128;
/**
 * The upload store of the soak's server: a tenth of the requests upload a new ~70 KB image, about
 * 20 MB a minute, so the default 256 MB would still be filling after 10 minutes (the rise the
 * first soaks saw); 64 MB is full within the first third.
 */
const UPLOAD_CACHE_MB = 64;
/**
 * The RSS the server must stay under: about 215 MB at start (two workers with their sessions),
 * the stores when full (the embedding cache, uploads 64 MB, 2000 low-res masks of 16 KB: 32 MB),
 * and about 330 MB of working memory (V8 heaps, onnxruntime, malloc arenas, and the one large image
 * the workers decode at a time: up to 192 MB for an 8192 x 8192 JPEG). 769 MB with the 128 MB cache.
 * Measured in 10-minute soaks before large images were in the mix: last-third maxima 602 MB
 * (MALLOC_ARENA_MAX=2, the default) and 636 MB (glibc's default).
 */
const rssBoundMb = (cacheMb: number) => 215 + cacheMb + UPLOAD_CACHE_MB + 32 + 330;
/** Levelled off: the last third's maximum at most this much above the middle third's. */
const LEVEL_SLACK = 0.05;

interface Outcome {
  kind: string;
  status: number;
  ms: number;
  detail: string;
  /** When the request started (ms since the run's start). */
  at?: number;
}

/** The large legitimate images one client sends (each upload gets new bytes, the same pixels). */
interface LargeImage {
  kind: string;
  bytes: Buffer;
  type: 'image/png' | 'image/jpeg';
}

/** Everything a client may send, built once. */
interface Inputs {
  targets: Target[];
  bomb: Buffer;
  truncated: Buffer;
  headerOnlyJpeg: Buffer;
  narrow: Buffer;
  large: LargeImage[];
  /** 29 bytes: SOI, DRI, a frame header declaring 8192 x 8192, EOI (issue 19). */
  headerOnlyJpeg8k: Buffer;
  /** The first half of an 8192 x 8192 PNG. */
  truncatedPng8k: Buffer;
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

async function call(url: string, kind: string, pathname: string, body: Uint8Array | string, type: string, headers: Record<string, string> = {}): Promise<Outcome & { json: Record<string, unknown> }> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}${pathname}`, { method: 'POST', headers: { 'content-type': type, ...headers }, body: typeof body === 'string' ? body : Buffer.from(body) });
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

/** A POST declaring a 1 GB upload that sends 3 bytes and waits for the answer (issue 19: 413 at once). */
function declaredGigabyte(url: string): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(`${url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png', 'content-length': String(1 << 30) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let detail = '';
        try {
          detail = String((JSON.parse(text) as Record<string, unknown>)['detail'] ?? '');
        } catch {
          detail = text.slice(0, 100);
        }
        req.destroy();
        resolve({ kind: 'declared-1gb', status: res.statusCode ?? 0, ms: performance.now() - t0, detail });
      });
    });
    req.on('error', (err) => resolve({ kind: 'declared-1gb', status: 0, ms: performance.now() - t0, detail: `connection failed: ${err.message}` }));
    req.setTimeout(120_000, () => req.destroy(new Error('no answer in 120 s')));
    req.write('abc');
  });
}

/** The mixed traffic of one client: [share, request] pairs, drawn by share. */
function mixedTraffic(url: string, rng: Rng, inputs: Inputs): [number, () => Promise<Outcome>][] {
  const t = inputs.targets[Math.floor(rng.next() * inputs.targets.length)]!;
  const image = { ...t.ref, frame: 1 };
  const seg = json({ image, points: [{ x: t.point.x + Math.round(rng.next() * 6 - 3), y: t.point.y, label: 1 }] });
  return [
    [0.5, () => call(url, 'click', '/v1/segment', seg, 'application/json')],
    [0.1, () => call(url, 'warm', '/v1/embeddings', json({ image }), 'application/json')],
    [0.08, () => uploadThenSegment(url, 'upload', encodePng(dermoscopyPhantom(new Rng(Math.floor(rng.next() * 1e9)), 192, siteProfile('B')).image))],
    [0.02, () => call(url, 'tall-png', '/v1/images', tallPng(), 'image/png')],
    [0.02, () => uploadThenSegment(url, 'png-bomb', inputs.bomb)],
    [0.02, () => uploadThenSegment(url, 'truncated-png', inputs.truncated)],
    [0.02, () => uploadThenSegment(url, 'header-only-jpeg', inputs.headerOnlyJpeg, 'image/jpeg')],
    [0.02, () => uploadThenSegment(url, 'narrow-png', inputs.narrow)],
    [0.02, () => call(url, 'bad-json', '/v1/segment', '{"image": {"frame": "1"', 'application/json')],
    [0.02, () => call(url, 'unknown-image', '/v1/segment', json({ image: { imageId: 'f'.repeat(64) }, points: [{ x: 1, y: 1, label: 1 }] }), 'application/json')],
    [0.02, () => uploadThenSegment(url, 'header-only-jpeg-8k', inputs.headerOnlyJpeg8k, 'image/jpeg')],
    [0.02, () => uploadThenSegment(url, 'truncated-png-8k', inputs.truncatedPng8k)],
    [0.02, () => call(url, 'cross-site-form', '/v1/models/starter/adapters/deactivate', 'a=1', 'application/x-www-form-urlencoded', { origin: 'http://evil.example' })],
    [0.02, () => call(url, 'text-plain-json', '/v1/segment', seg, 'text/plain')],
    [0.02, () => call(url, 'proto-key', '/v1/jobs', '{"dataset":{"__proto__":{"folder":"site-a"}},"hyperparameters":{"steps":1}}', 'application/json')],
    [0.02, () => declaredGigabyte(url)],
  ];
}

async function oneRequest(url: string, rng: Rng, inputs: Inputs): Promise<Outcome> {
  const choices = mixedTraffic(url, rng, inputs);
  const total = choices.reduce((a, [share]) => a + share, 0);
  let r = rng.next() * total;
  for (const [share, send] of choices) {
    if ((r -= share) < 0) return send();
  }
  return choices[0]![1]();
}

/** Seconds of every cycle the large-image client sends, and the cycle's length. */
const LARGE_ON_S = 20;
const LARGE_CYCLE_S = 40;

/** The large-image client: for LARGE_ON_S of every LARGE_CYCLE_S, one large image after another (upload + click). */
async function largeImageClient(url: string, inputs: Inputs, start: number, end: number, outcomes: Outcome[], inFlight: [number, number][]): Promise<void> {
  let n = 0;
  while (performance.now() < end) {
    const s = (performance.now() - start) / 1000;
    if (s % LARGE_CYCLE_S >= LARGE_ON_S) {
      await new Promise((r) => setTimeout(r, Math.min(1000, end - performance.now())));
      continue;
    }
    const img = inputs.large[n % inputs.large.length]!;
    const bytes = img.type === 'image/png' ? pngWithText(img.bytes, `soak ${n}`) : jpegWithComment(img.bytes, `soak ${n}`);
    n++;
    const at = performance.now() - start;
    const o = await uploadThenSegment(url, img.kind, bytes, img.type);
    inFlight.push([at, performance.now() - start]);
    outcomes.push({ ...o, at });
  }
}

async function makeInputs(targets: Target[]): Promise<Inputs> {
  const png = encodePng(dermoscopyPhantom(new Rng(77), 256, siteProfile('A')).image);
  const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x40, 0x00, 0x40, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00];
  const sof8k = [0xff, 0xc0, 0x00, 0x11, 0x08, 0x20, 0x00, 0x20, 0x00, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00];
  const png8k = await gradientPng(8192, 8192, 2, false);
  // A colour 4096 x 4096 JPEG (jpeg-js: 3 components, 4:4:4), and a grayscale 8192 x 8192 one
  // written block by block.
  const side = 4096;
  const rgba = Buffer.alloc(side * side * 4);
  for (let i = 0; i < side * side; i++) rgba.set([(i % side) >> 4, Math.floor(i / side) >> 4, 128 + 100 * Math.sin(i / 5000), 255], i * 4);
  const jpeg4k = jpeg.encode({ width: side, height: side, data: rgba }, 85).data;
  return {
    targets,
    bomb: craftPng({ width: 1024, height: 1024, interlaced: true }, await zerosZlib(1 << 30)),
    truncated: Buffer.from(png.subarray(0, png.length >> 1)),
    headerOnlyJpeg: Buffer.from([0xff, 0xd8, ...sof, 0xff, 0xd9]),
    narrow: craftPng({ width: 8192, height: 8 }, await zerosZlib(8 * (8192 * 3 + 1))),
    large: [
      { kind: 'large-png-4096', bytes: await gradientPng(4096, 4096, 1), type: 'image/png' },
      { kind: 'large-jpeg-4096', bytes: jpeg4k, type: 'image/jpeg' },
      { kind: 'large-png-8192', bytes: png8k, type: 'image/png' },
      { kind: 'large-jpeg-8192', bytes: flatBlocksJpeg(8192, 8192, (x, y) => (x + y) / 8 + 40 * Math.sin(x / 30)), type: 'image/jpeg' },
    ],
    headerOnlyJpeg8k: Buffer.from([0xff, 0xd8, 0xff, 0xdd, 0x00, 0x04, 0x00, 0x00, ...sof8k, 0xff, 0xd9]),
    truncatedPng8k: Buffer.from(png8k.subarray(0, png8k.length >> 1)),
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
  const cacheMb = Number(option(args, '--cache-mb') ?? DEFAULT_CACHE_MB);
  if (!Number.isInteger(cacheMb) || cacheMb < 1) throw new Error('--cache-mb takes a positive whole number');
  const RSS_BOUND_MB = rssBoundMb(cacheMb);
  const serverEnv: Record<string, string> = { GLMEDSA_WORKERS: '2', GLMEDSA_THREADS: '1', GLMEDSA_CACHE_BYTES: String(cacheMb << 20), GLMEDSA_UPLOAD_CACHE_BYTES: String(UPLOAD_CACHE_MB << 20) };
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
      const inFlight: [number, number][] = [];
      await Promise.all([
        largeImageClient(url, inputs, start, end, outcomes, inFlight),
        ...Array.from({ length: CLIENTS - 1 }, async (_, c) => {
          const rng = new Rng(100 + c);
          while (performance.now() < end) {
            const at = performance.now() - start;
            outcomes.push({ ...(await oneRequest(url, rng, inputs)), at });
          }
        }),
      ]);
      clearInterval(sampler);
      rss.push(await sample(url, pid, start));
      process.stdout.write(`${report(outcomes, rss, minutes, `${cacheMb} MB embedding cache, ${UPLOAD_CACHE_MB} MB upload store, ${setting}`, inFlight, RSS_BOUND_MB)}\n`);
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

/** Clicks that started while a large image was in flight, and the others: count, median and p95. */
function clicksBesideLargeImages(outcomes: Outcome[], inFlight: [number, number][]): string {
  const clicks = outcomes.filter((o) => o.kind === 'click' && o.status === 200 && o.at !== undefined);
  const during = clicks.filter((o) => inFlight.some(([a, b]) => o.at! >= a && o.at! < b)).map((o) => o.ms);
  const others = clicks.filter((o) => !inFlight.some(([a, b]) => o.at! >= a && o.at! < b)).map((o) => o.ms);
  if (!during.length || !others.length) return `clicks beside large images: not enough clicks on both sides (${during.length} during, ${others.length} otherwise)`;
  const m = (xs: number[]) => `median ${pct(xs, 0.5).toFixed(1)} ms, p95 ${pct(xs, 0.95).toFixed(1)} ms (${xs.length})`;
  return `clicks while a large image was in flight: ${m(during)}; otherwise: ${m(others)}; ratio of the medians ${(pct(during, 0.5) / pct(others, 0.5)).toFixed(2)}`;
}

function report(outcomes: Outcome[], rss: Sample[], minutes: number, setting: string, inFlight: [number, number][], RSS_BOUND_MB: number): string {
  const lines = [`soak: ${CLIENTS} clients (one of them sending large images ${LARGE_ON_S} s of every ${LARGE_CYCLE_S} s), ${minutes} min, ${outcomes.length} requests (${(outcomes.length / (minutes * 60)).toFixed(1)} req/s), starter model, 2 workers, ${setting}`];
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
  lines.push(clicksBesideLargeImages(outcomes, inFlight));
  lines.push(`5xx answers of any kind: ${outcomes.filter((o) => o.status >= 500).length}`);
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
