/**
 * Who uses each export of a package's sources (models/src, server/src, extension/src): a TypeScript
 * compiler-API pass over every TypeScript file of the repository (every package's src, test,
 * bench and scripts, plus any other top-level folder), with the workspace packages' entries
 * (`@glmedsa/models`, `@glmedsa/models/decode`, `@glmedsa/server/api`) mapped to the sources they
 * are built from, so imports across packages resolve to the source they name.
 *
 * An export is "used" from a file when an identifier there resolves to it (imports, references,
 * `ns.name` accesses, `(await import(...)).name`). Re-exports (`export { x } from`, `export *`)
 * are not uses: they only pass a name on. Each export is then classified by where its uses are.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Where a file lives, for classifying uses. */
export type Area = 'product' | 'test';

/** The sources one check covers and the entries that make their exports public. */
export interface ExportScope {
  /** The folder whose exports are checked, relative to the repository root. */
  src: string;
  /** Entry modules (package entries, the bundle's entry), relative to the repository root. */
  entries: string[];
}

/** The scopes the check knows: a package's sources and its public entries. */
export const SCOPES = {
  models: { src: 'models/src', entries: ['models/src/index.ts', 'models/src/decode/index.ts'] },
  // The webpack entry: its default export is what OHIF registers.
  extension: { src: 'extension/src', entries: ['extension/src/index.ts'] },
  // The package's two entries: `@glmedsa/server` (start it from code) and `@glmedsa/server/api`.
  server: { src: 'server/src', entries: ['server/src/index.ts', 'server/src/api/index.ts'] },
} satisfies Record<string, ExportScope>;

/** Workspace package specifiers and the sources they resolve to. */
const PACKAGE_SOURCES: Record<string, string> = {
  '@glmedsa/models': 'models/src/index.ts',
  '@glmedsa/models/decode': 'models/src/decode/index.ts',
  '@glmedsa/server': 'server/src/index.ts',
  '@glmedsa/server/api': 'server/src/api/index.ts',
  // The cross-package tests reach the server's modules through its built files.
  '@glmedsa/server/dist/src/*': 'server/src/*',
  '@glmedsa/server/dist/test/*': 'server/test/*',
};

/** One export of a checked module and where it is used. */
export interface ExportUsage {
  /** The module that declares it, relative to the repository root. */
  file: string;
  name: string;
  /** Exported by one of the scope's entries, under this or another name. */
  isPublic: boolean;
  /** Used by other code in its own file. */
  usedInFile: boolean;
  /** Other files that use it, relative to the repository root, sorted. */
  usedBy: string[];
}

/** What the check found. */
export interface ExportReport {
  exports: ExportUsage[];
  /** Not public, used only inside its own file: the `export` keyword can go. */
  onlyInFile: ExportUsage[];
  /** Not public and used nowhere at all: dead code. */
  unused: ExportUsage[];
  /** Public, but nothing in the repository outside its own file uses it. */
  publicUnused: ExportUsage[];
  /** Used outside its file only by tests (product code never uses it). */
  testOnly: ExportUsage[];
  /** Names the first entry (the package's main entry) exports that nothing imports through it. */
  entryUnused: string[];
}

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'fixtures', 'starter']);

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) tsFiles(full, out);
    else if (/\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** The area of a repository-relative path: anything under a `test/` folder is a test. */
export function areaOf(relative: string): Area {
  return relative.split('/').includes('test') ? 'test' : 'product';
}

/** The original (non-alias) symbol a name stands for. */
function original(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

/** True for the identifiers of `export { a, b as c } from '...'` and `export { a }` lists. */
function inReexport(node: ts.Node): boolean {
  return ts.isExportSpecifier(node.parent);
}

/** True when `node` is the name of one of the symbol's own declarations. */
function isDeclarationName(node: ts.Identifier, symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((d) => (d as ts.NamedDeclaration).name === node);
}

/** The repository's TypeScript, type-checked once per repository and process (both scopes read the same program). */
const programs = new Map<string, ts.Program>();

function repositoryProgram(repoRoot: string): ts.Program {
  const cached = programs.get(repoRoot);
  if (cached) return cached;
  const roots: string[] = [];
  for (const top of readdirSync(repoRoot, { withFileTypes: true })) {
    if (!top.isDirectory() || top.name.startsWith('.') || SKIP_DIRS.has(top.name)) continue;
    tsFiles(path.join(repoRoot, top.name), roots);
  }
  const program = ts.createProgram(roots, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
    jsx: ts.JsxEmit.ReactJSX,
    jsxImportSource: 'preact',
    baseUrl: repoRoot,
    paths: Object.fromEntries(Object.entries(PACKAGE_SOURCES).map(([spec, file]) => [spec, [file]])),
  });
  programs.set(repoRoot, program);
  return program;
}

/** Runs the analysis over the repository at `repoRoot` for one scope (default models/src). */
export function exportUsage(repoRoot: string, scope: ExportScope = SCOPES.models): ExportReport {
  const srcDir = path.join(repoRoot, scope.src);
  const entries = scope.entries.map((e) => path.join(repoRoot, e));
  const entry = entries[0]!;
  const program = repositoryProgram(repoRoot);
  const checker = program.getTypeChecker();
  const rel = (f: string) => path.relative(repoRoot, f).split(path.sep).join('/');
  const ours = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !f.fileName.includes('/node_modules/'));

  // Every export declared in the scope's folder, keyed by its original symbol.
  const tracked = new Map<ts.Symbol, ExportUsage>();
  const users = new Map<ExportUsage, Set<string>>();
  for (const sf of ours) {
    if (!path.resolve(sf.fileName).startsWith(srcDir + path.sep)) continue;
    const moduleSymbol = checker.getSymbolAtLocation(sf);
    if (!moduleSymbol) continue;
    for (const exp of checker.getExportsOfModule(moduleSymbol)) {
      const sym = original(checker, exp);
      const declaredHere = (sym.declarations ?? []).some((d) => d.getSourceFile() === sf);
      if (!declaredHere || tracked.has(sym)) continue;
      const usage: ExportUsage = { file: rel(sf.fileName), name: exp.getName(), isPublic: false, usedInFile: false, usedBy: [] };
      tracked.set(sym, usage);
      users.set(usage, new Set());
    }
  }

  // Names imported through the main entry (`@glmedsa/models` or a path to models/src/index).
  const entryNames = new Set<string>();
  const entrySymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!);
  const isEntryModule = (spec: ts.Expression) => {
    const s = checker.getSymbolAtLocation(spec);
    return s !== undefined && s === entrySymbol;
  };

  for (const sf of ours) {
    const here = rel(sf.fileName);
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && isEntryModule(node.moduleSpecifier)) {
        const bindings = node.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const el of bindings.elements) entryNames.add((el.propertyName ?? el.name).text);
        }
      }
      if (ts.isPropertyAccessExpression(node)) {
        // (await import('@glmedsa/models')).name and ns.name on a namespace import of the entry.
        let target: ts.Expression = node.expression;
        while (ts.isParenthesizedExpression(target) || ts.isAwaitExpression(target)) target = target.expression;
        if (ts.isCallExpression(target) && target.expression.kind === ts.SyntaxKind.ImportKeyword) {
          const arg = target.arguments[0];
          if (arg && isEntryModule(arg)) entryNames.add(node.name.text);
        } else if (ts.isIdentifier(target)) {
          const s = checker.getSymbolAtLocation(target);
          if (s && s.flags & ts.SymbolFlags.Alias && original(checker, s) === entrySymbol) entryNames.add(node.name.text);
        }
      }
      if (ts.isIdentifier(node) && !inReexport(node)) {
        const found = checker.getSymbolAtLocation(node);
        if (found) {
          const sym = original(checker, found);
          const usage = tracked.get(sym);
          if (usage && !isDeclarationName(node, sym)) {
            if (usage.file === here) usage.usedInFile = true;
            else users.get(usage)!.add(here);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }

  const entryExports = entrySymbol ? checker.getExportsOfModule(entrySymbol) : [];
  for (const file of entries) {
    const sf = program.getSourceFile(file);
    const moduleSymbol = sf && checker.getSymbolAtLocation(sf);
    if (!moduleSymbol) throw new Error(`the entry ${path.relative(repoRoot, file)} is not in the program`);
    for (const exp of checker.getExportsOfModule(moduleSymbol)) {
      const usage = tracked.get(original(checker, exp));
      if (usage) usage.isPublic = true;
    }
  }
  const exports = [...tracked.values()];
  for (const u of exports) u.usedBy = [...users.get(u)!].sort();
  exports.sort((a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
  const unusedElsewhere = exports.filter((u) => u.usedBy.length === 0);
  return {
    exports,
    onlyInFile: unusedElsewhere.filter((u) => !u.isPublic && u.usedInFile),
    unused: unusedElsewhere.filter((u) => !u.isPublic && !u.usedInFile),
    publicUnused: unusedElsewhere.filter((u) => u.isPublic),
    testOnly: exports.filter((u) => u.usedBy.length > 0 && u.usedBy.every((f) => areaOf(f) === 'test')),
    entryUnused: entryExports.map((e) => e.getName()).filter((n) => !entryNames.has(n)).sort(),
  };
}

/** The repository root above a models/ folder (the one holding models/src/index.ts). */
export function findRepoRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'models', 'src', 'index.ts'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no models/src/index.ts above ${from}`);
  }
}
