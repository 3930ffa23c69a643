/**
 * A slow image does not hold up clicks on other images: while a worker chews on the largest image
 * the limits allow, a click on an image whose embedding is cached is answered first.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, dermoscopyPhantom, encodePng, siteProfile } from '@glmedsa/models';
import { get, post, startTestServer } from '../helpers/server.js';

const SIDE = 2048;

function noisePng(seed: number): Buffer {
  const data = new Uint8Array(SIDE * SIDE * 3);
  let x = seed;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  return Buffer.from(encodePng({ width: SIDE, height: SIDE, data }));
}

async function upload(url: string, body: Uint8Array): Promise<string> {
  const res = await fetch(`${url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(body) });
  assert.equal(res.status, 201);
  return String(((await res.json()) as Record<string, unknown>)['imageId']);
}

const gauge = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

test('a cached click is answered while workers chew on the largest allowed images', async () => {
  // Made before the server starts: seconds of work between two requests would let the server close
  // the idle keep-alive connection just as fetch reuses it.
  const bigPngs = [noisePng(11), noisePng(12)];
  const server = await startTestServer('http://127.0.0.1:9/dicom-web', {
    workers: { count: 2, threads: 1 },
    limits: { maxImageSide: SIDE, maxImagePixels: SIDE * SIDE },
  });
  try {
    const smallId = await upload(server.url, encodePng(dermoscopyPhantom(new Rng(2), 96, siteProfile('A')).image));
    const clickOnSmall = { image: { imageId: smallId }, points: [{ x: 48, y: 48, label: 1 }] };
    assert.equal((await post(`${server.url}/v1/segment`, clickOnSmall)).status, 200);
    const bigIds = [await upload(server.url, bigPngs[0]!), await upload(server.url, bigPngs[1]!)];

    const order: string[] = [];
    const bigs = bigIds.map((imageId, i) =>
      post(`${server.url}/v1/segment`, { image: { imageId }, points: [{ x: 10, y: 10, label: 1 }] }).then((r) => {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        order.push(`big${i}`);
      }),
    );
    // Wait until one big image is encoding and the other waits (encodes may not take the last worker).
    for (let i = 0; ; i++) {
      const m = String((await get(`${server.url}/metrics`)).body['text']);
      if (gauge(m, 'glmedsa_inference_workers_busy') === 1 && gauge(m, 'glmedsa_inference_queue_depth') === 1) break;
      assert.ok(i < 500 && order.length === 0, 'one big image computing while the other waits');
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await post(`${server.url}/v1/segment`, clickOnSmall);
    assert.equal(r.status, 200);
    assert.equal(r.body['cached'], true);
    order.push('click');
    await Promise.all(bigs);
    assert.deepEqual(order, ['click', 'big0', 'big1']);
  } finally {
    await server.close();
  }
});
