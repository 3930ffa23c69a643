/**
 * npm run install:cuda: the opt-in step that gives onnxruntime-node its CUDA execution provider.
 * onnxruntime-node's own install step downloads it from nuget.org; here it comes from the npm
 * registry package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9, which ships the ORT 1.29.0
 * CUDA 13 provider libraries. They are copied next to onnxruntime-node's libonnxruntime.so.1
 * (the versions must match exactly). The host needs CUDA 13, cuBLAS 13 and cuDNN 9.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { missingCudaProvider, ortLibraryDir } from '@glmedsa/models';

const PACKAGE = 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9';
const ORT_VERSION = '1.29.0';
const LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];

function main(): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the CUDA provider package is for linux-x64; this is ${process.platform}-${process.arch}`);
  }
  const require = createRequire(import.meta.url);
  const ortPkg = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string };
  if (ortPkg.version !== ORT_VERSION) {
    throw new Error(`onnxruntime-node is ${ortPkg.version}; the CUDA provider libraries of ${PACKAGE} need exactly ${ORT_VERSION}`);
  }
  const target = ortLibraryDir();
  if (!missingCudaProvider()) {
    process.stdout.write(`the CUDA provider is already installed in ${target}\n`);
    return;
  }
  const work = mkdtempSync(path.join(tmpdir(), 'glmedsa-cuda-'));
  try {
    process.stdout.write(`downloading ${PACKAGE} from the npm registry (about 180 MB)...\n`);
    execFileSync('npm', ['pack', PACKAGE, '--pack-destination', work, '--silent'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const tarball = execFileSync('sh', ['-c', `ls "${work}"/*.tgz`]).toString().trim();
    execFileSync('tar', ['xzf', tarball, '-C', work, ...LIBS.map((l) => `package/Plugins/Linux/x64/${l}`)], { stdio: 'inherit' });
    for (const lib of LIBS) {
      const src = path.join(work, 'package', 'Plugins', 'Linux', 'x64', lib);
      if (!existsSync(src)) throw new Error(`${PACKAGE} does not contain ${lib}`);
      const tmp = path.join(target, `.${lib}.tmp`);
      copyFileSync(src, tmp);
      renameSync(tmp, path.join(target, lib));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(
    `installed ${LIBS.join(' and ')} into ${target}\n` +
      `the server now tries CUDA when device is auto or cuda; it needs CUDA 13, cuBLAS 13 and cuDNN 9 on this host, ` +
      `and falls back to the CPU with a log line saying why when they are missing\n`,
  );
}

try {
  main();
} catch (err) {
  process.stderr.write(`install:cuda: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
