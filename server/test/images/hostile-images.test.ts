/**
 * Hostile images against the real server (real workers): each class is refused with a sentence of
 * ours, at the earliest point that can tell, and without the allocation it asks for.
 */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Rng, dermoscopyPhantom, encodePng, siteProfile } from '@glmedsa/models';
import { uploadDicom } from '../../src/bundled-pacs/index.js';
import { rgbPhoto } from '../helpers/dicom-factory.js';
import { startTestOrthanc, stopTestOrthanc } from '../helpers/orthanc.js';
import { craftPng, tallPng, zerosZlib } from '../helpers/png-craft.js';
import { type JsonResponse, post, startTestServer } from '../helpers/server.js';
import type { RunningServer } from '../../src/server.js';

const NO_PACS = 'http://127.0.0.1:9/dicom-web';

async function upload(url: string, body: Uint8Array, type = 'image/png'): Promise<JsonResponse> {
  const res = await fetch(`${url}/v1/images`, { method: 'POST', headers: { 'content-type': type }, body: Buffer.from(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const click = (imageId: string) => ({ image: { imageId }, points: [{ x: 0, y: 0, label: 1 }] });

/** Library phrases that must never reach a client. */
const LIBRARY_TEXT = /Cannot read properties|waitng|undefined|stream|zlib|inflate/i;

describe('hostile images', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer(NO_PACS);
  });
  after(() => server.close());

  test('the 67-byte PNG declaring 1 x 60,000,000 pixels is refused at upload, from its header', async () => {
    const png = tallPng();
    assert.equal(png.length, 67);
    const r = await upload(server.url, png);
    assert.equal(r.status, 413, JSON.stringify(r.body));
    assert.match(String(r.body['detail']), /1x60000000 pixels; each side may be at most 16384 pixels/);
  });

  test('an image with more pixels than allowed is refused naming the limit', async () => {
    const png = craftPng({ width: 10_000, height: 10_000 }, new Uint8Array(0));
    const r = await upload(server.url, png);
    assert.equal(r.status, 413);
    assert.match(String(r.body['detail']), /at most 67,108,864 pixels are accepted/);
  });

  test('an interlaced PNG bomb is refused without inflating it, and its worker survives', async () => {
    // Warm the worker's code paths first so the memory measured below is only the bomb's.
    const ok = await upload(server.url, encodePng(dermoscopyPhantom(new Rng(3), 64, siteProfile('A')).image));
    assert.equal((await post(`${server.url}/v1/segment`, click(String(ok.body['imageId'])))).status, 200);
    // 1024 x 1024 interlaced RGB needs 3,147,648 inflated bytes; this IDAT inflates to 512 MiB.
    const bomb = craftPng({ width: 1024, height: 1024, interlaced: true }, await zerosZlib(512 << 20));
    assert.ok(bomb.length < 1 << 20);
    const up = await upload(server.url, bomb);
    assert.equal(up.status, 201, 'its header is within the limits');
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const r = await post(`${server.url}/v1/segment`, click(String(up.body['imageId'])));
    clearInterval(sampler);
    assert.equal(r.status, 413, JSON.stringify(r.body));
    assert.match(String(r.body['detail']), /decompresses to more than the 3,147,648 bytes a 1024x1024 image needs/);
    assert.ok(peak - rss0 < 256 << 20, `the server's memory rose by ${(peak - rss0) >> 20} MiB for a 512 MiB bomb`);
    // Same worker, still serving (a crashed worker would have given a 500 and a restart).
    assert.equal((await post(`${server.url}/v1/segment`, click(String(ok.body['imageId'])))).status, 200);
  });

  test('a truncated PNG is refused at upload with our sentence, not the decoder library\'s', async () => {
    const png = encodePng(dermoscopyPhantom(new Rng(5), 128, siteProfile('A')).image);
    const up = await upload(server.url, png.subarray(0, Math.floor(png.length / 2)));
    assert.equal(up.status, 422, JSON.stringify(up.body));
    assert.match(String(up.body['detail']), /^the PNG image is truncated or corrupt \(/);
    assert.doesNotMatch(String(up.body['detail']), LIBRARY_TEXT);
  });

  test('a PNG whose image data stops early (its IEND intact) gets our sentence at the click', async () => {
    const rows = Buffer.alloc(64 * (64 * 3 + 1));
    // The stream of the first half of the rows only: a complete zlib stream, too short for 64 rows.
    const short = craftPng({ width: 64, height: 64 }, deflateSync(rows.subarray(0, rows.length >> 1)));
    const up = await upload(server.url, short);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const r = await post(`${server.url}/v1/segment`, click(String(up.body['imageId'])));
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body['detail'], 'the PNG image is truncated or corrupt');
  });

  test('a JPEG with only a frame header is refused at upload with our sentence, not the decoder library\'s', async () => {
    // SOI, SOF0 (64 x 64, 3 components), EOI: no tables, no scan.
    const sof = [0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x40, 0x00, 0x40, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00];
    const jpeg = Uint8Array.from([0xff, 0xd8, ...sof, 0xff, 0xd9]);
    const up = await upload(server.url, jpeg, 'image/jpeg');
    assert.equal(up.status, 422, JSON.stringify(up.body));
    assert.match(String(up.body['detail']), /^the JPEG image is truncated or corrupt/);
    assert.doesNotMatch(String(up.body['detail']), LIBRARY_TEXT);
  });

  test('an image too narrow for SAM\'s resize is refused with a sentence before it is decoded', async () => {
    // The starter encodes at 256 px: 8192 x 8 becomes 256 x 0.25, rounded to 0 rows.
    const up = await upload(server.url, craftPng({ width: 8192, height: 8 }, deflateSync(Buffer.alloc(8 * (8192 * 3 + 1)))));
    assert.equal(up.status, 201);
    const r = await post(`${server.url}/v1/segment`, click(String(up.body['imageId'])));
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.match(String(r.body['detail']), /8192x8 pixels, too narrow to segment: .* short side would be 0 pixels \(it needs at least 16\)/);
  });
});

test('the limits are configuration', async () => {
  const server = await startTestServer(NO_PACS, { limits: { maxImageSide: 512, maxImagePixels: 100_000 } });
  try {
    const wide = await upload(server.url, craftPng({ width: 600, height: 100 }, new Uint8Array(0)));
    assert.equal(wide.status, 413);
    assert.match(String(wide.body['detail']), /each side may be at most 512 pixels/);
    const many = await upload(server.url, craftPng({ width: 400, height: 400 }, new Uint8Array(0)));
    assert.equal(many.status, 413);
    assert.match(String(many.body['detail']), /at most 100,000 pixels/);
    assert.equal((await upload(server.url, craftPng({ width: 300, height: 300 }, deflateSync(Buffer.alloc(300 * 901))))).status, 201);
  } finally {
    await server.close();
  }
});

test('a DICOM frame over the limits is refused from its metadata, before its pixels are fetched', async () => {
  const orthanc = await startTestOrthanc();
  const photo = rgbPhoto({ width: 600, height: 40, rgb: new Uint8Array(600 * 40 * 3).fill(90) });
  await uploadDicom(orthanc, photo.bytes);
  const server = await startTestServer(orthanc.dicomWebUrl, { limits: { maxImageSide: 512 } });
  try {
    const r = await post(`${server.url}/v1/segment`, { image: { ...photo.ref, frame: 1 }, points: [{ x: 1, y: 1, label: 1 }] });
    assert.equal(r.status, 413, JSON.stringify(r.body));
    assert.equal(r.body['detail'], 'the DICOM frame is 600x40 pixels; each side may be at most 512 pixels');
  } finally {
    await server.close();
    await stopTestOrthanc(orthanc);
  }
});
