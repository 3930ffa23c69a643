/**
 * @glmedsa/models/decode is bundled into the OHIF extension, so it must run in a browser as it
 * runs in Node: no Node.js built-ins or globals, no DOM, no packages, nothing of models/ outside
 * models/src/decode. The sources are type-checked alone against the ECMAScript library plus the one
 * global browsers and Node share that the core uses (`performance.now()`): an import of anything
 * else, or a use of `process`, `Buffer`, `window` and the like, is a compile error here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { MODELS_ROOT } from '../helpers/paths.js';

/** What a browser and Node both give a module, and nothing more. */
const SHARED_GLOBALS = 'declare const performance: { now(): number };\n';

test('the decode core compiles alone against ECMAScript and the globals browsers and Node share', () => {
  const root = path.join(MODELS_ROOT, 'src', 'decode');
  const shared = path.join(root, '__shared-globals.d.ts');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
    strict: true,
    noEmit: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === shared ? ts.createSourceFile(name, SHARED_GLOBALS, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === shared || fileExists(name);
  const program = ts.createProgram([path.join(root, 'index.ts'), shared], options, host);
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n') + (d.file ? ` (${path.relative(MODELS_ROOT, d.file.fileName)})` : ''));
  assert.deepEqual(problems, [], 'the decode core needs something a browser or Node lacks');
  const ours = program.getSourceFiles().filter((f) => !program.isSourceFileDefaultLibrary(f) && f.fileName !== shared).map((f) => path.resolve(f.fileName));
  assert.ok(ours.length >= 4, `compiled ${ours.length} files`);
  for (const f of ours) assert.ok(f.startsWith(root + path.sep), `${path.relative(MODELS_ROOT, f)} is outside models/src/decode`);
});

test('@glmedsa/models/decode resolves to compiled modules that import only each other', async () => {
  const resolved = fileURLToPath(import.meta.resolve('@glmedsa/models/decode'));
  const dir = path.dirname(resolved);
  assert.equal(resolved, path.join(MODELS_ROOT, 'dist', 'src', 'decode', 'index.js'));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    for (const { fileName: spec } of ts.preProcessFile(readFileSync(path.join(dir, file), 'utf8'), true, true).importedFiles) {
      assert.match(spec, /^\.\/[\w-]+\.js$/, `dist/src/decode/${file} imports '${spec}'`);
    }
  }
  const core = (await import('@glmedsa/models/decode')) as Record<string, unknown>;
  for (const name of ['runDecoder', 'maskAnswer', 'promptInputs', 'multimaskByDefault', 'outputTokens', 'bestMask', 'summarizeLogits', 'preprocessShape']) {
    assert.equal(typeof core[name], 'function', `the decode core exports ${name}`);
  }
});
