/**
 * npm run bench -- jobs: a fine-tuning job on the starter (site-B phantoms, 128x128, in a child
 * process at the configured job thread count) next to clicks on the same server, which runs in its
 * own process with a real Orthanc. Prints the job's steps per second alone and under clicks, and
 * the click latency (median, p95) without a job and while one trains, with the ratios.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort, startBundledOrthanc } from '../src/bundled-pacs/index.js';
import { type Target, pct, phantomTargets, segment } from './server-bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..', '..');
const CLI = path.join(REPO, 'models', 'bin', 'glmedsa.js');
const STEPS = 40;
const HP = { steps: STEPS, batch: 2, lr: 1e-3, seed: 1 };

/** The server in its own process with its data folder under `cwd`. */
async function startServer(cwd: string, pacsUrl: string, configFile: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await findFreePort();
  const child = spawn(process.execPath, [path.join(REPO, 'server', 'bin', 'glmedsa-server.js'), '--config', configFile], {
    cwd,
    env: { ...process.env, GLMEDSA_PORT: String(port), GLMEDSA_PACS_URL: pacsUrl, GLMEDSA_MODEL_DIR: path.join(REPO, 'models', 'starter'), GLMEDSA_DEVICE: 'cpu', GLMEDSA_LOG_LEVEL: 'warn', GLMEDSA_QUEUE_LIMIT: '64' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return { url, child };
    if (child.exitCode !== null) throw new Error('the server exited during start');
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not become ready');
}

interface JobView {
  state: string;
  phase: string;
  reason: string | null;
  progress: { step: number };
}

async function job(url: string, id: string): Promise<JobView> {
  return (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as JobView;
}

/**
 * Runs a job to its end; `during` runs while it trains and is stopped when training ends.
 * Steps per second are measured between the first and the last training step seen (polled).
 */
async function runJob(url: string, during?: (training: () => boolean) => Promise<void>): Promise<{ stepsPerSecond: number }> {
  const res = await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataset: { folder: 'site-b' }, hyperparameters: HP }) });
  if (res.status !== 202) throw new Error(`job answered ${res.status}: ${await res.text()}`);
  const id = ((await res.json()) as { id: string }).id;
  let first: { step: number; t: number } | null = null;
  let last: { step: number; t: number } | null = null;
  let training = true;
  const side = (async () => {
    while ((await job(url, id)).progress.step < 1) await new Promise((r) => setTimeout(r, 100));
    await during?.(() => training);
  })();
  for (;;) {
    const j = await job(url, id);
    const t = performance.now();
    if (j.phase === 'training' && j.progress.step > 0) {
      first ??= { step: j.progress.step, t };
      if (j.progress.step > (last?.step ?? 0)) last = { step: j.progress.step, t };
    }
    if (j.phase !== 'training' && first !== null) training = false;
    if (['succeeded', 'failed', 'cancelled'].includes(j.state)) {
      training = false;
      if (j.state !== 'succeeded') throw new Error(`the job ${j.state}: ${j.reason}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await side;
  if (!first || !last || last.step === first.step) throw new Error('the job trained too quickly to measure');
  return { stepsPerSecond: ((last.step - first.step) * 1000) / (last.t - first.t) };
}

/** Later clicks (decode only: the images' embeddings are warm) until `more()` says stop, at most `max`. */
async function clicks(url: string, targets: readonly Target[], more: () => boolean, max: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < max && more(); i++) ms.push(await segment(url, targets[i % targets.length]!, (i % 5) - 2));
  return ms;
}

const line = (what: string, ms: number[]) => `${what}: median ${pct(ms, 0.5).toFixed(1)} ms, p95 ${pct(ms, 0.95).toFixed(1)} ms (${ms.length} clicks)`;

export async function jobsBench(_args: string[]): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'glmedsa-jobs-bench-'));
  const orthanc = await startBundledOrthanc({ dataDir: path.join(work, 'orthanc'), httpPort: 0, stopGraceMs: 0 });
  let server: ChildProcess | undefined;
  try {
    for (const [part, n, seed] of [['train', 16, 1], ['validation', 6, 2]] as const) {
      const r = spawnSync(process.execPath, [CLI, 'synth', '--site', 'B', '--n', String(n), '--size', '128', '--seed', String(seed), '--out', path.join(work, 'datasets', 'site-b', part)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`synth failed: ${r.stderr}`);
    }
    const configFile = path.join(work, 'config.json');
    await writeFile(configFile, JSON.stringify({ jobs: { datasetRoot: path.join(work, 'datasets'), threads: 1, checkpointEvery: 1000 } }));
    const targets = await phantomTargets(orthanc, 4100);
    const started = await startServer(work, orthanc.dicomWebUrl, configFile);
    server = started.child;
    const url = started.url;
    const warm = targets.slice(0, 4);
    for (const t of warm) await segment(url, t); // encode once: later clicks decode only
    const firstIdle: number[] = [];
    for (const t of targets.slice(4, 8)) firstIdle.push(await segment(url, t));
    const idle = await clicks(url, warm, () => true, 60);

    const alone = await runJob(url);
    const busy: number[] = [];
    const firstBusy: number[] = [];
    const underClicks = await runJob(url, async (training) => {
      for (const t of targets.slice(8, 12)) if (training()) firstBusy.push(await segment(url, t));
      busy.push(...(await clicks(url, warm, training, 10_000)));
    });
    const ratio = (a: number[], b: number[], p: number) => (pct(a, p) / pct(b, p)).toFixed(2);
    const lines = [
      `fine-tuning jobs on the starter: site-B phantoms 128x128, ${STEPS} steps, batch ${HP.batch}, 1 job thread, ${os.cpus().length} cores, onnxruntime CPU`,
      `job alone: ${alone.stepsPerSecond.toFixed(2)} steps/s; while clicked: ${underClicks.stepsPerSecond.toFixed(2)} steps/s (ratio ${(underClicks.stepsPerSecond / alone.stepsPerSecond).toFixed(2)})`,
      line('later clicks, no job', idle),
      line('later clicks, job training', busy),
      `later clicks, job / no job: median x${ratio(busy, idle, 0.5)}, p95 x${ratio(busy, idle, 0.95)}`,
      line('first clicks (encode), no job', firstIdle),
      ...(firstBusy.length > 0 ? [line('first clicks (encode), job training', firstBusy), `first clicks, job / no job: median x${ratio(firstBusy, firstIdle, 0.5)}`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    server?.kill('SIGTERM');
    await orthanc.stop({ graceMs: 0 });
    await rm(work, { recursive: true, force: true });
  }
}
