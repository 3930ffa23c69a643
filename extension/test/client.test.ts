/**
 * The viewer's server client against a real HTTP server on loopback: the header it sends, and the
 * sentence each failure becomes (including a proxy's 502 without a body, and a server not there).
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { IMAGE_ROUTE_HEADER, type Problem } from '@glmedsa/server/api';
import { GlmedsaClient, ServerError, describeFailure } from '../src/client.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = (_req, _body, res) => res.end();
let server: Server;
let baseUrl = '';

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

function problem(status: number, code: string, detail: string): Problem {
  return { type: `urn:glmedsa:problem:${code}`, title: code, status, detail };
}

function answerProblem(status: number, p: Problem | null, headers: Record<string, string> = {}): Handler {
  return (_req, _body, res) => {
    res.writeHead(status, { ...(p ? { 'Content-Type': 'application/problem+json' } : {}), ...headers });
    res.end(p ? JSON.stringify(p) : '');
  };
}

const segmentRequest = { image: { studyInstanceUID: '1', seriesInstanceUID: '2', sopInstanceUID: '3', frame: 1 }, points: [{ x: 1, y: 1, label: 1 as const }] };

async function failure(client: GlmedsaClient): Promise<ServerError> {
  try {
    await client.segment(segmentRequest);
  } catch (err) {
    assert.ok(err instanceof ServerError, `expected a ServerError, got ${String(err)}`);
    return err;
  }
  assert.fail('the request did not fail');
}

test('the client posts JSON with the authorisation of the moment and returns the answer', async () => {
  const seen: { method?: string; url?: string; auth?: string; type?: string; body: unknown }[] = [];
  handler = (req, body, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body: body ? JSON.parse(body) : null });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ ok: req.url }));
  };
  let auth: string | null = null;
  const client = new GlmedsaClient({ baseUrl: `${baseUrl}/`, authorization: () => auth });
  const first = (await client.segment(segmentRequest)) as unknown as { ok: string };
  auth = 'Bearer user-token';
  await client.health();
  assert.equal(first.ok, '/v1/segment');
  assert.equal(seen[0]!.method, 'POST');
  assert.equal(seen[0]!.auth, undefined);
  assert.equal(seen[0]!.type, 'application/json');
  assert.deepEqual(seen[0]!.body, segmentRequest);
  assert.equal(seen[1]!.method, 'GET');
  assert.equal(seen[1]!.url, '/healthz');
  assert.equal(seen[1]!.auth, 'Bearer user-token');
});

test('401 and 403 from the server say the user is not authorised, with the server detail', async () => {
  const client = new GlmedsaClient({ baseUrl, authorization: () => 'ApiKey wrong' });
  handler = answerProblem(401, problem(401, 'unauthorised', 'the API key is not valid'));
  const e401 = await failure(client);
  assert.equal(e401.kind, 'unauthorised');
  assert.equal(e401.status, 401);
  assert.match(e401.message, /not authorised/);
  assert.match(e401.message, /the API key is not valid/);
  handler = answerProblem(403, problem(403, 'forbidden', 'this key may not segment'));
  const e403 = await failure(client);
  assert.equal(e403.kind, 'unauthorised');
  assert.match(e403.message, /signed in but not authorised/);
});

test('503 with Retry-After says busy and carries the wait; without it the wait is one second', async () => {
  const client = new GlmedsaClient({ baseUrl, authorization: () => null });
  handler = answerProblem(503, problem(503, 'busy', 'the queue is full'), { 'Retry-After': '7' });
  const busy = await failure(client);
  assert.equal(busy.kind, 'busy');
  assert.equal(busy.retryAfterSeconds, 7);
  assert.match(busy.message, /busy; retrying in 7 s/);
  handler = answerProblem(503, null);
  const bare = await failure(client);
  assert.equal(bare.kind, 'busy');
  assert.equal(bare.retryAfterSeconds, 1);
});

test('a 502 with the server problem is the PACS; a 502 without a body is a stopped server behind a proxy', async () => {
  const client = new GlmedsaClient({ baseUrl, authorization: () => null });
  handler = answerProblem(502, problem(502, 'pacs-unavailable', 'the PACS refused the connection'));
  const pacs = await failure(client);
  assert.equal(pacs.kind, 'pacs');
  assert.match(pacs.message, /The PACS is unavailable/);
  assert.match(pacs.message, /refused the connection/);
  handler = answerProblem(502, null);
  const proxy = await failure(client);
  assert.equal(proxy.kind, 'unreachable');
  assert.equal(proxy.status, 502);
  assert.match(proxy.message, /unreachable/);
  handler = (_req, _body, res) => {
    res.writeHead(504, { 'Content-Type': 'text/html' });
    res.end('<html>Gateway Timeout</html>');
  };
  assert.equal((await failure(client)).kind, 'unreachable');
});

test('422 says the image is not supported, with the reason', async () => {
  const client = new GlmedsaClient({ baseUrl, authorization: () => null });
  handler = answerProblem(422, problem(422, 'not-an-image', 'This object (SR) is not an image, so it cannot be segmented.'));
  const e = await failure(client);
  assert.equal(e.kind, 'unsupported');
  assert.match(e.message, /not supported/);
  assert.match(e.message, /is not an image/);
});

test('a server that is not listening is unreachable; a caller abort is passed through, not turned into a sentence', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const gone = new GlmedsaClient({ baseUrl: `http://127.0.0.1:${port}`, authorization: () => null });
  const e = await failure(gone);
  assert.equal(e.kind, 'unreachable');
  assert.equal(e.status, undefined);

  handler = () => {}; // never answers
  const client = new GlmedsaClient({ baseUrl, authorization: () => null });
  const ctl = new AbortController();
  const pending = client.segment(segmentRequest, ctl.signal);
  setTimeout(() => ctl.abort(), 20);
  await assert.rejects(pending, (err: unknown) => !(err instanceof ServerError) && (err as Error).name === 'AbortError');
});

test('a request that outlives the time limit is unreachable', async () => {
  handler = () => {};
  const client = new GlmedsaClient({ baseUrl, authorization: () => null, timeoutMs: 50 });
  assert.equal((await failure(client)).kind, 'unreachable');
});

test('describeFailure: every status class gets its own sentence', () => {
  const p = problem(400, 'invalid-request', 'points.0.x must be a number');
  const cases: [number, string, RegExp][] = [
    [400, 'bad-request', /refused the request\. points\.0\.x must be a number\./],
    [404, 'bad-request', /refused/],
    [413, 'bad-request', /refused/],
    [415, 'unsupported', /not supported/],
    [429, 'busy', /busy/],
    [504, 'pacs', /PACS is unavailable/],
    [500, 'server', /failed \(HTTP 500\)/],
  ];
  for (const [status, kind, sentence] of cases) {
    const e = describeFailure(status, { ...p, status }, null);
    assert.equal(e.kind, kind, `HTTP ${status}`);
    assert.match(e.message, sentence, `HTTP ${status}`);
    assert.match(e.message, /\.$/, `HTTP ${status} ends as a sentence`);
  }
  assert.equal(describeFailure(500, null, null).message, 'The segmentation server failed (HTTP 500).');
  assert.equal(describeFailure(503, null, 'Wed, 21 Oct 2015 07:28:00 GMT').retryAfterSeconds, 1, 'an HTTP-date Retry-After falls back to one second');
});

test('a request about an image names it in the routing header, so a balancer sends it where the image was encoded', async () => {
  const seen: (string | undefined)[] = [];
  handler = (req, _body, res) => {
    seen.push(req.headers[IMAGE_ROUTE_HEADER] as string | undefined);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  };
  const client = new GlmedsaClient({ baseUrl, authorization: () => null });
  await client.segment({ ...segmentRequest, image: { ...segmentRequest.image, frame: 4 } });
  await client.warm({ image: { imageId: 'a'.repeat(64) } });
  await client.models();
  assert.deepEqual(seen, ['3:4', `upload:${'a'.repeat(64)}`, undefined]);
});

test('a reset connection or a proxy without a replica is retried; the server’s own busy answer and a time-out are not', async () => {
  const client = new GlmedsaClient({ baseUrl, authorization: () => null });
  let requests = 0;
  // A replica killed mid-request: the connection drops twice, then another replica answers.
  handler = (req, _body, res) => {
    requests++;
    if (requests <= 2) {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true}');
  };
  assert.deepEqual(await client.segment(segmentRequest), { ok: true });
  assert.equal(requests, 3);
  // HAProxy with no replica up answers 503 with an HTML page: retried.
  requests = 0;
  handler = (_req, _body, res) => {
    requests++;
    if (requests === 1) {
      res.writeHead(503, { 'Content-Type': 'text/html' });
      res.end('<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"ok":true}');
  };
  assert.deepEqual(await client.segment(segmentRequest), { ok: true });
  assert.equal(requests, 2);
  // Our server saying it is busy: one request, the caller waits Retry-After (the controller's retry).
  requests = 0;
  handler = (req, body, res) => {
    requests++;
    answerProblem(503, problem(503, 'busy', 'the queue is full'), { 'Retry-After': '3' })(req, body, res);
  };
  assert.equal((await failure(client)).retryAfterSeconds, 3);
  assert.equal(requests, 1);
  // A time-out would only time out again.
  requests = 0;
  handler = () => void requests++;
  const slow = new GlmedsaClient({ baseUrl, authorization: () => null, timeoutMs: 50 });
  assert.equal((await failure(slow)).kind, 'unreachable');
  assert.equal(requests, 1);
});
