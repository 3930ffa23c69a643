/**
 * Lists the exports of models/src (or server/src, extension/src) that nothing else in the
 * repository uses, for review:
 *   node models/dist/scripts/unused-exports.js [--scope models|server|extension] [--all]
 * Sections: dead exports (not public, used nowhere), exports only their own file uses (drop
 * `export`), public exports nothing uses, exports only tests use, and package-entry names nothing
 * imports through `@glmedsa/models`. `--all` also prints every export with its users.
 * Exits 1 when there are dead or file-local exports (models/test/unused-exports.test.ts runs the
 * same check for each scope).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExportUsage, SCOPES, exportUsage, findRepoRoot } from './export-usage.js';

const root = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));
const at = process.argv.indexOf('--scope');
const name = at > 0 ? process.argv[at + 1] ?? '' : 'models';
if (!(name in SCOPES)) {
  console.error(`--scope must be one of ${Object.keys(SCOPES).join(', ')}`);
  process.exit(2);
}
const scope = SCOPES[name as keyof typeof SCOPES];
const report = exportUsage(root, scope);
const line = (u: ExportUsage) => `  ${u.file}: ${u.name}${u.usedBy.length ? `  <- ${u.usedBy.join(', ')}` : ''}`;
const section = (title: string, rows: string[]) => {
  console.log(`${title} (${rows.length})`);
  for (const r of rows) console.log(r);
  console.log('');
};

if (process.argv.includes('--all')) section(`every export of ${scope.src}`, report.exports.map(line));
section('dead: exported, not public, used nowhere', report.unused.map(line));
section('file-local: not public, used only inside their own file (the export keyword can go)', report.onlyInFile.map(line));
section('public (package entry) but used nowhere outside their own file', report.publicUnused.map(line));
section('test-only: used outside their file only by tests', report.testOnly.map(line));
section(`main entry (${scope.entries[0]}) names nothing imports through it`, report.entryUnused.map((n) => `  ${n}`));
process.exitCode = report.unused.length + report.onlyInFile.length > 0 ? 1 : 0;
