/**
 * Starting and stopping Orthanc: clear errors when it is missing or its port is taken, idempotent
 * stop, and no Orthanc left behind when the process that started it is killed with SIGKILL.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { OrthancNotInstalled, OrthancStartError, startBundledOrthanc } from '../../src/bundled-pacs/index.js';
import { startTestOrthanc, stopTestOrthanc } from '../helpers/orthanc.js';

/** True while `pid` runs; a zombie (dead, not yet reaped by a parent or init) counts as gone. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (condition()) return true;
    await sleep(50);
  }
  return condition();
}

describe('Orthanc process', () => {
  it('a missing binary gives the install command', async () => {
    const saved = process.env['ORTHANC_BIN'];
    process.env['ORTHANC_BIN'] = '/nonexistent/Orthanc';
    try {
      await assert.rejects(startBundledOrthanc({ dataDir: join(tmpdir(), 'glmedsa-never-created') }), (error: unknown) => error instanceof OrthancNotInstalled && /apt-get install -y orthanc orthanc-dicomweb/.test(error.message));
    } finally {
      if (saved === undefined) delete process.env['ORTHANC_BIN'];
      else process.env['ORTHANC_BIN'] = saved;
    }
  });

  it('a busy port fails fast with a clear message; stop is idempotent', async () => {
    const first = await startTestOrthanc();
    const dataDir = await mkdtemp(join(tmpdir(), 'glmedsa-orthanc-busy-'));
    try {
      const started = Date.now();
      await assert.rejects(startBundledOrthanc({ dataDir, httpPort: first.httpPort, startTimeoutMs: 10_000 }), (error: unknown) => {
        assert.ok(error instanceof OrthancStartError, String(error));
        assert.match(error.message, new RegExp(`port ${first.httpPort} is already in use`));
        return true;
      });
      assert.ok(Date.now() - started < 8_000);
      const system = await fetch(`${first.url}/system`);
      assert.equal(system.status, 200, 'the first Orthanc is unharmed');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await stopTestOrthanc(first);
      await first.stop();
    }
    assert.ok(first.exited());
    assert.ok(await waitUntil(() => !alive(first.orthancPid()!), 2_000));
  });

  it('Orthanc goes away when the process that started it is SIGKILLed', async () => {
    const orthancModule = fileURLToPath(new URL('../../src/bundled-pacs/index.js', import.meta.url));
    const dataDir = await mkdtemp(join(tmpdir(), 'glmedsa-orthanc-orphan-'));
    const script = `
      const { startBundledOrthanc } = await import(${JSON.stringify(orthancModule)});
      const handle = await startBundledOrthanc({ dataDir: ${JSON.stringify(dataDir)}, httpPort: 0 });
      console.log(JSON.stringify({ pid: handle.orthancPid(), url: handle.url }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`helper exited with ${code}`)));
      });
      const { pid, url } = JSON.parse(line) as { pid: number; url: string };
      assert.ok(alive(pid));
      assert.equal((await fetch(`${url}/system`)).status, 200);
      child.kill('SIGKILL');
      assert.ok(await waitUntil(() => !alive(pid), 8_000), `Orthanc ${pid} still running after its parent was killed`);
    } finally {
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
