/**
 * Large images against the real server (issue 19): refused at upload when their data cannot be
 * whole, segmented without full-size copies, the memory given back, one at a time in their own
 * lane, and the large-image path giving the whole-image path's embedding and masks. Each test
 * prints what it measures: time to the answer, the process's RSS before, at the peak and after.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Rng, dermoscopyPhantom, encodePng, siteProfile } from '@glmedsa/models';
import type { RunningServer } from '../../src/server.js';
import { craftPng, gradientPng, zerosZlib } from '../helpers/png-craft.js';
import { type JsonResponse, post, startTestServer } from '../helpers/server.js';

const NO_PACS = 'http://127.0.0.1:9/dicom-web';

/** The process's RSS sampled every 10 ms while `work` runs, and 3 s after it (idle). */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; before: number; peak: number; after: number }> {
  const mb = () => process.memoryUsage().rss / 2 ** 20;
  const before = mb();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, mb())), 10);
  const t0 = performance.now();
  const value = await work();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 3000));
  clearInterval(sampler);
  return { value, ms, before, peak, after: mb() };
}

const report = (what: string, m: { ms: number; before: number; peak: number; after: number }, status: number) =>
  process.stdout.write(`# ${what}: ${status} in ${m.ms.toFixed(0)} ms; RSS before ${m.before.toFixed(0)} MB, peak ${m.peak.toFixed(0)} MB, 3 s after ${m.after.toFixed(0)} MB\n`);

async function upload(url: string, body: Uint8Array, type: string): Promise<JsonResponse> {
  const res = await fetch(`${url}/v1/images`, { method: 'POST', headers: { 'content-type': type }, body: Buffer.from(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('large images against the real server', () => {
  let server: RunningServer;
  let zeros8k: Buffer;
  before(async () => {
    zeros8k = craftPng({ width: 8192, height: 8192 }, await zerosZlib(8192 * (8192 * 3 + 1)));
    server = await startTestServer(NO_PACS, { workers: { count: 2, threads: 1 } });
    // Warm both workers' code paths, so what is measured is the image's own cost.
    const small = await upload(server.url, encodePng(dermoscopyPhantom(new Rng(1), 64, siteProfile('A')).image), 'image/png');
    await post(`${server.url}/v1/segment`, { image: { imageId: small.body['imageId'] }, points: [{ x: 5, y: 5, label: 1 }] });
  });
  after(() => server?.close());

  test('a 29-byte JPEG declaring 8192 x 8192 with no scan is refused at upload, allocating nothing', async () => {
    const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, 0x20, 0x00, 0x20, 0x00, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00];
    const restartInterval = [0xff, 0xdd, 0x00, 0x04, 0x00, 0x00];
    const bytes = Uint8Array.from([0xff, 0xd8, ...restartInterval, ...sof, 0xff, 0xd9]);
    assert.equal(bytes.length, 29);
    const m = await measured(async () => {
      const up = await upload(server.url, bytes, 'image/jpeg');
      if (up.status !== 201) return up;
      return post(`${server.url}/v1/segment`, { image: { imageId: up.body['imageId'] }, points: [{ x: 5, y: 5, label: 1 }] });
    });
    report('header-only 8192 x 8192 JPEG', m, m.value.status);
    assert.equal(m.value.status, 422, JSON.stringify(m.value.body));
    assert.match(String(m.value.body['detail']), /^the JPEG image is truncated or corrupt/);
    assert.ok(m.peak - m.before < 64, `RSS rose by ${(m.peak - m.before).toFixed(0)} MB`);
  });

  test('a truncated 8192 x 8192 PNG is refused at upload', async () => {
    const m = await measured(() => upload(server.url, zeros8k.subarray(0, zeros8k.length >> 1), 'image/png'));
    report('half of an 8192 x 8192 PNG', m, m.value.status);
    assert.equal(m.value.status, 422, JSON.stringify(m.value.body));
    assert.match(String(m.value.body['detail']), /^the PNG image is truncated or corrupt/);
  });

  test('an all-zero 8192 x 8192 PNG (196 KB) is segmented without holding full-size copies, and the memory goes back', async () => {
    const m = await measured(async () => {
      const up = await upload(server.url, zeros8k, 'image/png');
      assert.equal(up.status, 201, JSON.stringify(up.body));
      return post(`${server.url}/v1/segment`, { image: { imageId: up.body['imageId'] }, points: [{ x: 4000, y: 4000, label: 1 }] });
    });
    report('all-zero 8192 x 8192 PNG, upload + click', m, m.value.status);
    assert.equal(m.value.status, 200, JSON.stringify(m.value.body));
    const masks = m.value.body['masks'] as { counts: number[] }[];
    assert.equal(masks[0]!.counts.reduce((a, b) => a + b, 0), 8192 * 8192);
    // One full-size 8-bit RGB copy is 192 MB; the whole-image path held four, and 1 GB of float masks.
    assert.ok(m.peak - m.before < 400, `RSS rose by ${(m.peak - m.before).toFixed(0)} MB at the peak`);
    assert.ok(m.after - m.before < 150, `RSS stayed ${(m.after - m.before).toFixed(0)} MB above its start`);
  });

  test('a large image goes through the large-image lane: a small encode queued behind three is not kept waiting for all of them', async () => {
    const bigs = await Promise.all([0, 1, 2].map(async (i) => (await upload(server.url, await gradientPng(4096, 4096, i * 40), 'image/png')).body['imageId']));
    const smallId = (await upload(server.url, encodePng(dermoscopyPhantom(new Rng(44), 256, siteProfile('B')).image), 'image/png')).body['imageId'];
    const order: string[] = [];
    const t0 = performance.now();
    const clicks = bigs.map((imageId, i) =>
      post(`${server.url}/v1/segment`, { image: { imageId }, points: [{ x: 100, y: 100, label: 1 }] }).then((r) => {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        order.push(`big${i}`);
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const small = post(`${server.url}/v1/segment`, { image: { imageId: smallId }, points: [{ x: 128, y: 128, label: 1 }] }).then((r) => {
      assert.equal(r.status, 200);
      order.push('small');
      return performance.now() - t0;
    });
    const smallMs = await small;
    await Promise.all(clicks);
    process.stdout.write(`# three 4096 x 4096 encodes queued, then a 256 x 256 one: it was answered after ${smallMs.toFixed(0)} ms, order ${order.join(', ')}\n`);
    assert.ok(order.indexOf('small') < order.indexOf('big1'), `order: ${order.join(', ')}`);
  });
});

describe('the large-image path gives the same embedding and masks as the whole-image path', () => {
  let whole: RunningServer;
  let strips: RunningServer;
  before(async () => {
    whole = await startTestServer(NO_PACS, { workers: { count: 1, threads: 1 } });
    strips = await startTestServer(NO_PACS, { workers: { count: 1, threads: 1 }, limits: { largeImagePixels: 4096 } });
  });
  after(async () => {
    await whole?.close();
    await strips?.close();
  });

  test('a 700 x 530 photograph: identical embeddings, masks equal but for the rounding of the last resize', async () => {
    const image = dermoscopyPhantom(new Rng(12), 700, siteProfile('A')).image;
    const cropped = { width: 700, height: 530, data: image.data.subarray(0, 700 * 530 * 3) };
    const png = encodePng(cropped);
    const ask = async (s: RunningServer) => {
      const id = String((await upload(s.url, png, 'image/png')).body['imageId']);
      const emb = new Uint8Array(await (await fetch(`${s.url}/v1/embeddings/starter?imageId=${id}&dtype=float32`)).arrayBuffer());
      const seg = await post(`${s.url}/v1/segment`, { image: { imageId: id }, points: [{ x: 350, y: 265, label: 1 }, { x: 40, y: 30, label: 0 }], box: { x1: 200, y1: 150, x2: 520, y2: 400 } });
      assert.equal(seg.status, 200, JSON.stringify(seg.body));
      return { emb, masks: seg.body['masks'] as { counts: number[]; area: number; score: number }[] };
    };
    const a = await ask(whole);
    const b = await ask(strips);
    assert.ok(a.emb.length > 1000);
    assert.ok(Buffer.from(a.emb).equals(Buffer.from(b.emb)), 'the embeddings differ');
    assert.equal(a.masks.length, b.masks.length);
    for (let k = 0; k < a.masks.length; k++) {
      assert.equal(a.masks[k]!.score, b.masks[k]!.score);
      const differ = Math.abs(a.masks[k]!.area - b.masks[k]!.area);
      assert.ok(differ <= 10, `mask ${k}: areas ${a.masks[k]!.area} and ${b.masks[k]!.area}`);
    }
  });
});
