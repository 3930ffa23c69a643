/** glmedsa synth, called as a function: argument errors are UsageErrors; a small dataset is written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { UsageError } from '../../src/cli/args.js';
import { synthCommand, synthHelp } from '../../src/cli/synth-command.js';
import { loadDatasetItem, readDataset } from '../../src/synth/dataset.js';
import type { ProgressEvent } from '../../src/util/progress.js';
import { tempDir } from '../helpers/paths.js';

const root = tempDir('glmedsa-synth-cli-');

/** Runs the command with its summary and progress captured (stdout carries the test runner's own messages). */
async function run(argv: string[]): Promise<{ stdout: string; progress: ProgressEvent[] }> {
  const result = { stdout: '', progress: [] as ProgressEvent[] };
  await synthCommand(argv, { out: { write: (text: string) => (result.stdout += text) }, progress: (e) => result.progress.push(e) });
  return result;
}

test('bad arguments are usage errors with a message', async () => {
  const out = path.join(root, 'never');
  const cases: Array<[string[], RegExp]> = [
    [['--n', '3', '--out', out], /--site is required/],
    [['--site', 'Z', '--n', '3', '--out', out], /--site must be one of A, B, C, got 'Z'/],
    [['--site', 'A', '--out', out], /--n is required/],
    [['--site', 'A', '--n', '0', '--out', out], /--n expects an integer >= 1 <= 100000, got '0'/],
    [['--site', 'A', '--n', '100001', '--out', out], /--n expects an integer >= 1 <= 100000/],
    [['--site', 'A', '--n', '2.5', '--out', out], /--n expects an integer/],
    [['--site', 'A', '--n', '3', '--size', '16', '--out', out], /--size expects an integer >= 32 <= 4096, got '16'/],
    [['--site', 'A', '--n', '3', '--size', '5000', '--out', out], /--size expects an integer >= 32 <= 4096/],
    [['--site', 'A', '--n', '3', '--seed=-1', '--out', out], /--seed expects an integer >= 0/],
    [['--site', 'A', '--n', '3'], /--out is required/],
    [['--site', 'A', '--n', '3', '--out', out, '--kind', 'mri'], /--kind must be one of dermoscopy, ct, got 'mri'/],
    [['--site', 'A', '--n', '3', '--out', out, 'extra'], /unexpected argument 'extra'/],
  ];
  for (const [argv, message] of cases) {
    await assert.rejects(run(argv), (err: unknown) => {
      assert.ok(err instanceof UsageError, `${argv.join(' ')}: ${String(err)}`);
      assert.match(err.message, message);
      return true;
    });
  }
  await assert.rejects(run(['--site', 'A', '--n', '3', '--out', out, '--colour', 'x']), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  assert.match(synthHelp, /^glmedsa synth --site A\|B\|C --n N --out DIR/);
});

test('writes a small dataset and prints a one-line summary', async () => {
  const out = path.join(root, 'ds');
  const { stdout, progress } = await run(['--site', 'B', '--n', '3', '--size', '64', '--seed', '2', '--out', out]);
  assert.match(stdout, /^wrote 3 dermoscopy phantoms of site B \(64x64, seed 2\) to .*ds; lesions cover \d+\.\d% of the pixels on average\n$/);
  assert.deepEqual(progress.at(-1), { task: 'synth dermoscopy site B', done: 3, total: 3 });
  const ds = await readDataset(out);
  assert.equal(ds.count, 3);
  assert.equal(ds.kind, 'dermoscopy');
  assert.equal(ds.site, 'B');
  assert.equal(ds.size, 64);
  assert.equal(ds.seed, 2);
  const item = await loadDatasetItem(ds, ds.items[2]!);
  assert.equal(item.image.width, 64);
  assert.equal(item.mask.length, 64 * 64);

  const ct = path.join(root, 'ct');
  const r = await run(['--site', 'A', '--n', '1', '--size', '32', '--kind', 'ct', '--out', ct]);
  assert.match(r.stdout, /^wrote 1 ct phantom of site A \(32x32, seed 0\)/);
  assert.equal((await readDataset(ct)).kind, 'ct');
});
