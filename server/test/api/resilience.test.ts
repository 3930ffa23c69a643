import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng, dermoscopyPhantom, encodePng, siteProfile } from '@glmedsa/models';
import { startTestOrthanc, stopTestOrthanc } from '../helpers/orthanc.js';
import { rgbPhoto } from '../helpers/dicom-factory.js';
import { uploadDicom } from '../../src/bundled-pacs/index.js';
import { silentServer } from '../helpers/fake-pacs.js';
import { get, post, startTestServer } from '../helpers/server.js';

const ref = { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4', sopInstanceUID: '1.2.3.4.5', frame: 1 };
const click = [{ x: 10, y: 10, label: 1 }];

describe('when the PACS fails', () => {
  test('a PACS that went away gives 502 at once, and the server keeps serving', async () => {
    const orthanc = await startTestOrthanc();
    const photo = rgbPhoto({ width: 32, height: 32, rgb: new Uint8Array(32 * 32 * 3).fill(128) });
    await uploadDicom(orthanc, photo.bytes);
    const server = await startTestServer(orthanc.dicomWebUrl);
    try {
      assert.equal((await post(`${server.url}/v1/segment`, { image: { ...photo.ref, frame: 1 }, points: click })).status, 200);
      await stopTestOrthanc(orthanc);
      const t0 = Date.now();
      const r = await post(`${server.url}/v1/segment`, { image: ref, points: click });
      assert.equal(r.status, 502, JSON.stringify(r.body));
      assert.match(String(r.body['detail']), /PACS/);
      assert.ok(Date.now() - t0 < 3000);
      // The cached image still works without the PACS.
      assert.equal((await post(`${server.url}/v1/segment`, { image: { ...photo.ref, frame: 1 }, points: click })).status, 200);
      assert.equal((await get(`${server.url}/readyz`)).body['pacs'], 'unreachable');
    } finally {
      await server.close();
      await stopTestOrthanc(orthanc);
    }
  });

  test('a PACS that never answers gives 504 after the timeout, not a hang', async () => {
    const silent = await silentServer();
    const server = await startTestServer(`${silent.url}/dicom-web`, { pacs: { url: `${silent.url}/dicom-web`, timeoutMs: 800 } });
    try {
      const t0 = Date.now();
      const r = await post(`${server.url}/v1/segment`, { image: ref, points: click });
      assert.equal(r.status, 504, JSON.stringify(r.body));
      assert.ok(Date.now() - t0 < 5000, 'answered within the timeout');
      assert.equal((await get(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close();
      await silent.close();
    }
  });
});

describe('authentication and roles', () => {
  test('API keys and roles are enforced when authentication is required', async () => {
    const server = await startTestServer('http://127.0.0.1:9/dicom-web', {}, {
      GLMEDSA_AUTH: 'required',
      GLMEDSA_API_KEYS: 'viewer-key-0123456789:viewer:ohif,admin-key-0123456789:admin:ops',
    });
    try {
      const none = await get(`${server.url}/v1/models`);
      assert.equal(none.status, 401);
      assert.match(String(none.body['detail']), /API key/);
      assert.equal((await get(`${server.url}/v1/models`, { 'x-api-key': 'wrong-key-0123456789' })).status, 401);
      assert.equal((await get(`${server.url}/v1/models`, { 'x-api-key': 'viewer-key-0123456789' })).status, 200);
      assert.equal((await get(`${server.url}/v1/models`, { authorization: 'Bearer admin-key-0123456789' })).status, 200);
      assert.equal((await get(`${server.url}/v1/models`, { authorization: 'Bearer not.a.jwt' })).status, 401);
      assert.equal((await post(`${server.url}/v1/segment`, { image: ref, points: click })).status, 401);
      assert.equal((await get(`${server.url}/healthz`)).status, 200, 'health stays open for probes');
    } finally {
      await server.close();
    }
  });

  test('a non-loopback address without authentication is refused at start', async () => {
    await assert.rejects(startTestServer('http://127.0.0.1:9/dicom-web', { listen: { host: '0.0.0.0', port: 0 } }), /refusing to listen on 0\.0\.0\.0 without authentication/);
  });
});

describe('overload', () => {
  test('a full inference queue answers 503 with Retry-After instead of waiting', async () => {
    const server = await startTestServer('http://127.0.0.1:9/dicom-web', { workers: { count: 1, threads: 1, queueLimit: 1, jobTimeoutMs: 60_000 } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const p = dermoscopyPhantom(new Rng(500 + i), 256, siteProfile('A'));
        const res = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(encodePng(p.image)) });
        ids.push(((await res.json()) as { imageId: string }).imageId);
      }
      const results = await Promise.all(ids.map((imageId) => post(`${server.url}/v1/embeddings`, { image: { imageId } })));
      const busy = results.filter((r) => r.status === 503);
      assert.ok(busy.length > 0, `statuses: ${results.map((r) => r.status).join(',')}`);
      assert.ok(busy.every((r) => Number(r.headers.get('retry-after')) > 0));
      assert.ok(results.every((r) => r.status === 200 || r.status === 503));
      assert.equal((await post(`${server.url}/v1/embeddings`, { image: { imageId: ids[0] } })).status, 200, 'serves again once the queue drains');
    } finally {
      await server.close();
    }
  });
});
