import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { findFreePort } from '../../src/bundled-pacs/bundled-orthanc.js';
import { REPO_ROOT, STARTER_MODEL, post } from '../helpers/server.js';

test('the server process stops cleanly on SIGTERM, inference workers included', async () => {
  const port = await findFreePort();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'server', 'bin', 'glmedsa-server.js')], {
    env: { ...process.env, GLMEDSA_PORT: String(port), GLMEDSA_MODEL_DIR: STARTER_MODEL, GLMEDSA_DEVICE: 'cpu', GLMEDSA_LOG_LEVEL: 'warn', GLMEDSA_PACS_URL: 'http://127.0.0.1:9/dicom-web' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300 && !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  const png = (await import('@glmedsa/models')).encodePng({ width: 30, height: 30, data: new Uint8Array(2700).fill(70) });
  const up = await fetch(`${url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(png) });
  const { imageId } = (await up.json()) as { imageId: string };
  assert.equal((await post(`${url}/v1/segment`, { image: { imageId }, points: [{ x: 5, y: 5, label: 1 }] })).status, 200);
  // Stop while clicks are being computed.
  const inflight = Array.from({ length: 6 }, (_, i) => post(`${url}/v1/segment`, { image: { imageId }, points: [{ x: 5 + i, y: 5, label: 1 }] }).catch(() => null));
  await new Promise((r) => setTimeout(r, 15));
  child.kill('SIGTERM');
  await Promise.all(inflight);
  assert.equal(await exited, 0, stderr);
  assert.doesNotMatch(stderr, /terminate called|Napi::Error/);
});
