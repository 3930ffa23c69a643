/**
 * What a hostile client found in the viewer-era server (issue 19), against the real server: a
 * page of another site posting forms to the default (loopback, no authentication) server, bodies
 * that are declared huge and never sent, one address holding every connection, and prototype keys
 * in JSON bodies. Each test prints the figure it measures (time to the answer).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { dataDirWithSiteB } from '../jobs/job-fixtures.js';
import { STARTER_MODEL, startTestServer } from '../helpers/server.js';

const NO_PACS = 'http://127.0.0.1:9/dicom-web';
const KEY = 'hostile-clients-key-0123456789';

/** What came back on a raw connection, and when. */
interface RawOutcome {
  /** Everything the server sent. */
  text: string;
  /** Milliseconds from the request to the first byte of the answer (NaN: none). */
  answeredMs: number;
  /** Milliseconds from the request to the connection's close (NaN: still open at `waitMs`). */
  closedMs: number;
}

/**
 * Sends `head` (request line and headers, up to the blank line) and `body` on a new connection from
 * `localAddress`, then keeps the connection open without sending more until the server closes it or
 * `waitMs` passes.
 */
async function raw(port: number, head: string, body: string, waitMs: number, localAddress = '127.0.0.1'): Promise<RawOutcome> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  const t0 = performance.now();
  let text = '';
  let answeredMs = NaN;
  socket.on('data', (c: Buffer) => {
    if (Number.isNaN(answeredMs)) answeredMs = performance.now() - t0;
    text += c.toString('latin1');
  });
  const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - t0)));
  socket.write(head + body);
  const closedMs = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(NaN), waitMs))]);
  socket.destroy();
  return { text, answeredMs, closedMs };
}

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
const ms = (x: number) => (Number.isNaN(x) ? 'never' : `${x.toFixed(0)} ms`);

/** Log lines the server wrote (JSON), for the tests that check what it logs. */
function capturingLog(lines: Record<string, unknown>[]): pino.Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

describe('a page of another site against the default server (loopback, no authentication)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer(NO_PACS, { cors: { origins: ['https://ohif.hospital.example'] } });
  });
  after(() => server?.close());

  const deactivate = (headers: Record<string, string>, body?: string) =>
    fetch(`${server.url}/v1/models/starter/adapters/deactivate`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });

  test('a form POST from a foreign origin is refused before it acts (403 with a sentence)', async () => {
    const t0 = performance.now();
    const res = await deactivate({ origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, 'a=1');
    const took = performance.now() - t0;
    const body = (await res.json()) as { detail: string; type: string };
    process.stdout.write(`# cross-site form POST: ${res.status} in ${took.toFixed(0)} ms\n`);
    assert.equal(res.status, 403, JSON.stringify(body));
    assert.match(body.detail, /the origin http:\/\/evil\.example/);
    assert.match(body.detail, /cors\.origins/);
    assert.equal(body.type, 'urn:glmedsa:problem:cross-site-request');
  });

  test('without an Origin, a browser-marked cross-site request or a foreign Referer is refused too', async () => {
    assert.equal((await deactivate({ 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.equal((await deactivate({ referer: 'http://evil.example/page.html' })).status, 403);
    // The server's own pages and the configured OHIF origin pass.
    assert.equal((await deactivate({ origin: server.url })).status, 200);
    assert.equal((await deactivate({ origin: 'https://ohif.hospital.example', 'content-type': 'application/json' }, '{}')).status, 200);
    assert.equal((await deactivate({ referer: `${server.url}/glmedsa?StudyInstanceUIDs=1.2.3` })).status, 200);
    // curl and scripts send none of these: they keep working.
    assert.equal((await deactivate({})).status, 200);
  });

  test('a JSON endpoint refuses a body that is not JSON (415), even without an Origin', async () => {
    const segment = await fetch(`${server.url}/v1/segment`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ image: { imageId: 'f'.repeat(64) }, points: [{ x: 1, y: 1, label: 1 }] }),
    });
    assert.equal(segment.status, 415);
    assert.match(((await segment.json()) as { detail: string }).detail, /Content-Type: application\/json.*text\/plain/);
    const form = await deactivate({ 'content-type': 'application/x-www-form-urlencoded' }, 'a=1');
    assert.equal(form.status, 415);
    const cancel = await fetch(`${server.url}/v1/jobs/00000000-0000-0000-0000-000000000000/cancel`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(cancel.status, 415);
  });
});

describe('prototype keys in a JSON body', () => {
  let server: RunningServer;
  let dataDir: string;
  before(async () => {
    dataDir = dataDirWithSiteB('site-a', 4, 2);
    server = await startTestServer(NO_PACS, {}, {}, dataDir);
  });
  after(async () => {
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a job whose dataset is {"__proto__": {"folder": ...}} is refused (400), not stored as {} and run on the PACS', async () => {
    const body = '{"dataset":{"__proto__":{"folder":"site-a"}},"hyperparameters":{"steps":1}}';
    const res = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const answer = (await res.json()) as { detail: string; fields?: Record<string, string>; dataset?: unknown };
    assert.equal(res.status, 400, JSON.stringify(answer));
    assert.equal(answer.detail, "the key '__proto__' (at dataset.__proto__) is not allowed in a request body");
    const jobs = (await (await fetch(`${server.url}/v1/jobs`)).json()) as { jobs: unknown[] };
    assert.equal(jobs.jobs.length, 0, 'nothing was stored');
  });

  test('constructor and prototype keys are refused in every JSON body', async () => {
    for (const [path, body] of [
      ['/v1/segment', '{"image":{"imageId":"x","constructor":{"prototype":{"polluted":1}}},"points":[]}'],
      ['/v1/embeddings', '{"image":{"prototype":1}}'],
      ['/v1/jobs', '{"dataset":{"folder":"site-a"},"hyperparameters":{"steps":1,"constructor":1}}'],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const answer = (await res.json()) as { detail: string };
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(answer)}`);
      assert.match(answer.detail, /the key '(constructor|prototype)' \(at [\w.]+\) is not allowed in a request body/, path);
    }
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('a valid folder job stores exactly the dataset it was checked with', async () => {
    const res = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"dataset":{"folder":"site-a"},"hyperparameters":{"steps":1}}' });
    const job = (await res.json()) as { id: string; dataset: unknown };
    assert.equal(res.status, 202, JSON.stringify(job));
    assert.deepEqual(job.dataset, { folder: 'site-a' });
    await fetch(`${server.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' });
  });
});

describe('bodies declared large and never sent, and one address holding the connections', () => {
  let server: RunningServer;
  const logs: Record<string, unknown>[] = [];
  before(async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        listen: { host: '127.0.0.1', port: 0 },
        pacs: { url: NO_PACS, timeoutMs: 1000 },
        models: [{ id: 'starter', dir: STARTER_MODEL }],
        device: 'cpu',
        // A short request timeout, so that "no answer until the timeout" shows within the test.
        http: { headersTimeoutMs: 2000, requestTimeoutMs: 8000, maxConnections: 16 },
      },
    });
    server = await startServer(config, { log: capturingLog(logs) });
  });
  after(() => server?.close());

  const WAIT = 6000;

  test('a declared 1 GB upload with 3 bytes sent gets 413 at once, and its connection is closed', async () => {
    const r = await raw(server.port, 'POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1073741824\r\n\r\n', 'abc', WAIT);
    process.stdout.write(`# declared 1 GB, 3 bytes sent: answered in ${ms(r.answeredMs)}, connection closed in ${ms(r.closedMs)}\n`);
    assert.equal(statusOf(r.text), 413, r.text.slice(0, 300));
    assert.match(r.text, /\r\nConnection: close\r\n/i);
    assert.match(r.text, /declares a body of 1024 MB, larger than the 32 MB an image upload may have \(limits\.uploadBytes\)/);
    assert.ok(r.answeredMs < 2000, `answered after ${ms(r.answeredMs)}`);
    assert.ok(r.closedMs < 2000, `closed after ${ms(r.closedMs)}`);
  });

  test('a JSON request declaring more than the JSON limit gets 413 before its body is read', async () => {
    const r = await raw(server.port, 'POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n', '{', WAIT);
    assert.equal(statusOf(r.text), 413, r.text.slice(0, 300));
    assert.ok(r.closedMs < 2000, `closed after ${ms(r.closedMs)}`);
  });

  test('a refusal with a body still pending (a foreign origin) closes the connection', async () => {
    const r = await raw(
      server.port,
      'POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
      '{"image":',
      WAIT,
    );
    process.stdout.write(`# refused with its body pending: answered in ${ms(r.answeredMs)}, closed in ${ms(r.closedMs)}\n`);
    assert.equal(statusOf(r.text), 403, r.text.slice(0, 300));
    assert.match(r.text, /\r\nConnection: close\r\n/i);
    assert.ok(r.closedMs < 2000, `closed after ${ms(r.closedMs)}`);
  });

  test('a body that stops part way is cut off at the request timeout without an "unhandled error" in the log', async () => {
    const r = await raw(server.port, 'POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1000000\r\n\r\n', 'abc', 12_000);
    process.stdout.write(`# declared 1 MB (within the limit), 3 bytes sent: answered in ${ms(r.answeredMs)} (request timeout 8 s)\n`);
    assert.ok(!Number.isNaN(r.closedMs), 'the connection was closed');
    await new Promise((res) => setTimeout(res, 200));
    const bad = logs.filter((l) => l['msg'] === 'unhandled error' || (typeof l['level'] === 'number' && l['level'] >= 50));
    assert.deepEqual(bad, [], 'no error was logged for a client that stopped sending');
  });

  test('one address holding slow connections cannot take them all: /healthz stays reachable from another', async () => {
    const held: Socket[] = [];
    try {
      // 16 connections allowed in all; this address opens all 16 and sends its headers slowly.
      for (let i = 0; i < 16; i++) {
        const s = connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        s.on('error', () => undefined);
        await new Promise<void>((r) => {
          s.once('connect', () => r());
          s.once('close', () => r());
        });
        s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, 300));
      const open = held.filter((s) => !s.destroyed && s.readyState === 'open').length;
      const t0 = performance.now();
      const r = await raw(server.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', '', 4000);
      process.stdout.write(`# 16 slow connections from 127.0.0.2 (${open} still open): /healthz from 127.0.0.1 answered in ${ms(r.answeredMs)}\n`);
      assert.equal(statusOf(r.text), 200, `no answer within 4 s (${(performance.now() - t0).toFixed(0)} ms): ${r.text}`);
      assert.ok(open <= 8, `${open} connections of one address stayed open (the default bound is half of 16)`);
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

describe('with authentication on', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer(NO_PACS, { auth: { mode: 'required', apiKeys: [{ key: KEY, role: 'admin' }] }, http: { headersTimeoutMs: 2000, requestTimeoutMs: 8000 } });
  });
  after(() => server?.close());

  test('a request without a key that declares a large body gets 413 at once and the connection is closed', async () => {
    const r = await raw(server.port, 'POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1073741824\r\n\r\n', 'abc', 6000);
    process.stdout.write(`# no key, declared 1 GB: ${statusOf(r.text)} in ${ms(r.answeredMs)}, closed in ${ms(r.closedMs)}\n`);
    assert.equal(statusOf(r.text), 413);
    assert.ok(r.closedMs < 2000, `closed after ${ms(r.closedMs)}`);
  });

  test('a request without a key with its body pending gets 401 and the connection is closed', async () => {
    const r = await raw(server.port, 'POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 1000000\r\n\r\n', 'abc', 6000);
    process.stdout.write(`# no key, declared 1 MB, 3 bytes sent: ${statusOf(r.text)} in ${ms(r.answeredMs)}, closed in ${ms(r.closedMs)}\n`);
    assert.equal(statusOf(r.text), 401);
    assert.match(r.text, /\r\nConnection: close\r\n/i);
    assert.ok(r.closedMs < 2000, `closed after ${ms(r.closedMs)}`);
  });
});
