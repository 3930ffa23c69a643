/**
 * A parity test whose fixture is missing must fail, never skip: a skipped parity test reads as a
 * pass. Every test file that reads the parity fixtures is run again, in its own process, against
 * an empty fixtures folder (GLMEDSA_PARITY_FIXTURES), and must report failures and no skips.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { MODELS_ROOT, tempDir } from './helpers/paths.js';

/** Source test files (relative to models/test) that read the parity fixtures through the helpers. */
function fixtureReadingTests(): string[] {
  const root = path.join(MODELS_ROOT, 'test');
  const reads = /\b(fixtureFile|fixtureDir|parityDir|loadFixture)\(|\bPARITY_FIXTURES\b/;
  const out: string[] = [];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.test.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (path.relative(root, file).startsWith('fixtures')) continue;
    if (file === path.join(root, 'missing-fixture.test.ts')) continue;
    if (reads.test(readFileSync(file, 'utf8'))) out.push(path.relative(root, file));
  }
  return out.sort();
}

function tapCount(output: string, name: string): number {
  const m = new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output);
  assert.ok(m, `no '# ${name}' line in the test output:\n${output.slice(-2000)}`);
  return Number(m[1]);
}

test('the parity tests are found (the scan below is not empty)', () => {
  const files = fixtureReadingTests();
  for (const expected of ['checkpoint/parity.test.ts', 'checkpoint/malicious.test.ts', 'sam/parity.test.ts']) {
    assert.ok(files.includes(expected), `${expected} not among ${files.join(', ')}`);
  }
});

for (const source of fixtureReadingTests()) {
  test(`${source} fails, and skips nothing, when the parity fixtures are missing`, () => {
    const empty = tempDir('glmedsa-no-fixtures-');
    const compiled = path.join(MODELS_ROOT, 'dist', 'test', source.replace(/\.ts$/, '.js'));
    // A fresh top-level test run: without NODE_TEST_CONTEXT, which marks a child of the runner.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', compiled], {
      cwd: MODELS_ROOT,
      env: { ...env, GLMEDSA_PARITY_FIXTURES: empty },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const output = `${run.stdout}${run.stderr}`;
    assert.notEqual(run.status, 0, `expected a failing run, got exit ${run.status}:\n${output.slice(-2000)}`);
    // A failing test, a failing suite (an error in describe()) or a failed hook (its tests are
    // reported cancelled) all count: each shows as a 'not ok' line and a non-zero exit.
    assert.ok(/^\s*not ok /m.test(output), 'no test, suite or hook failed');
    assert.equal(tapCount(output, 'skipped'), 0, 'a test was skipped');
    assert.equal(tapCount(output, 'todo'), 0, 'a test was marked todo');
    assert.ok(output.includes(empty), `the failures should name the missing fixture folder ${empty}`);
  });
}
