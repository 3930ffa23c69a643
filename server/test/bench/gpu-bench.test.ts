import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingCudaProvider } from '@glmedsa/models';
import { cudaFloat16Parity, findNvidiaGpu } from '../../bench/gpu-bench.js';

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'main.js');

function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('npm run bench -- gpu on a host without a GPU', () => {
  const gpu = findNvidiaGpu();

  test('says there is no GPU, installs nothing and exits 0', { skip: gpu.found ? `this host has a GPU (${gpu.name})` : false }, async () => {
    const before = missingCudaProvider();
    const r = await runBench(['gpu']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /GPU benchmark skipped: no NVIDIA GPU on this host \(no \/dev\/nvidia\* device and no nvidia-smi\)/);
    assert.doesNotMatch(r.stdout, /encoder ms|first click/);
    assert.equal(missingCudaProvider(), before, 'install:cuda did not run');
  });

  test('an unknown model size is refused before anything runs', async () => {
    const r = await runBench(['gpu', 'vit_q']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown model size vit_q \(choose vit_b, vit_h\)/);
  });

  test('a CUDA provider that does not load is reported with the reason', { skip: missingCudaProvider() ? false : 'the CUDA provider is installed here' }, async () => {
    const r = await cudaFloat16Parity();
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.reason, /CUDA execution provider unavailable \(libonnxruntime_providers_shared\.so is not installed/);
      assert.doesNotMatch(r.reason, /using the CPU/);
    }
  });
});
