/**
 * The house's import rules (.dependency-cruiser.cjs, checked by dependency-cruiser) hold over the
 * product sources; and each rule bites: a small tree that breaks every rule once, beside imports
 * the rules allow, is cruised with the same configuration.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from './helpers/paths.js';

const CLI = path.join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = path.join(REPO_ROOT, '.dependency-cruiser.cjs');
const PRODUCT = ['models/src', 'server/src', 'extension/src', 'mode/src'];

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}
interface CruiseResult {
  summary: { violations: Violation[]; totalCruised: number; totalDependenciesCruised: number; error: number };
}

function cruise(cwd: string, dirs: string[]): CruiseResult {
  const run = spawnSync(process.execPath, [CLI, '--config', CONFIG, '--output-type', 'json', ...dirs], { cwd, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  assert.ok(run.stdout.startsWith('{'), `dependency-cruiser answered (exit ${run.status}): ${run.stderr}${run.stdout.slice(0, 2000)}`);
  return JSON.parse(run.stdout) as CruiseResult;
}

const describe = (v: Violation) => `${v.rule.name}: ${v.from} -> ${v.to}`;

test('the product sources keep the import rules', () => {
  const { summary } = cruise(REPO_ROOT, PRODUCT);
  assert.ok(summary.totalCruised > 250, `cruised only ${summary.totalCruised} modules`);
  assert.ok(summary.totalDependenciesCruised > 1000, `followed only ${summary.totalDependenciesCruised} imports`);
  assert.deepEqual(summary.violations.map(describe), [], 'imports that break the rules of .dependency-cruiser.cjs');
});

const scratch = mkdtempSync(path.join(tmpdir(), 'glmedsa-layering-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('every rule reports the import that breaks it, and lets the allowed ones pass', () => {
  const files: Record<string, string> = {
    // Leaves and allowed imports.
    'models/src/tensor.ts': 'export const t = 1;',
    'server/src/errors.ts': 'export const e = 1;',
    'server/src/main.ts': "import express from 'express';\nimport { r } from './routes/r.js';\nexport const m = [express, r];",
    'server/src/routes/r.ts': "import express from 'express';\nimport { s } from '../segmentation/s.js';\nimport { e } from '../errors.js';\nexport const r = [express, s, e];",
    'server/src/api/ok.ts': "import { z } from 'zod';\nexport const ok = z.string();",
    'models/src/decode/ok.ts': "import { y } from './index.js';\nexport const ok = y;",
    // models-knows-no-server
    'models/src/leak.ts': "import { e } from '../../server/src/errors.js';\nexport const leak = e;",
    // server-knows-no-viewer-code
    'server/src/viewer/v.ts': "import { x } from '../../../extension/src/index.js';\nexport const v = x;",
    // api-module-browser-safe
    'server/src/api/index.ts': "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;",
    // decode-core-browser-safe
    'models/src/decode/index.ts': "import { t } from '../tensor.js';\nexport const y = t;",
    // viewer-code-uses-only-the-shared-modules (the API module itself is allowed)
    'extension/src/index.ts': "import { e } from '../../server/src/errors.js';\nimport { ok } from '../../server/src/api/ok.js';\nexport const x = [e, ok];",
    // no-folder-cycles, and server-order for two siblings on one row
    'server/src/jobs/a.ts': "import { b } from '../adapters/b.js';\nexport const a = () => b;",
    'server/src/adapters/b.ts': "import { a } from '../jobs/a.js';\nexport const b = () => a;",
    // server-order: a leaf that imports upward; express-only-at-the-edge
    'server/src/cache/lru.ts': "import { s } from '../segmentation/s.js';\nexport const lru = s;",
    'server/src/segmentation/s.ts': "import express from 'express';\nexport const s = express;",
    // server-room-unplaced
    'server/src/newroom/n.ts': "import { e } from '../errors.js';\nexport const n = e;",
    // resolvable
    'server/src/http/h.ts': "import { gone } from './missing.js';\nexport const h = gone;",
    'mode/src/index.ts': 'export const mode = 1;',
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
    writeFileSync(path.join(scratch, file), `${text}\n`);
  }
  copyFileSync(path.join(REPO_ROOT, 'tsconfig.base.json'), path.join(scratch, 'tsconfig.base.json'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');

  const { summary } = cruise(scratch, PRODUCT);
  const found = summary.violations.map(describe);
  const expected = [
    'models-knows-no-server: models/src/leak.ts -> server/src/errors.ts',
    'server-knows-no-viewer-code: server/src/viewer/v.ts -> extension/src/index.ts',
    'api-module-browser-safe: server/src/api/index.ts -> fs',
    'decode-core-browser-safe: models/src/decode/index.ts -> models/src/tensor.ts',
    'viewer-code-uses-only-the-shared-modules: extension/src/index.ts -> server/src/errors.ts',
    'no-folder-cycles: server/src/jobs -> server/src/adapters',
    'server-order:jobs: server/src/jobs/a.ts -> server/src/adapters/b.ts',
    'server-order:adapters: server/src/adapters/b.ts -> server/src/jobs/a.ts',
    'server-order:cache: server/src/cache/lru.ts -> server/src/segmentation/s.ts',
    'server-room-unplaced: server/src/newroom/n.ts -> server/src/errors.ts',
    
    'resolvable: server/src/http/h.ts -> ./missing.js',
  ];
  assert.ok(found.some((v) => /^express-only-at-the-edge: server\/src\/segmentation\/s\.ts -> .*node_modules\/express\//.test(v)), 'express outside the edge');
  for (const v of expected) assert.ok(found.includes(v), `${v}\nnot among the violations found:\n${found.join('\n')}`);
  // What the rules allow: the entry and routes use express and the services; the API module zod;
  // the decode core itself; the extension the API module.
  for (const from of ['server/src/main.ts', 'server/src/routes/r.ts', 'server/src/api/ok.ts', 'models/src/decode/ok.ts']) {
    assert.deepEqual(found.filter((v) => v.includes(` ${from} -> `)), [], `${from} breaks no rule`);
  }
  assert.ok(!found.some((v) => v.includes('-> server/src/api/ok.ts')), 'the extension may import the API module');
});
