/**
 * Browser-path decoding (extension/src/decode with onnxruntime-web's wasm backend, under Node)
 * against the server path (POST /v1/segment) on the starter model, through the real server and
 * Orthanc; and the failures that make the viewer fall back to the server, each with its reason.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { EMBEDDING_HEADERS, type SegmentResponse, decodeFloat16, embeddingQueryOf, encodeFloat16 } from '@glmedsa/server/api';
import { uploadDicom } from '@glmedsa/server/dist/src/bundled-pacs/bundled-orthanc.js';
import { basicTextSr } from '@glmedsa/server/dist/test/helpers/dicom-factory.js';
import type { DemoInstance } from '@glmedsa/server/dist/src/demo/demo-studies.js';
import { type BrowserEmbedding, DecodeUnavailable, type DecodePrompts, type ModelVersion, type SessionLike, DownloadRefused, VersionMismatch, decodePrompts, fetchEmbedding, loadDecoder } from '../../extension/src/decode/index.js';
import type { Stack } from '../helpers/stack.js';
import { assertSameMasks } from './same-masks.js';

// The shared test helpers are compiled by the test/ project (to test/dist/helpers); this file is
// compiled with extension/src/decode to test/dist/decode-build/test/decode, so it loads them from there.
const helper = (name: string) => new URL(`../../../helpers/${name}`, import.meta.url).href;
const { startStack } = (await import(helper('stack.js'))) as typeof import('../helpers/stack.js');

ort.env.wasm.numThreads = 1;

const createSession = async (bytes: Uint8Array): Promise<SessionLike> => ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] }) as unknown as SessionLike;
const makeTensor = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

let stack: Stack;
let base: string;
let image: DemoInstance;
let session: SessionLike;
let decoderVersion: ModelVersion;
let embedding: BrowserEmbedding;

const ref = () => ({ studyInstanceUID: image.studyInstanceUID, seriesInstanceUID: image.seriesInstanceUID, sopInstanceUID: image.sopInstanceUID, frame: 1 });
const opts = () => ({ baseUrl: base, fetch });

async function serverSegment(body: Record<string, unknown>): Promise<SegmentResponse> {
  const res = await fetch(`${base}/v1/segment`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: ref(), ...body }) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as SegmentResponse;
}

before(async () => {
  stack = await startStack({ withoutModules: true });
  base = stack.viewerUrl.replace(/\/$/, '');
  image = stack.demo.dermoscopy.instances[0]!;
  const d = await loadDecoder(opts(), 'starter', createSession);
  session = d.session;
  decoderVersion = d.version;
  embedding = (await fetchEmbedding(opts(), 'starter', ref(), decoderVersion)).embedding;
});

after(async () => {
  await stack?.stop();
});

describe('browser-path masks equal server-path masks', () => {
  const cases: [string, (x: number, y: number) => DecodePrompts][] = [
    ['one click', (x, y) => ({ points: [{ x, y, label: 1 }] })],
    ['several clicks', (x, y) => ({ points: [{ x, y, label: 1 }, { x: Math.min(x + 12, image.width - 1), y, label: 1 }, { x: 2, y: 2, label: 0 }] })],
    ['a box', (x, y) => ({ points: [], box: { x1: Math.max(0, x - 40), y1: Math.max(0, y - 40), x2: Math.min(image.width - 1, x + 40), y2: Math.min(image.height - 1, y + 40) } })],
  ];
  for (const [name, prompts] of cases) {
    test(name, async () => {
      const p = prompts(image.lesion!.x, image.lesion!.y);
      const server = await serverSegment({ points: p.points, ...(p.box ? { box: p.box } : {}) });
      const browser = await decodePrompts(session, makeTensor, embedding, p);
      assertSameMasks(server, browser);
    });
  }

  test('a refinement with the previous mask', async () => {
    const first = { x: image.lesion!.x, y: image.lesion!.y, label: 1 as const };
    const second = { x: 3, y: image.height - 3, label: 0 as const };
    const s1 = await serverSegment({ points: [first] });
    const b1 = await decodePrompts(session, makeTensor, embedding, { points: [first] });
    assertSameMasks(s1, b1);
    const s2 = await serverSegment({ points: [first, second], maskId: s1.maskId });
    const b2 = await decodePrompts(session, makeTensor, embedding, { points: [first, second], maskInput: b1.lowRes });
    assertSameMasks(s2, b2);
  });
});

describe('the embedding and decoder downloads', () => {
  test('float16 by default, float32 on request, the same values to float16 precision', async () => {
    const q = embeddingQueryOf(ref());
    const r16 = await fetch(`${base}/v1/embeddings/starter?${q}`);
    const r32 = await fetch(`${base}/v1/embeddings/starter?${embeddingQueryOf(ref(), 'float32')}`);
    assert.equal(r16.status, 200);
    assert.equal(r16.headers.get(EMBEDDING_HEADERS.dtype), 'float16');
    assert.equal(r32.headers.get(EMBEDDING_HEADERS.dtype), 'float32');
    assert.match(r16.headers.get('cache-control') ?? '', /private/);
    const a = decodeFloat16(new Uint8Array(await r16.arrayBuffer()));
    const b = new Float32Array(await r32.arrayBuffer());
    assert.equal(a.length, b.length);
    assert.equal(a.length, r16.headers.get(EMBEDDING_HEADERS.shape)!.split(',').map(Number).reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= Math.abs(b[i]!) * 2 ** -10 + 2 ** -24, `value ${i}: ${a[i]} vs ${b[i]}`);
    assert.notEqual(r16.headers.get('etag'), r32.headers.get('etag'));
  });

  test('If-None-Match with the ETag answers 304 without a body', async () => {
    const url = `${base}/v1/embeddings/starter?${embeddingQueryOf(ref())}`;
    const etag = (await fetch(url)).headers.get('etag');
    assert.ok(etag);
    const again = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const other = await fetch(url, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(other.status, 200);
  });

  test('a bad query is a 400 with a reason', async () => {
    const res = await fetch(`${base}/v1/embeddings/starter?studyInstanceUID=1.2&dtype=int8`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /seriesInstanceUID|dtype/);
  });

  test('the decoder redirects to an immutable URL named by its sha256', async () => {
    const res = await fetch(`${base}/v1/models/starter/decoder.onnx`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const loc = res.headers.get('location')!;
    assert.ok(loc.endsWith(`/decoder/${decoderVersion.decoderSha256}.onnx`), loc);
    const file = await fetch(`${base}${loc}`);
    assert.equal(file.status, 200);
    assert.match(file.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(file.headers.get('etag'), `"${decoderVersion.decoderSha256}"`);
    const { createHash } = await import('node:crypto');
    assert.equal(createHash('sha256').update(new Uint8Array(await file.arrayBuffer())).digest('hex'), decoderVersion.decoderSha256);
    assert.equal((await fetch(`${base}/v1/models/starter/decoder/${'0'.repeat(64)}.onnx`)).status, 404);
  });

  test('float16 round trip of special values', () => {
    const v = Float32Array.of(0, -0, 1, -2.5, 65504, 1e-7, 6.1e-5, 1e6, Infinity, -Infinity);
    const back = decodeFloat16(encodeFloat16(v));
    assert.deepEqual(Array.from(back.subarray(0, 5)), [0, -0, 1, -2.5, 65504]);
    assert.ok(Math.abs(back[5]! - 1e-7) < 2 ** -24);
    assert.ok(Math.abs(back[6]! - 6.1e-5) < 6.1e-5 * 2 ** -10);
    assert.equal(back[7], Infinity);
    assert.equal(back[8], Infinity);
    assert.equal(back[9], -Infinity);
  });
});

describe('what the browser needs from the viewer origin', () => {
  test('the viewer page is cross-origin isolated (COOP + COEP), and so are its files', async () => {
    for (const url of [stack.viewerUrl, `${base}/app-config.js`]) {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin', url);
      assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp', url);
    }
  });

  test("onnxruntime-web's wasm runtime is served under /ext/ort/ (after the webpack build)", async () => {
    // The JSEP runtime: the one the bundled build loads, for the wasm and the WebGPU backend alike.
    const res = await fetch(`${base}/ext/ort/ort-wasm-simd-threaded.jsep.wasm`);
    assert.equal(res.status, 200, 'run npm run build:ext first');
    assert.match(res.headers.get('content-type') ?? '', /application\/wasm/);
    assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
  });
});

describe('failures are reasons, for the fallback to the server', () => {
  test('a decoder that is not there (404)', async () => {
    await assert.rejects(loadDecoder(opts(), 'no-such-model', createSession), (e: unknown) => e instanceof DecodeUnavailable && e.about === 'decoder' && /^the server did not send the decoder \(HTTP 404: /.test(e.reason));
  });

  test('a corrupt decoder', async () => {
    // The network hands back damaged bytes: the session refuses them and the reason says so.
    const corrupting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const bytes = new Uint8Array(await res.arrayBuffer()).slice(0, 5000);
      for (let i = 0; i < bytes.length; i += 7) bytes[i] = 0xff;
      return new Response(bytes, { status: res.status, headers: res.headers });
    };
    await assert.rejects(loadDecoder({ baseUrl: base, fetch: corrupting }, 'starter', createSession), (e: unknown) => e instanceof DecodeUnavailable && e.about === 'decoder' && /^onnxruntime-web could not load the decoder \(/.test(e.reason) && !e.reason.includes('\n'));
  });

  test('an embedding of another model version than the decoder', async () => {
    const stale: ModelVersion = { ...decoderVersion, adapterVersion: '7' };
    await assert.rejects(fetchEmbedding(opts(), 'starter', ref(), stale), (e: unknown) => e instanceof VersionMismatch && e.about === 'image' && /does not belong with the decoder/.test(e.reason));
  });
});

describe('refusals the server path would meet too are not reasons to fall back', () => {
  test('an object that is not an image: the server refuses its embedding as it refuses POST /v1/segment', async () => {
    const report = basicTextSr();
    await uploadDicom(stack.orthanc, report.bytes);
    const srRef = { ...report.ref, frame: 1 };
    const viaSegment = await fetch(`${base}/v1/segment`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: srRef, points: [{ x: 1, y: 1, label: 1 }] }) });
    await assert.rejects(fetchEmbedding(opts(), 'starter', srRef, decoderVersion), (e: unknown) => {
      assert.ok(e instanceof DownloadRefused, String(e));
      assert.equal(e.status, viaSegment.status, 'the same status as the server path');
      assert.match(e.problem?.detail ?? '', /not an image/);
      return true;
    });
  });

  test('a server that cannot be reached: a reason that may pass (the next click tries the browser again)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    await assert.rejects(loadDecoder({ baseUrl: `http://127.0.0.1:${closed}`, fetch }, 'starter', createSession), (e: unknown) => {
      assert.ok(e instanceof DecodeUnavailable, String(e));
      assert.equal(e.transient, true);
      assert.match(e.reason, /^the browser could not download the decoder \(/);
      return true;
    });
  });

  // Last: it stops the PACS.
  test('the PACS is down: the embedding of an image the server has not read yet is refused with 502, as POST /v1/segment is', async () => {
    const unread = stack.demo.ct.instances[stack.demo.ct.instances.length - 1]!;
    const unreadRef = { studyInstanceUID: unread.studyInstanceUID, seriesInstanceUID: unread.seriesInstanceUID, sopInstanceUID: unread.sopInstanceUID, frame: 1 };
    await stack.orthanc.stop({ graceMs: 0 });
    await assert.rejects(fetchEmbedding(opts(), 'starter', unreadRef, decoderVersion), (e: unknown) => {
      assert.ok(e instanceof DownloadRefused, String(e));
      assert.equal(e.status, 502);
      assert.ok(e.problem?.title, 'a problem body from our server, not a bare proxy answer');
      return true;
    });
  });
});
