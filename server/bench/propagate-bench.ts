/**
 * npm run bench -- propagate [--slices N] [--vitb-slices N] [--clients N] [--threads N] [--starter-only | --vitb-only]: how fast
 * a propagation goes through a series on this machine, and what it costs other users' clicks.
 *
 * The server runs in its own process on a real Orthanc. A series of identical CT slices with a
 * lesion on each (a tube, so every propagation runs to both ends of the series from its middle) is
 * propagated: alone, then beside N clients clicking on other images (warm clicks: decode only), and
 * those clients alone. For the starter model and a vit_b-shaped model at 512 px with random weights
 * (its masks are noise, so its stop rule is switched off: only throughput is measured). Each run
 * uses its own window (voi), so no run finds another's embeddings in the cache. Prints slices per
 * second, the clicks' median and p95 latency, and the ratios.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRle, exportModel, lesionStack, presetConfig, randomWeights } from '@glmedsa/models';
import { type BundledOrthanc, type OrthancTarget, startBundledOrthanc, uploadDicom } from '../src/bundled-pacs/bundled-orthanc.js';
import { ctSlice, newStudy, newUid } from '../src/dicom/factory.js';
import { type Target, pct, phantomTargets, segment, startServerProcess } from './server-bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..', '..');
const SIZE = 256;

function opt(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

interface Tube {
  series: { studyInstanceUID: string; seriesInstanceUID: string };
  sops: string[];
  counts: number[];
}

async function uploadTube(orthanc: OrthancTarget, slices: number): Promise<Tube> {
  const stack = lesionStack(9_500_001, { site: 'A', size: SIZE, slices: 32 });
  const z = stack.lesion.largest;
  const study = newStudy('propagation bench');
  const seriesInstanceUID = newUid();
  const sops: string[] = [];
  for (let k = 0; k < slices; k++) {
    const f = ctSlice({ rows: SIZE, cols: SIZE, hu: stack.hu[z]!, window: { center: 40, width: 400 }, study, seriesInstanceUID, instanceNumber: k + 1, geometry: { position: [0, 0, 1.5 * k] } });
    await uploadDicom(orthanc, f.bytes);
    sops.push(f.ref.sopInstanceUID);
  }
  return { series: { studyInstanceUID: study.StudyInstanceUID, seriesInstanceUID }, sops, counts: encodeRle(stack.masks[z]!, SIZE, SIZE).counts };
}

/** One propagation from the middle of the tube to both ends; resolves with the slices decided and the seconds. */
async function propagation(url: string, tube: Tube, voiCenter: number, maxSlices?: number): Promise<{ slices: number; seconds: number; state: string }> {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/propagations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ series: tube.series, seed: { sopInstanceUID: tube.sops[Math.floor(tube.sops.length / 2)], mask: { counts: tube.counts } }, voi: { center: voiCenter, width: 400 }, ...(maxSlices ? { maxSlices } : {}) }),
  });
  const body = (await r.json()) as { id: string; detail?: string };
  if (r.status !== 202) throw new Error(`POST /v1/propagations answered ${r.status}: ${body.detail}`);
  const events = await fetch(`${url}/v1/propagations/${body.id}/events`);
  let last = '';
  for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>) last = (last + new TextDecoder().decode(chunk)).slice(-20_000);
  const end = /event: end\ndata: (.*)\n/.exec(last);
  if (!end) throw new Error('the events stream ended without an end event');
  const summary = JSON.parse(end[1]!) as { state: string; reason: string | null; progress: { done: number } };
  if (summary.state !== 'succeeded') throw new Error(`the propagation ${summary.state}: ${summary.reason}`);
  return { slices: summary.progress.done, seconds: (performance.now() - t0) / 1000, state: summary.state };
}

/** `clients` users clicking (warm clicks on their own image) until `until` resolves; their latencies. */
async function clicking(url: string, targets: Target[], clients: number, until: Promise<unknown> | number): Promise<number[]> {
  const latencies: number[] = [];
  let stop = false;
  if (typeof until === 'number') setTimeout(() => (stop = true), until);
  else void until.finally(() => (stop = true));
  await Promise.all(
    targets.slice(0, clients).map(async (t, c) => {
      for (let k = 0; !stop; k++) {
        latencies.push(await segment(url, t, ((k + c) % 5) - 2));
        await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  return latencies;
}

async function benchModel(name: string, modelDir: string, orthanc: BundledOrthanc, tube: Tube, targets: Target[], clients: number, config: object, env: Record<string, string>, maxSlices?: number): Promise<string[]> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'glmedsa-propagate-bench-'));
  const configFile = path.join(work, 'server.json');
  await writeFile(configFile, JSON.stringify(config));
  const { url, child } = await startServerProcess(modelDir, orthanc.dicomWebUrl, { GLMEDSA_CONFIG: configFile, ...env });
  try {
    // the clicking clients' images are warm before anything is measured
    for (const t of targets.slice(0, clients)) await segment(url, t);
    process.stderr.write(`${name}: a propagation alone...\n`);
    const alone = await propagation(url, tube, 40, maxSlices);
    process.stderr.write(`${name}: ${clients} clients clicking alone...\n`);
    const clicksAlone = await clicking(url, targets, clients, Math.max(5000, Math.min(20_000, alone.seconds * 1000)));
    process.stderr.write(`${name}: a propagation beside ${clients} clicking clients...\n`);
    const running = propagation(url, tube, 41, maxSlices);
    const clicksBeside = await clicking(url, targets, clients, running);
    const beside = await running;
    const rate = (p: { slices: number; seconds: number }) => p.slices / p.seconds;
    return [
      `${name} | propagation alone | ${alone.slices} slices in ${alone.seconds.toFixed(1)} s: ${rate(alone).toFixed(2)} slices/s`,
      `${name} | propagation beside ${clients} clicking clients | ${beside.slices} slices in ${beside.seconds.toFixed(1)} s: ${rate(beside).toFixed(2)} slices/s (${(rate(beside) / rate(alone)).toFixed(2)}x alone)`,
      `${name} | clicks, ${clients} clients alone | ${clicksAlone.length} clicks, median ${pct(clicksAlone, 0.5).toFixed(1)} ms, p95 ${pct(clicksAlone, 0.95).toFixed(1)} ms`,
      `${name} | clicks, ${clients} clients beside a propagation | ${clicksBeside.length} clicks, median ${pct(clicksBeside, 0.5).toFixed(1)} ms, p95 ${pct(clicksBeside, 0.95).toFixed(1)} ms (p95 ${(pct(clicksBeside, 0.95) / pct(clicksAlone, 0.95)).toFixed(2)}x alone)`,
    ];
  } finally {
    child.kill('SIGTERM');
    await rm(work, { recursive: true, force: true });
  }
}

export async function propagateBench(args: string[]): Promise<void> {
  const slices = opt(args, 'slices', 64);
  const vitbSlices = opt(args, 'vitb-slices', 16);
  const clients = opt(args, 'clients', 4);
  const threads = opt(args, 'threads', 0);
  const env: Record<string, string> = threads ? { GLMEDSA_THREADS: String(threads) } : {};
  const work = await mkdtemp(path.join(os.tmpdir(), 'glmedsa-propagate-bench-'));
  const orthanc = await startBundledOrthanc({ dataDir: path.join(work, 'orthanc'), httpPort: 0, stopGraceMs: 0 });
  try {
    process.stderr.write(`propagate: storing a ${slices}-slice series and ${clients} photographs in Orthanc...\n`);
    const tube = await uploadTube(orthanc, slices);
    const targets = await phantomTargets(orthanc, 3100);
    const lines = [`propagation through a series over HTTP: ${SIZE}x${SIZE} CT slices in Orthanc, the server in its own process (2 workers, ${threads || 'default'} onnxruntime threads each), ${os.cpus().length} cores, onnxruntime CPU`];
    if (!args.includes('--vitb-only')) lines.push(...(await benchModel('starter', path.join(REPO, 'models', 'starter'), orthanc, tube, targets, clients, {}, env)));
    if (!args.includes('--starter-only')) {
      process.stderr.write('propagate: exporting a vit_b-shaped model at 512 px with random weights...\n');
      const vitb = path.join(work, 'vit_b_512');
      const config = presetConfig('vit_b', 'sam');
      await exportModel({ config, weights: randomWeights(config, 1), outDir: vitb, inputSize: 512, name: 'vit_b-512-random', keepWeights: false });
      // Random weights segment noise: the stop rule is off so the propagation runs through the series.
      const noStop = { propagation: { stopRule: { minPixels: 0, minStability: 0, minOverlap: 0, maxGrowth: 1e9, maxShift: 1e9, minScore: -1e9 } } };
      // A few slices on each side of the middle: vit_b encodes take seconds each on a CPU.
      lines.push(...(await benchModel('vit_b 512', vitb, orthanc, tube, targets, clients, noStop, env, Math.max(1, Math.floor(vitbSlices / 2)))));
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await orthanc.stop({ graceMs: 0 });
    await rm(work, { recursive: true, force: true });
  }
}
