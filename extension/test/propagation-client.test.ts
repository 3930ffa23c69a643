/**
 * The viewer's propagation client outside the browser: the events of a propagation stream read
 * from a real HTTP server on loopback as the server writes them (chunks cut anywhere, comments,
 * events of no interest), checked against the API module's schemas, and the sentences a refused
 * propagation becomes (a series that is not a volume, a seed the server refuses, busy).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { PropagationSummary } from '@glmedsa/server/api';
import { ServerError } from '../src/client.js';
import { PropagationClient, type PropagationEvent, describePropagationFailure } from '../src/propagation/propagation-client.js';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const summary: PropagationSummary = {
  id: ID,
  state: 'running',
  reason: null,
  model: 'starter',
  adapterVersion: null,
  series: { studyInstanceUID: '1.2', seriesInstanceUID: '1.2.3', slices: 8, spacing: 2.5, missing: [] },
  seed: { sopInstanceUID: '1.2.3.4', frame: 1, index: 4 },
  direction: 'both',
  maxSlices: null,
  width: 4,
  height: 2,
  encoding: 'rle-row-major',
  progress: { done: 0, kept: 1, current: null, remainingAtMost: 7, slicesPerSecond: null, etaSecondsAtMost: null },
  ended: { forward: null, backward: null },
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: null,
};
const slice = (index: number, from: 'seed' | 'forward' | 'backward') => ({ sopInstanceUID: `1.2.3.${index}`, frame: 1, index, position: index * 2.5, counts: [2, 3, 3], bbox: { x1: 2, y1: 0, x2: 4, y2: 1 }, area: 3, score: from === 'seed' ? null : 0.8, from });

let server: Server;
let base = '';
let seenAuth: string | undefined;

before(async () => {
  server = createServer((req, res) => {
    seenAuth = req.headers.authorization;
    if (req.url === `/v1/propagations/${ID}/events`) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const text = [
        `event: state\ndata: ${JSON.stringify(summary)}\n\n`,
        `: keep-alive\n\n`,
        `event: slice\ndata: ${JSON.stringify({ id: ID, slice: slice(4, 'seed') })}\n\n`,
        `event: slice\ndata: ${JSON.stringify({ id: ID, slice: slice(5, 'forward') })}\r\n\r\n`,
        `event: progress\ndata: ${JSON.stringify({ id: ID, progress: { ...summary.progress, done: 1, kept: 2, current: { sopInstanceUID: '1.2.3.5', frame: 1, index: 5 } } })}\n\n`,
        `event: slice\ndata: {"id": "not a slice"}\n\n`,
        `event: end\ndata: ${JSON.stringify({ ...summary, state: 'succeeded', finishedAt: '2026-01-01T00:00:01.000Z' })}\n\n`,
        `event: slice\ndata: ${JSON.stringify({ id: ID, slice: slice(6, 'forward') })}\n\n`,
      ].join('');
      // cut into pieces that split events, lines and even characters' bytes
      let at = 0;
      const step = () => {
        if (at >= text.length) return res.end();
        res.write(text.slice(at, at + 37));
        at += 37;
        setTimeout(step, 2);
      };
      step();
      return;
    }
    if (req.url === '/v1/propagations' && req.method === 'POST') {
      res.writeHead(422, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'urn:glmedsa:problem:not-a-volume-single-image', title: 'Unprocessable', status: 422, detail: 'series 1.2.3 has one image: a volume needs more than one' }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

test('the events of a propagation arrive in order, checked, with the Authorization header, up to the end', async () => {
  const client = new PropagationClient({ baseUrl: base, authorization: () => 'ApiKey k' });
  const events: PropagationEvent[] = [];
  const how = await client.events(ID, (e) => events.push(e), new AbortController().signal);
  assert.equal(how, 'ended');
  assert.equal(seenAuth, 'ApiKey k');
  assert.deepEqual(
    events.map((e) => (e.type === 'slice' ? `slice ${e.slice.index} ${e.slice.from}` : e.type === 'progress' ? `progress ${e.progress.done}` : `${e.type} ${e.summary.state}`)),
    ['state running', 'slice 4 seed', 'slice 5 forward', 'progress 1', 'end succeeded'],
    'the malformed slice is dropped; nothing after the end is read',
  );
});

test('a series that is not a volume is refused with the server\'s own reason', async () => {
  const client = new PropagationClient({ baseUrl: base, authorization: () => null });
  await assert.rejects(
    client.start({ series: { studyInstanceUID: '1.2', seriesInstanceUID: '1.2.3' }, seed: { sopInstanceUID: '1.2.3.4', mask: { counts: [8] } } }),
    (err: unknown) => err instanceof ServerError && err.status === 422 && /cannot be propagated through: it is not a volume\. series 1\.2\.3 has one image: a volume needs more than one\.$/.test(err.message),
  );
});

test('each refusal is a sentence of its own', () => {
  const p = (detail: string) => ({ type: 'x', title: 't', status: 0, detail });
  assert.match(describePropagationFailure(409, p("the seed image 1.2 is not in series 1.3"), null).message, /refused the propagation's seed\. the seed image 1\.2 is not in series 1\.3\.$/);
  const busy = describePropagationFailure(503, null, '7');
  assert.equal(busy.kind, 'busy');
  assert.equal(busy.retryAfterSeconds, 7);
  assert.equal(describePropagationFailure(404, p('no mask abc'), null).kind, 'bad-request');
});

test('behind a load balancer, the start, the record, the events and the cancel of a propagation all name its seed image', async () => {
  const ID2 = '6f1e2c4a-93b1-4c1e-8d1e-2b7f4a9c0d11';
  const routed: string[] = [];
  const balancer = createServer((req, res) => {
    routed.push(`${req.method} ${req.url} ${String(req.headers['x-glmedsa-image'])}`);
    const record = { ...summary, id: ID2, slices: [] };
    if (req.url === `/v1/propagations/${ID2}/events`) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: end\ndata: ${JSON.stringify({ ...summary, id: ID2, state: 'cancelled', reason: 'Cancelled on request.' })}\n\n`);
      return;
    }
    res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url?.endsWith('/cancel') ? { ...summary, id: ID2, state: 'cancelled' } : record));
  });
  await new Promise<void>((r) => balancer.listen(0, '127.0.0.1', r));
  try {
    const client = new PropagationClient({ baseUrl: `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`, authorization: () => null });
    const started = await client.start({ series: { studyInstanceUID: '1.2', seriesInstanceUID: '1.2.3' }, seed: { sopInstanceUID: '1.2.3.9', frame: 2, mask: { counts: [8] } } });
    assert.equal(started.id, ID2);
    await client.get(ID2);
    assert.equal(await client.events(ID2, () => undefined, new AbortController().signal), 'ended');
    await client.cancel(ID2);
    assert.deepEqual(routed, [
      'POST /v1/propagations 1.2.3.9:2',
      `GET /v1/propagations/${ID2} 1.2.3.9:2`,
      `GET /v1/propagations/${ID2}/events 1.2.3.9:2`,
      `POST /v1/propagations/${ID2}/cancel 1.2.3.9:2`,
    ]);
  } finally {
    await new Promise<void>((r) => balancer.close(() => r()));
  }
});
