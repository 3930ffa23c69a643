/**
 * The launchers cap glibc's malloc arenas: the cap that applies for each setting, and the real
 * launcher (server/bin/glmedsa-server.js) running the server in a child whose environment has it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { findFreePort } from '../../src/bundled-pacs/index.js';
import { DEFAULT_MALLOC_ARENA_MAX, arenaCapToApply } from '../../src/process/malloc-arenas.js';
import { REPO_ROOT, STARTER_MODEL } from '../helpers/server.js';

test('the arena cap: 2 by default on Linux, the operator\'s MALLOC_ARENA_MAX wins, glibc\'s default on request', () => {
  assert.equal(DEFAULT_MALLOC_ARENA_MAX, 2);
  assert.equal(arenaCapToApply({}, 'linux'), 2);
  assert.equal(arenaCapToApply({ GLMEDSA_MALLOC_ARENA_MAX: '4' }, 'linux'), 4);
  assert.equal(arenaCapToApply({ MALLOC_ARENA_MAX: '8' }, 'linux'), null);
  assert.equal(arenaCapToApply({ MALLOC_ARENA_MAX: '8', GLMEDSA_MALLOC_ARENA_MAX: '4' }, 'linux'), null);
  assert.equal(arenaCapToApply({ GLMEDSA_MALLOC_ARENA_MAX: 'glibc' }, 'linux'), null);
  assert.equal(arenaCapToApply({}, 'darwin'), null);
  assert.throws(() => arenaCapToApply({ GLMEDSA_MALLOC_ARENA_MAX: 'two' }, 'linux'), /GLMEDSA_MALLOC_ARENA_MAX must be an integer from 1 to 1024 or 'glibc', got 'two'/);
});

/** Starts glmedsa-server without an arena setting; resolves once the server answers, with the launcher and its one child. */
async function startLauncher(): Promise<{ launcher: ReturnType<typeof spawn>; url: string; children: string[]; exited: Promise<number | null>; stderr: () => string }> {
  const port = await findFreePort();
  const env: NodeJS.ProcessEnv = { ...process.env, GLMEDSA_PORT: String(port), GLMEDSA_MODEL_DIR: STARTER_MODEL, GLMEDSA_DEVICE: 'cpu', GLMEDSA_THREADS: '1', GLMEDSA_LOG_LEVEL: 'warn', GLMEDSA_PACS_URL: 'http://127.0.0.1:9/dicom-web' };
  delete env['MALLOC_ARENA_MAX'];
  delete env['GLMEDSA_MALLOC_ARENA_MAX'];
  const launcher = spawn(process.execPath, [path.join(REPO_ROOT, 'server', 'bin', 'glmedsa-server.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  launcher.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => launcher.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  const children = (await readFile(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
  return { launcher, url, children, exited, stderr: () => stderr };
}

test('glmedsa-server runs the server in a child with MALLOC_ARENA_MAX=2 and stops it on SIGTERM', { skip: process.platform !== 'linux' }, async () => {
  const { launcher, url, children, exited, stderr } = await startLauncher();
  assert.equal(children.length, 1, 'one child: the server');
  const environ = (await readFile(`/proc/${children[0]}/environ`, 'utf8')).split('\0');
  assert.ok(environ.includes('MALLOC_ARENA_MAX=2'), 'the server runs with the cap');
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  launcher.kill('SIGTERM');
  assert.equal(await exited, 0, stderr());
});

test('a launcher killed with SIGKILL takes its server child with it (nothing left holding the port)', { skip: process.platform !== 'linux' }, async () => {
  const { launcher, url, children } = await startLauncher();
  assert.equal(children.length, 1, 'one child: the server');
  const server = Number(children[0]);
  launcher.kill('SIGKILL');
  const gone = async () => {
    try {
      process.kill(server, 0);
      return false;
    } catch {
      return true;
    }
  };
  for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(await gone(), 'the server child exited');
  assert.equal(await fetch(`${url}/healthz`).then(() => 'answered', () => 'refused'), 'refused');
});
