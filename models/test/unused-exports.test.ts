/**
 * No dead exports in models/src, server/src or extension/src: every export that the package's
 * entries do not make public (models: `@glmedsa/models` and `@glmedsa/models/decode`; the server:
 * `@glmedsa/server` and `@glmedsa/server/api`; the extension: the module the viewer imports) is
 * used by some other file of the repository (product or test). Runs the compiler-API check of
 * models/scripts/export-usage.ts over the real source tree.
 *
 * KNOWN may list exports tolerated for a while (say, while another change reshapes their module),
 * with what to do about each; the check reports entries that have since gone. It is empty now.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCOPES, exportUsage } from '../scripts/export-usage.js';
import { REPO_ROOT } from './helpers/paths.js';

const KNOWN = new Set<string>([]);

test('every non-public export of models/src is used by another file', (t) => {
  const report = exportUsage(REPO_ROOT);
  assert.ok(report.exports.length > 100, `the scan found only ${report.exports.length} exports`);
  // The scan sees uses across packages: the server's imports of the package entry count.
  const rgbImage = report.exports.find((u) => u.file === 'models/src/image/rgb-image.ts' && u.name === 'rgbImage');
  assert.ok(rgbImage?.isPublic && rgbImage.usedBy.some((f) => f.startsWith('server/')), 'server uses of @glmedsa/models were not seen');

  const flagged = [...report.unused, ...report.onlyInFile].map((u) => `${u.file}: ${u.name}`);
  const unexpected = flagged.filter((k) => !KNOWN.has(k));
  assert.deepEqual(unexpected, [], 'exports nothing else uses: remove them, or drop the `export` keyword');
  for (const gone of [...KNOWN].filter((k) => !flagged.includes(k))) t.diagnostic(`KNOWN entry no longer needed: ${gone}`);
});

test('every export of extension/src other than its entry is used by another file', () => {
  const report = exportUsage(REPO_ROOT, SCOPES.extension);
  assert.ok(report.exports.length > 50, `the scan found only ${report.exports.length} exports`);
  // The scan sees the extension's tests and the cross-package decode tests.
  const parse = report.exports.find((u) => u.file === 'extension/src/admin/admin-client.ts' && u.name === 'parseEvent');
  assert.ok(parse?.usedBy.includes('extension/test/admin.test.ts'), 'uses by extension/test were not seen');
  const flagged = [...report.unused, ...report.onlyInFile].map((u) => `${u.file}: ${u.name}`);
  assert.deepEqual(flagged, [], 'exports nothing else uses: remove them, or drop the `export` keyword');
});

test('every export of server/src other than its entries is used by another file', () => {
  const report = exportUsage(REPO_ROOT, SCOPES.server);
  assert.ok(report.exports.length > 200, `the scan found only ${report.exports.length} exports`);
  // The cross-package tests import the server's built modules (@glmedsa/server/dist/src/...): those uses count.
  const demo = report.exports.find((u) => u.file === 'server/src/demo/demo-studies.ts' && u.name === 'DemoInstance');
  assert.ok(demo?.usedBy.includes('test/helpers/stack.ts'), 'uses through @glmedsa/server/dist were not seen');
  const flagged = [...report.unused, ...report.onlyInFile].map((u) => `${u.file}: ${u.name}`);
  assert.deepEqual(flagged, [], 'exports nothing else uses: remove them, or drop the `export` keyword');
});
