/**
 * `npm run bench` (model): a vit_b-sized encoder and its decoder with random weights on this CPU,
 * at encoder input sizes 256, 512 and 1024. Reports medians, achieved GFLOP/s, peak memory, and
 * ratios against official SAM in PyTorch measured on the same 2-core CPU (README, "Measured on this project's machine").
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { table } from './stats.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

/** Official SAM (PyTorch 1.13, OpenBLAS, 2 threads) on this machine: encoder ms, decoder ms per click. */
const PYTORCH_PEER: Record<number, { encoder?: number; decoder?: number }> = {
  512: { encoder: 4800, decoder: 54 },
  1024: { encoder: 23100, decoder: 271 },
};

interface CaseResult {
  size: number;
  gflop: number;
  session_ms: number;
  encoder_ms: number;
  decoder_ms: number;
  decoder_3click_ms: number;
  peak_rss_mb: number;
}

export async function modelBench(args: string[]): Promise<void> {
  const sizes = args.length ? args.map(Number) : [256, 512, 1024];
  const results: CaseResult[] = [];
  process.stdout.write(`vit_b encoder + decoder, random weights, onnxruntime CPU, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})\n`);
  for (const size of sizes) {
    const runs = size >= 1024 ? 3 : 5;
    process.stderr.write(`  measuring input ${size}px (${runs} encoder runs)...\n`);
    const { stdout } = await run(process.execPath, [path.join(here, 'model-case.js'), String(size), String(runs), '20'], {
      maxBuffer: 1 << 20,
    });
    results.push(JSON.parse(stdout.trim().split('\n').pop()!) as CaseResult);
  }
  const base = results.find((r) => r.size === 1024) ?? results[results.length - 1]!;
  const rows: (string | number)[][] = [
    ['input', 'GFLOP', 'encoder ms', 'GFLOP/s', 'vs 1024', 'vs PyTorch', 'decoder ms/click', 'vs PyTorch', '3 clicks ms', 'peak MB'],
  ];
  for (const r of results) {
    const peer = PYTORCH_PEER[r.size];
    rows.push([
      r.size,
      r.gflop.toFixed(0),
      r.encoder_ms.toFixed(0),
      (r.gflop / (r.encoder_ms / 1000)).toFixed(1),
      `${(r.encoder_ms / base.encoder_ms).toFixed(3)}x`,
      peer?.encoder ? `${(peer.encoder / r.encoder_ms).toFixed(2)}x faster` : '-',
      r.decoder_ms.toFixed(1),
      peer?.decoder ? `${(peer.decoder / r.decoder_ms).toFixed(2)}x faster` : '-',
      r.decoder_3click_ms.toFixed(1),
      r.peak_rss_mb.toFixed(0),
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
  process.stdout.write(
    'decoder ms/click: one click, decoder.onnx end to end (prompt encoding, mask decoder, 4 masks upsampled to the input size)\n',
  );
}
