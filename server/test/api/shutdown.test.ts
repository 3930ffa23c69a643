import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { findFreePort } from '../../src/bundled-pacs/index.js';
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

/**
 * Starts the server process with a shutdown grace of `graceMs`, sends a click on a large new image (its encode
 * runs in a worker for seconds), sends SIGTERM once a worker is busy with it, and returns the
 * click's answer and the exit code.
 */
async function sigtermDuringEncode(graceMs: number): Promise<{ status: number; body: Record<string, unknown>; code: number | null; stderr: string }> {
  const port = await findFreePort();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'server', 'bin', 'glmedsa-server.js')], {
    env: {
      ...process.env,
      GLMEDSA_PORT: String(port),
      GLMEDSA_MODEL_DIR: STARTER_MODEL,
      GLMEDSA_DEVICE: 'cpu',
      GLMEDSA_THREADS: '1',
      GLMEDSA_LOG_LEVEL: 'warn',
      GLMEDSA_PACS_URL: 'http://127.0.0.1:9/dicom-web',
      GLMEDSA_SHUTDOWN_GRACE_MS: String(graceMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && !(await fetch(`${url}/readyz`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
  const { noisePng } = await import('../helpers/noise-png.js');
  const up = await fetch(`${url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(noisePng(2048)) });
  assert.equal(up.status, 201);
  const { imageId } = (await up.json()) as { imageId: string };
  const click = post(`${url}/v1/segment`, { image: { imageId }, points: [{ x: 100, y: 100, label: 1 }] });
  const busy = async () => /^glmedsa_inference_workers_busy 1$/m.test(await (await fetch(`${url}/metrics`)).text());
  for (let i = 0; i < 400 && !(await busy()); i++) await new Promise((r) => setTimeout(r, 25));
  child.kill('SIGTERM');
  const r = await click;
  return { status: r.status, body: r.body, code: await exited, stderr };
}

test('SIGTERM during a running encode lets it finish within the shutdown grace: the click is answered, the process exits 0', async () => {
  const r = await sigtermDuringEncode(120_000);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(Array.isArray(r.body['masks']));
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /terminate called|Napi::Error/);
});

test('SIGTERM during an encode that outlasts the shutdown grace: 503 with a sentence, the worker is stopped, the process exits 0', async () => {
  const r = await sigtermDuringEncode(0);
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.match(String(r.body['detail']), /^the server is shutting down; try again in a moment/);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /terminate called|Napi::Error/);
});
