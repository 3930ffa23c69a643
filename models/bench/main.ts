/** npm run bench [-- suite args...]: dispatches to one benchmark suite (default: model). */
import { modelBench } from './model.js';
import { propagateEvalBench } from './propagate-eval.js';
import { starterBench } from './starter.js';
import { synthBench } from './synth.js';
import { table1Bench } from './table1.js';

const SUITES: Record<string, (args: string[]) => Promise<void>> = {
  model: modelBench,
  table1: table1Bench,
  synth: synthBench,
  'propagate-eval': propagateEvalBench,
  starter: starterBench,
};

const [suite = 'model', ...args] = process.argv.slice(2);
const fn = SUITES[suite];
if (!fn) {
  process.stderr.write(`unknown benchmark suite '${suite}' (choose ${Object.keys(SUITES).join(', ')})\n`);
  process.exitCode = 2;
} else {
  await fn(args);
}
