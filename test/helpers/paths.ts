/** Where things are, seen from the compiled tests (test/dist/...). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Screenshots and browser logs of the browser tests (gitignored). */
export const ARTIFACTS_DIR = process.env['GLMEDSA_ARTIFACTS'] ?? path.join(REPO_ROOT, 'artifacts');
export const STARTER_MODEL = process.env['GLMEDSA_TEST_MODEL'] ?? path.join(REPO_ROOT, 'models', 'starter');
/** webpack's output: the extension and mode modules the viewer imports. */
export const EXT_DIR = path.join(REPO_ROOT, 'dist', 'ext');
