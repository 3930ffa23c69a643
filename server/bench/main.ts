/**
 * npm run bench [-- suite ...]: 'server', 'jobs', 'gpu', 'soak', 'workers', 'propagate', 'cluster', and 'e2e' and
 * 'e2e-propagate' (the browser, from test/) run here; other suites (model, table1, synth, starter, propagate-eval) are the
 * models package's benchmarks, run in their own process.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { clusterBench } from './cluster-bench.js';
import { gpuBench } from './gpu-bench.js';
import { jobsBench } from './jobs-bench.js';
import { propagateBench } from './propagate-bench.js';
import { serverBench } from './server-bench.js';
import { soakBench } from './soak.js';
import { workersBench } from './workers-bench.js';

const [suite = 'model', ...args] = process.argv.slice(2);
if (suite === 'server') {
  await serverBench(args);
} else if (suite === 'jobs') {
  await jobsBench(args);
} else if (suite === 'gpu') {
  await gpuBench(args);
} else if (suite === 'propagate') {
  await propagateBench(args);
} else if (suite === 'soak') {
  await soakBench(args);
} else if (suite === 'workers') {
  await workersBench(args);
} else if (suite === 'cluster') {
  await clusterBench(args);
} else if (suite === 'e2e') {
  // The browser benchmark lives with the cross-package tests (it drives the real stack in Chromium).
  const { e2eBench } = (await import(new URL('../../../test/dist/bench/e2e-bench.js', import.meta.url).href)) as { e2eBench: (a: string[]) => Promise<void> };
  await e2eBench(args);
} else if (suite === 'e2e-propagate') {
  // P to the last slice drawn in the viewer, for the demo CT volume (the browser, from test/).
  const { propagateE2eBench } = (await import(new URL('../../../test/dist/bench/propagate-e2e-bench.js', import.meta.url).href)) as { propagateE2eBench: (a: string[]) => Promise<void> };
  await propagateE2eBench(args);
} else {
  const require = createRequire(import.meta.url);
  const models = path.dirname(require.resolve('@glmedsa/models/package.json'));
  const child = spawn(process.execPath, [path.join(models, 'dist', 'bench', 'main.js'), suite, ...args], { stdio: 'inherit' });
  child.on('exit', (code) => (process.exitCode = code ?? 1));
}
