/**
 * The HTTP listener under hostile or unlucky conditions: a taken port, a foreign Host header (DNS
 * rebinding), a trickling body, too many connections, and the probes when authentication is on.
 * Real server, real workers; the PACS is never reached.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ListenError, assertPortFree } from '../../src/http/listen.js';
import type { RunningServer } from '../../src/server.js';
import { getWithHost, startTestServer } from '../helpers/server.js';

const NO_PACS = 'http://127.0.0.1:9/dicom-web';

function occupy(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('a taken port', () => {
  test('is reported with the address and port before anything starts', async () => {
    const holder = await occupy();
    const port = (holder.address() as { port: number }).port;
    try {
      await assert.rejects(assertPortFree({ host: '127.0.0.1', port }), (e: Error) => {
        assert.ok(e instanceof ListenError);
        assert.equal(e.message.startsWith(`port ${port} on 127.0.0.1 is already in use`), true, e.message);
        assert.match(e.message, /set GLMEDSA_PORT/);
        return true;
      });
      await assert.rejects(startTestServer(NO_PACS, { listen: { host: '127.0.0.1', port } }), (e: Error) => {
        assert.ok(e instanceof ListenError, String(e));
        assert.doesNotMatch(e.message, /Cannot read properties/);
        assert.match(e.message, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
        return true;
      });
    } finally {
      await new Promise((r) => holder.close(r));
    }
    await assertPortFree({ host: '127.0.0.1', port });
  });
});

describe('without authentication', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer(NO_PACS, {
      http: { headersTimeoutMs: 800, requestTimeoutMs: 1500, keepAliveTimeoutMs: 500, idleTimeoutMs: 5000, maxConnections: 4, maxConnectionsPerClient: 4 },
    });
  });
  after(() => server?.close());

  test('the server answers for loopback names only (DNS rebinding)', async () => {
    for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, '127.0.0.1', `[::1]:${server.port}`, 'LOCALHOST']) {
      const r = await getWithHost(server.port, '/healthz', host);
      assert.equal(r.status, 200, `${host}: ${r.body}`);
    }
    for (const path of ['/healthz', '/v1/models', '/metrics', '/anything/else']) {
      const r = await getWithHost(server.port, path, `evil.example:${server.port}`);
      assert.equal(r.status, 421, `${path}: ${r.body}`);
      const problem = JSON.parse(r.body) as { detail: string; type: string };
      assert.match(problem.detail, /answers only for localhost, 127\.0\.0\.1, \[::1\]/);
      assert.match(problem.detail, /'evil\.example:\d+'/);
      assert.match(problem.detail, /GLMEDSA_ALLOWED_HOSTS/);
      assert.equal(problem.type, 'urn:glmedsa:problem:host-not-allowed');
    }
    for (const host of ['localhost.evil.example', '127.0.0.1.nip.io', 'localhost@evil.example', '[::1]x']) {
      assert.equal((await getWithHost(server.port, '/healthz', host)).status, 421, host);
    }
  });

  test('a trickling request body is cut off at the body timeout', async () => {
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write('POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    // One byte every 200 ms would need 200 s for the body; the server must give up long before.
    let sent = 1;
    const trickle = setInterval(() => {
      if (!socket.destroyed && sent < 999) {
        socket.write(' ');
        sent++;
      }
    }, 200);
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 20_000))]);
    clearInterval(trickle);
    socket.destroy();
    assert.equal(outcome, 'closed');
    assert.ok(sent < 999, 'the connection was closed before the body was complete');
    assert.match(received, /^HTTP\/1\.1 408/, received);
  });

  test('headers that never finish are cut off at the header timeout', async () => {
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 20_000))]);
    socket.destroy();
    assert.equal(outcome, 'closed');
    assert.match(received, /^HTTP\/1\.1 408/, received);
  });

  test('connections beyond maxConnections are refused while the others work', async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const s = connect(server.port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        s.on('error', () => undefined);
        held.push(s);
      }
      // Give the server time to accept all four before the fifth arrives.
      await new Promise((r) => setTimeout(r, 200));
      const extra = connect(server.port, '127.0.0.1');
      extra.on('error', () => undefined);
      let answered = '';
      extra.on('data', (c: Buffer) => (answered += c.toString()));
      extra.on('connect', () => extra.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      await new Promise<void>((r) => extra.once('close', () => r()));
      assert.equal(answered, '', 'the fifth connection got no answer');
      held[0]!.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      const reply = await new Promise<string>((r) => {
        let t = '';
        held[0]!.on('data', (c: Buffer) => (t += c.toString()));
        held[0]!.once('close', () => r(t));
      });
      assert.match(reply, /^HTTP\/1\.1 200/);
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

describe('allowed hosts configured', () => {
  test('only the configured names are accepted', async () => {
    const named = await startTestServer(NO_PACS, {}, { GLMEDSA_ALLOWED_HOSTS: 'viewer.hospital.example, localhost' });
    try {
      assert.equal((await getWithHost(named.port, '/healthz', 'viewer.hospital.example:443')).status, 200);
      assert.equal((await getWithHost(named.port, '/healthz', `localhost:${named.port}`)).status, 200);
      assert.equal((await getWithHost(named.port, '/healthz', `127.0.0.1:${named.port}`)).status, 421);
    } finally {
      await named.close();
    }
  });
});

describe('probes when authentication is required', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer(NO_PACS, {}, {
      GLMEDSA_AUTH: 'required',
      GLMEDSA_API_KEYS: 'monitor-key-0123456789:viewer:prometheus',
    });
  });
  after(() => server?.close());

  test('/healthz stays open; /readyz and /metrics need a key', async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    for (const path of ['/readyz', '/metrics']) {
      const anonymous = await fetch(`${server.url}${path}`);
      assert.equal(anonymous.status, 401, path);
      assert.match(((await anonymous.json()) as { detail: string }).detail, /API key/);
      const wrong = await fetch(`${server.url}${path}`, { headers: { 'x-api-key': 'not-the-key-0123456789' } });
      assert.equal(wrong.status, 401, path);
    }
    const ready = await fetch(`${server.url}/readyz`, { headers: { 'x-api-key': 'monitor-key-0123456789' } });
    assert.equal(ready.status, 200);
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer monitor-key-0123456789' } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /glmedsa_http_request_seconds/);
  });

  test('with authentication on, a foreign Host header is not refused by default', async () => {
    const r = await getWithHost(server.port, '/healthz', 'glmedsa.hospital.example');
    assert.equal(r.status, 200, r.body);
  });
});
