/**
 * npm run bench -- gpu [vit_b] [vit_h]: the models and the server on an NVIDIA GPU.
 * On a host with a GPU: installs the CUDA provider (install:cuda), checks float16 parity on the
 * shipped fixtures on CUDA, exports vit_b- and vit_h-sized GLMed-SA models at 1024 (random
 * weights: the shapes and FLOPs are what matter) in float32 and float16, and reports encoder
 * and decoder medians on CUDA against the CPU, the float16 masks' sign agreement with float32,
 * and the server's first-click latency on CUDA. Sized to finish within 10 minutes on one
 * data-centre GPU (the vit_h CPU encoder runs once after a warm-up run).
 * Without a GPU, or when the CUDA provider cannot be installed or loaded, it says so and exits 0.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportModel, presetConfig, randomWeights } from '@glmedsa/models';
import { startBundledOrthanc } from '../src/bundled-pacs/index.js';
import { pct, phantomTargets, segment, startServerProcess } from './server-bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const INSTALL_CUDA = path.resolve(here, '..', 'scripts', 'install-cuda-provider.js');
const MODELS_BENCH = path.join(path.dirname(createRequire(import.meta.url).resolve('@glmedsa/models/package.json')), 'dist', 'bench');
const PRESETS = ['vit_b', 'vit_h'] as const;
type Preset = (typeof PRESETS)[number];

/** Encoder and decoder runs per case (the CPU ones are fewer: the CPU is the slow reference). */
const RUNS: Record<Preset, Record<'cuda' | 'cpu', [encoder: number, decoder: number]>> = {
  vit_b: { cuda: [10, 50], cpu: [3, 20] },
  vit_h: { cuda: [10, 50], cpu: [1, 10] },
};

const say = (line: string) => process.stdout.write(`${line}\n`);

export type GpuPresence = { found: true; name: string } | { found: false; reason: string };

/** An NVIDIA GPU is present when the driver's device nodes exist or nvidia-smi lists one. */
export function findNvidiaGpu(): GpuPresence {
  let devices: string[] = [];
  try {
    devices = readdirSync('/dev').filter((n) => /^nvidia\d+$/.test(n));
  } catch {
    // no /dev to read (not Linux)
  }
  let name: string | undefined;
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 20_000,
    });
    name = out.toString().trim().split('\n')[0]?.trim() || undefined;
  } catch {
    // nvidia-smi missing or failing
  }
  if (name) return { found: true, name };
  if (devices.length) return { found: true, name: `/dev/${devices[0]} (nvidia-smi unavailable)` };
  return { found: false, reason: 'no /dev/nvidia* device and no nvidia-smi' };
}

interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runNode(script: string, args: string[], echo = false): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (echo) process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The sentence a failed child process ended with (its error message, not its stack). */
function failure(r: ChildResult): string {
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => /^(\w*Error|install:cuda):/.test(l));
  // openSession's sentence ends with what the server would do ("; using the CPU"): not so here.
  return (error ?? lines[lines.length - 1] ?? `exit code ${r.code}`).replace(/^Error: /, '').replace(/; using the CPU$/, '');
}

const lastJson = <T>(stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as T;

interface ParityReport {
  threshold: number;
  fixtures: Record<string, { provider: string; embeddings_max_abs: number; embeddings_max: number; min_mask_sign_agreement: number }>;
}

/** Float16 parity on the shipped fixtures on CUDA; a reason when the CUDA provider does not load. */
export async function cudaFloat16Parity(): Promise<{ ok: true; report: ParityReport } | { ok: false; reason: string }> {
  const r = await runNode(path.join(MODELS_BENCH, 'float16-parity-case.js'), ['cuda']);
  if (r.code !== 0) return { ok: false, reason: failure(r) };
  return { ok: true, report: lastJson<ParityReport>(r.stdout) };
}

interface CaseResult {
  provider: string;
  session_ms: number;
  encoder_ms: number;
  decoder_ms: number;
  peak_rss_mb: number;
}

async function runCase(dir: string, device: 'cuda' | 'cpu', runs: [number, number], signs?: string): Promise<CaseResult> {
  const r = await runNode(path.join(MODELS_BENCH, 'gpu-case.js'), [dir, device, String(runs[0]), String(runs[1]), ...(signs ? [signs] : [])]);
  if (r.code !== 0) throw new Error(`${path.basename(dir)} on ${device}: ${failure(r)}`);
  return lastJson<CaseResult>(r.stdout);
}

async function signAgreement(a: string, b: string): Promise<number> {
  const [x, y] = [await readFile(a), await readFile(b)];
  if (x.length !== y.length || !x.length) return 0;
  let same = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === y[i]) same++;
  return same / x.length;
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const times = (slow: number, fast: number) => `${(slow / fast).toFixed(1)}x`;

/** Exports, measures and returns the table rows for one model size. */
async function benchPreset(preset: Preset, work: string): Promise<{ rows: string[]; dirs: Record<'float32' | 'float16', string> }> {
  const config = presetConfig(preset, 'glmedsa');
  process.stderr.write(`  ${preset}: random weights, exporting float32 and float16 at 1024...\n`);
  const weights = randomWeights(config, 11);
  const dirs = { float32: path.join(work, `${preset}-float32`), float16: path.join(work, `${preset}-float16`) };
  for (const dtype of ['float32', 'float16'] as const) {
    await exportModel({ config, weights, outDir: dirs[dtype], inputSize: 1024, dtype, name: `${preset}-random-${dtype}`, keepWeights: false });
  }
  process.stderr.write(`  ${preset}: measuring on CUDA (float32, float16) and on the CPU (float32)...\n`);
  const signs32 = path.join(work, `${preset}-float32.signs`);
  const signs16 = path.join(work, `${preset}-float16.signs`);
  const cuda32 = await runCase(dirs.float32, 'cuda', RUNS[preset].cuda, signs32);
  const cuda16 = await runCase(dirs.float16, 'cuda', RUNS[preset].cuda, signs16);
  const cpu = await runCase(dirs.float32, 'cpu', RUNS[preset].cpu);
  const agreement = await signAgreement(signs32, signs16);
  const row = (dtype: string, device: string, r: CaseResult, extra: string) =>
    `| ${preset} 1024 | ${dtype} | ${device} | ${(r.session_ms / 1000).toFixed(1)} s | ${ms(r.encoder_ms)} | ${r === cpu ? '1x' : times(cpu.encoder_ms, r.encoder_ms)} | ` +
    `${ms(r.decoder_ms)} | ${r === cpu ? '1x' : times(cpu.decoder_ms, r.decoder_ms)} | ${extra} |`;
  for (const r of [cuda32, cuda16]) if (r.provider !== 'cuda') throw new Error(`${preset} ran on ${r.provider}, not CUDA`);
  return {
    dirs,
    rows: [
      row('float32', 'CPU', cpu, '-'),
      row('float32', 'CUDA', cuda32, '-'),
      row('float16', 'CUDA', cuda16, `${(agreement * 100).toFixed(3)}% (encoder ${times(cuda32.encoder_ms, cuda16.encoder_ms)}, decoder ${times(cuda32.decoder_ms, cuda16.decoder_ms)} faster than float32)`),
    ],
  };
}

/** First clicks (fetch + encode + decode) and later clicks through the server on CUDA. */
async function benchServer(models: { name: string; dir: string }[]): Promise<string[]> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'glmedsa-gpu-server-'));
  const orthanc = await startBundledOrthanc({ dataDir: path.join(work, 'orthanc'), httpPort: 0, stopGraceMs: 0 });
  const rows: string[] = [];
  try {
    for (const [i, m] of models.entries()) {
      process.stderr.write(`  server on CUDA: ${m.name}...\n`);
      const targets = await phantomTargets(orthanc, 5000 + 100 * i); // fresh images: no cached embeddings
      const { url, child } = await startServerProcess(m.dir, orthanc.dicomWebUrl, { GLMEDSA_DEVICE: 'cuda', GLMEDSA_WORKERS: '1' });
      try {
        const listed = (await (await fetch(`${url}/v1/models`)).json()) as { models: { provider: string }[] };
        const provider = listed.models[0]?.provider ?? '?';
        const first: number[] = [];
        for (const t of targets.slice(0, 6)) first.push(await segment(url, t));
        const later: number[] = [];
        for (let k = 0; k < 30; k++) later.push(await segment(url, targets[k % 6]!, (k % 5) - 2));
        rows.push(
          `| ${m.name} | ${provider === 'cuda' ? 'CUDA' : `${provider} (CUDA did not load)`} | median ${ms(pct(first, 0.5))} ms, p95 ${ms(pct(first, 0.95))} ms | ` +
            `median ${ms(pct(later, 0.5))} ms, p95 ${ms(pct(later, 0.95))} ms |`,
        );
      } finally {
        child.kill('SIGTERM');
      }
    }
  } finally {
    await orthanc.stop({ graceMs: 0 });
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}

export async function gpuBench(args: string[]): Promise<void> {
  const presets = args.length ? args : [...PRESETS];
  const unknown = presets.filter((p) => !(PRESETS as readonly string[]).includes(p));
  if (unknown.length) {
    process.stderr.write(`unknown model size ${unknown.join(', ')} (choose ${PRESETS.join(', ')})\n`);
    process.exitCode = 2;
    return;
  }

  const gpu = findNvidiaGpu();
  if (!gpu.found) {
    say(`GPU benchmark skipped: no NVIDIA GPU on this host (${gpu.reason}). Nothing was installed or measured.`);
    return;
  }
  say(`GPU: ${gpu.name}; ${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? '?'})`);
  const install = await runNode(INSTALL_CUDA, [], true);
  if (install.code !== 0) {
    say(`GPU benchmark skipped: the CUDA provider could not be installed (${failure(install)}).`);
    return;
  }
  const parity = await cudaFloat16Parity();
  if (!parity.ok) {
    say(`GPU benchmark skipped: the CUDA execution provider does not load (${parity.reason}).`);
    return;
  }

  const t0 = performance.now();
  const { threshold, fixtures } = parity.report;
  say(`\nfloat16 parity on CUDA (shipped fixtures, float16 model against float32, end to end; bar ${threshold * 100}%):`);
  for (const [name, r] of Object.entries(fixtures)) {
    const pass = r.min_mask_sign_agreement >= threshold ? 'pass' : 'FAIL';
    if (pass === 'FAIL') process.exitCode = 1;
    say(`  ${name}: masks agree in sign on >= ${(r.min_mask_sign_agreement * 100).toFixed(3)}% of pixels in every case (${pass}); embeddings differ by up to ${r.embeddings_max_abs.toExponential(2)} (values up to ${r.embeddings_max.toFixed(2)})`);
  }

  const work = await mkdtemp(path.join(os.tmpdir(), 'glmedsa-gpu-bench-'));
  try {
    const rows = ['| model | precision | device | session start | encoder ms | encoder vs CPU | decoder ms/click | decoder vs CPU | float16 mask sign agreement |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
    const served: { name: string; dir: string }[] = [];
    for (const preset of presets as Preset[]) {
      const r = await benchPreset(preset, work);
      rows.push(...r.rows);
      if (preset === 'vit_b') served.push({ name: 'vit_b 1024 float32', dir: r.dirs.float32 });
      served.push({ name: `${preset} 1024 float16`, dir: r.dirs.float16 });
    }
    say(`\nGLMed-SA models, random weights, medians (ratios: CPU time / this time):`);
    say(rows.join('\n'));
    say('decoder ms/click: decoder.onnx end to end for one click (prompt encoding, mask decoder, 4 masks upsampled to 1024)');
    say('\nserver over HTTP on CUDA: 512x512 photographs in Orthanc, first click = fetch + encode + decode, later clicks = decode');
    say(['| model | provider | first click | later clicks |', '| --- | --- | --- | --- |', ...(await benchServer(served))].join('\n'));
    say(`\n(GPU benchmark took ${((performance.now() - t0) / 1000).toFixed(0)} s after installing the provider)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
