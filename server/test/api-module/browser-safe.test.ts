/**
 * @glmedsa/server/api is bundled into the OHIF extension, so everything it imports (types
 * included) must exist in a browser: no Node.js built-ins, no express, nothing from
 * @glmedsa/models, no other server module. Walks its import graph from the TypeScript sources
 * (type-only imports count: the extension type-checks them) and from the compiled JavaScript.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.resolve(here, '..', '..', '..');
/** Packages the API module may use: zod (a browser-safe validation library). */
const ALLOWED_PACKAGES = new Set(['zod']);
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Every module reachable from `entry` by relative imports, and the bare specifiers they import. */
function importGraph(entry: string, toFile: (from: string, spec: string) => string): { files: string[]; bare: Map<string, string> } {
  const files: string[] = [];
  const bare = new Map<string, string>();
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    if (files.includes(file)) continue;
    assert.ok(existsSync(file), `imported file exists: ${file}`);
    files.push(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: spec } of importedFiles) {
      if (spec.startsWith('.')) todo.push(toFile(file, spec));
      else bare.set(spec, path.relative(SERVER, file));
    }
  }
  return { files, bare };
}

function assertBrowserSafe(graph: { files: string[]; bare: Map<string, string> }, root: string): void {
  for (const file of graph.files) {
    assert.ok(file.startsWith(root + path.sep), `${path.relative(SERVER, file)} stays inside the api module`);
  }
  for (const [spec, from] of graph.bare) {
    assert.ok(!BUILTINS.has(spec), `${from} imports the Node.js built-in '${spec}'`);
    assert.ok(ALLOWED_PACKAGES.has(spec), `${from} imports '${spec}', which is not known to be browser-safe`);
  }
}

test('the TypeScript sources of the api module import only each other and zod', () => {
  const root = path.join(SERVER, 'src', 'api');
  const graph = importGraph(path.join(root, 'index.ts'), (from, spec) => path.resolve(path.dirname(from), spec.replace(/\.js$/, '.ts')));
  assert.ok(graph.files.length >= 4, `walked ${graph.files.length} files`);
  assertBrowserSafe(graph, root);
  for (const file of graph.files) {
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /\b(process|Buffer|__dirname|require)\s*[.(]/, `${path.relative(SERVER, file)} uses a Node.js global`);
  }
});

test('the package subpath @glmedsa/server/api resolves to compiled code that imports only zod', async () => {
  const resolved = fileURLToPath(import.meta.resolve('@glmedsa/server/api'));
  assert.equal(resolved, path.join(SERVER, 'dist', 'src', 'api', 'index.js'));
  assertBrowserSafe(importGraph(resolved, (from, spec) => path.resolve(path.dirname(from), spec)), path.dirname(resolved));
  const api = (await import('@glmedsa/server/api')) as Record<string, unknown>;
  for (const name of ['segmentRequestSchema', 'SegmentResponseSchema', 'ModelsResponseSchema', 'ProblemSchema', 'decodeMask']) {
    assert.ok(name in api, `the api module exports ${name}`);
  }
});

test("the package's main entry and its types exist", async () => {
  const pkg = JSON.parse(readFileSync(path.join(SERVER, 'package.json'), 'utf8')) as { main: string; types: string };
  assert.ok(existsSync(path.join(SERVER, pkg.main)), `main ${pkg.main} exists`);
  assert.ok(existsSync(path.join(SERVER, pkg.types)), `types ${pkg.types} exist`);
  const server = (await import('@glmedsa/server')) as Record<string, unknown>;
  assert.equal(typeof server['startServer'], 'function');
  assert.equal(typeof server['loadConfig'], 'function');
});
