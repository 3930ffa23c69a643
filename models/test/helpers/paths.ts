/** Locations of test data: the parity fixtures copied from shared/fixtures/parity into the repo. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** models/ (tests run from models/dist/test/...). */
export const MODELS_ROOT = path.resolve(here, '..', '..', '..');
export const REPO_ROOT = path.resolve(MODELS_ROOT, '..');
export const PARITY_FIXTURES = process.env['GLMEDSA_PARITY_FIXTURES'] ?? path.join(MODELS_ROOT, 'test', 'fixtures', 'parity');
export const CLI = path.join(MODELS_ROOT, 'bin', 'glmedsa.js');

export type FixtureName = 'sam_tiny' | 'glmedsa_tiny';

export function fixtureDir(name: FixtureName): string {
  return path.join(PARITY_FIXTURES, name);
}

/**
 * The path of one file of a parity fixture. Throws when the file is missing: a parity test whose
 * fixture is absent must fail, never skip (a skipped parity test reads as a pass).
 */
export function fixtureFile(name: FixtureName, file: string): string {
  const p = path.join(fixtureDir(name), file);
  if (!existsSync(p)) {
    throw new Error(`parity fixture file missing: ${p} (the fixtures ship in models/test/fixtures/parity; see its README.md)`);
  }
  return p;
}

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix = 'glmedsa-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
