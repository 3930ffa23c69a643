/**
 * Lists the exports of models/src that nothing else in the repository uses, for review:
 *   node models/dist/scripts/unused-exports.js [--all]
 * Sections: dead exports (not public, used nowhere), exports only their own file uses (drop
 * `export`), public exports nothing uses, exports only tests use, and package-entry names nothing
 * imports through `@glmedsa/models`. `--all` also prints every export with its users.
 * Exits 1 when there are dead or file-local exports (models/test/unused-exports.test.ts runs the
 * same check).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExportUsage, exportUsage, findRepoRoot } from './export-usage.js';

const root = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));
const report = exportUsage(root);
const line = (u: ExportUsage) => `  ${u.file}: ${u.name}${u.usedBy.length ? `  <- ${u.usedBy.join(', ')}` : ''}`;
const section = (title: string, rows: string[]) => {
  console.log(`${title} (${rows.length})`);
  for (const r of rows) console.log(r);
  console.log('');
};

if (process.argv.includes('--all')) section('every export of models/src', report.exports.map(line));
section('dead: exported, not public, used nowhere', report.unused.map(line));
section('file-local: not public, used only inside their own file (the export keyword can go)', report.onlyInFile.map(line));
section('public (package entry) but used nowhere outside their own file', report.publicUnused.map(line));
section('test-only: used outside their file only by tests', report.testOnly.map(line));
section('package entry (models/src/index.ts) names nothing imports through @glmedsa/models', report.entryUnused.map((n) => `  ${n}`));
process.exitCode = report.unused.length + report.onlyInFile.length > 0 ? 1 : 0;
