/**
 * npm run bench -- server: latency and throughput over HTTP, with the server in its own process
 * and a real Orthanc. For the starter model and a vit_b-sized model (random weights): first
 * clicks (fetch + encode + decode) and later clicks (decode only), one client and 8 concurrent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Rng, dermoscopyPhantom, exportModel, presetConfig, randomWeights, siteProfile } from '@glmedsa/models';
import { lesionCentre } from '../src/demo/demo-studies.js';
import { rgbPhoto } from '../src/dicom/factory.js';
import type { InstanceRef } from '../src/dicom/image-ref.js';
import { type OrthancTarget, findFreePort, startBundledOrthanc, uploadDicom } from '../src/bundled-pacs/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..', '..');

export interface Target {
  ref: InstanceRef;
  point: { x: number; y: number };
}

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * p;
  return s[Math.floor(i)]! + (s[Math.ceil(i)]! - s[Math.floor(i)]!) * (i - Math.floor(i));
};

/** 12 phantom photographs (512x512) uploaded to the PACS, with a click at each lesion's centre. */
export async function phantomTargets(orthanc: OrthancTarget, firstSeed: number): Promise<Target[]> {
  const targets: Target[] = [];
  for (let i = 0; i < 12; i++) {
    const p = dermoscopyPhantom(new Rng(firstSeed + i), 512, siteProfile('A'));
    const file = rgbPhoto({ width: 512, height: 512, rgb: p.image.data });
    await uploadDicom(orthanc, file.bytes);
    targets.push({ ref: file.ref, point: lesionCentre(p.mask, 512, 512) });
  }
  return targets;
}

/** The server in its own process on one model folder; `env` adds to (or overrides) its settings. */
export async function startServerProcess(
  modelDir: string,
  pacsUrl: string,
  env: Record<string, string> = {},
  /** Variables of this process the server must not inherit. */
  unset: string[] = [],
): Promise<{ url: string; child: ChildProcess }> {
  const port = await findFreePort();
  const inherited = { ...process.env };
  for (const k of unset) delete inherited[k];
  const child = spawn(process.execPath, [path.join(REPO, 'server', 'bin', 'glmedsa-server.js')], {
    env: { ...inherited, GLMEDSA_PORT: String(port), GLMEDSA_PACS_URL: pacsUrl, GLMEDSA_MODEL_DIR: modelDir, GLMEDSA_DEVICE: 'cpu', GLMEDSA_LOG_LEVEL: 'warn', GLMEDSA_QUEUE_LIMIT: '64', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return { url, child };
    if (child.exitCode !== null) throw new Error('the server exited during start');
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not become ready');
}

export async function segment(url: string, t: Target, dx = 0): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/segment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: { ...t.ref, frame: 1 }, points: [{ x: t.point.x + dx, y: t.point.y, label: 1 }] }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`segment answered ${res.status}`);
  return performance.now() - t0;
}

async function benchModel(name: string, modelDir: string, targets: Target[], pacsUrl: string): Promise<string[]> {
  const { url, child } = await startServerProcess(modelDir, pacsUrl);
  try {
    const single = targets.slice(0, 4);
    const concurrent = targets.slice(4, 12);
    const first: number[] = [];
    for (const t of single) first.push(await segment(url, t));
    const later: number[] = [];
    for (let i = 0; i < 30; i++) later.push(await segment(url, single[i % single.length]!, (i % 5) - 2));

    const t0 = performance.now();
    const firstConcurrent = await Promise.all(concurrent.map((t) => segment(url, t)));
    const firstWall = (performance.now() - t0) / 1000;

    const requests = single.map((t) => ({
      method: 'POST' as const,
      path: '/v1/segment',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: { ...t.ref, frame: 1 }, points: [{ ...t.point, label: 1 }] }),
    }));
    const load = await autocannon({ url, connections: 8, duration: 10, requests });
    const errors = load.errors + load.timeouts + load.non2xx;
    return [
      `${name} | first click, 1 client | median ${pct(first, 0.5).toFixed(0)} ms, p95 ${pct(first, 0.95).toFixed(0)} ms`,
      `${name} | later clicks, 1 client | median ${pct(later, 0.5).toFixed(1)} ms, p95 ${pct(later, 0.95).toFixed(1)} ms`,
      `${name} | first clicks, 8 concurrent | median ${pct(firstConcurrent, 0.5).toFixed(0)} ms, p95 ${pct(firstConcurrent, 0.95).toFixed(0)} ms, ${(concurrent.length / firstWall).toFixed(2)} images/s`,
      `${name} | later clicks, 8 concurrent (10 s) | median ${load.latency.p50} ms, p97.5 ${load.latency.p97_5} ms, ${load.requests.average.toFixed(1)} req/s, ${errors} errors`,
    ];
  } finally {
    child.kill('SIGTERM');
  }
}

export async function serverBench(args: string[]): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'glmedsa-server-bench-'));
  const orthanc = await startBundledOrthanc({ dataDir: path.join(work, 'orthanc'), httpPort: 0, stopGraceMs: 0 });
  try {
    const targets = await phantomTargets(orthanc, 900);
    const lines = [`server over HTTP: 512x512 RGB photographs in Orthanc, ${os.cpus().length} cores, onnxruntime CPU`];
    lines.push(...(await benchModel('starter', path.join(REPO, 'models', 'starter'), targets, orthanc.dicomWebUrl)));
    if (!args.includes('--starter-only')) {
      process.stderr.write('exporting a vit_b-sized model with random weights...\n');
      const vitb = path.join(work, 'vit_b');
      const config = presetConfig('vit_b', 'sam');
      await exportModel({ config, weights: randomWeights(config, 1), outDir: vitb, name: 'vit_b-random', keepWeights: false });
      // Fresh uploads for vit_b, so its first clicks are not cached by the starter run.
      const fresh = await phantomTargets(orthanc, 1900);
      lines.push(...(await benchModel('vit_b 1024', vitb, fresh, orthanc.dicomWebUrl)));
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await orthanc.stop({ graceMs: 0 });
    await rm(work, { recursive: true, force: true });
  }
}
