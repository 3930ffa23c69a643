/**
 * 400 answers say what is expected, where, for the classes the hostile client found; and a maskId
 * of another image is refused before that image is encoded. Real server and workers; uploads
 * stand in for the PACS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodePng } from '@glmedsa/models';
import type { RunningServer } from '../../src/server.js';
import { post, startTestServer } from '../helpers/server.js';

const ref = { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4', sopInstanceUID: '1.2.3.4.5' };
const point = { x: 5, y: 5, label: 1 };

describe('validation messages', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer('http://127.0.0.1:9/dicom-web');
  });
  after(() => server?.close());

  async function detailOf(body: unknown, path = '/v1/segment'): Promise<string> {
    const r = await post(`${server.url}${path}`, body);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    const detail = String(r.body['detail']);
    assert.doesNotMatch(detail, /Invalid input|9007199254740991|Unrecognized key/, detail);
    return detail;
  }

  test('a frame that is not a whole number from 1 to 100000 is named with its limits', async () => {
    for (const frame of ['1', 1.5, null, 0, -3, 100_001, 2 ** 53, 1e308, true, {}]) {
      assert.equal(await detailOf({ image: { ...ref, frame }, points: [point] }), 'image.frame must be a whole number from 1 to 100000', String(frame));
    }
    assert.equal(await detailOf({ image: { ...ref, frame: '1' } }, '/v1/embeddings'), 'image.frame must be a whole number from 1 to 100000');
  });

  test('a label other than 0 or 1 says what each means', async () => {
    for (const label of [2, -1, '1', null, true]) {
      assert.equal(await detailOf({ image: { ...ref, frame: 1 }, points: [point, { ...point, label }] }), 'points.1.label must be 1 (include) or 0 (exclude)');
    }
  });

  test('the union reports the branch the client meant', async () => {
    assert.equal(await detailOf({ image: { imageId: 'abc' }, points: [point] }), 'image.imageId must be an id returned by POST /v1/images');
    assert.equal(await detailOf({ image: { ...ref, frame: 1, imageId: 'a'.repeat(64) }, points: [point] }), "image has an unknown field 'imageId'");
    assert.match(await detailOf({ image: { ...ref, sopInstanceUID: '1..2' }, points: [point] }), /^image\.sopInstanceUID must be a DICOM UID/);
    assert.match(await detailOf({ image: { studyInstanceUID: '1.2' }, points: [point] }), /^image\.seriesInstanceUID is required/);
    for (const image of ['1.2.3', 7, null, [], {}]) {
      assert.match(await detailOf({ image, points: [point] }), /^image must be a PACS image \{studyInstanceUID.*\} or an uploaded image \{imageId\}$/, JSON.stringify(image));
    }
  });

  test('other fields: coordinates, boxes, unknown fields, the body itself', async () => {
    const image = { ...ref, frame: 1 };
    assert.equal(await detailOf({ image, points: [{ ...point, x: 'ten' }] }), 'points.0.x must be a number of image pixels from -1000000 to 1000000');
    assert.equal(await detailOf({ image, box: { x1: 9, y1: 0, x2: 1, y2: 5 } }), 'box must have x1 <= x2 and y1 <= y2');
    assert.equal(await detailOf({ image, points: [point], colour: 'red' }), "the request body has an unknown field 'colour'");
    assert.equal(await detailOf({ image, points: [point], maskId: 'mine' }), 'maskId must be a maskId returned by an earlier segmentation');
    assert.match(await detailOf([1, 2]), /^the request body must be a JSON object \{image, points/);
    const r = await post(`${server.url}/v1/segment`, { image: { ...ref, frame: 0 }, points: [{ ...point, label: 3 }] });
    assert.deepEqual(r.body['fields'], { 'image.frame': 'must be a whole number from 1 to 100000', 'points.0.label': 'must be 1 (include) or 0 (exclude)' });
    assert.match(String(r.body['detail']), /\(and 1 more problem\)$/);
  });
});

describe('a maskId of another image', () => {
  test('is refused with 409 before that image is encoded', async () => {
    const server = await startTestServer('http://127.0.0.1:9/dicom-web');
    try {
      const upload = async (grey: number) => {
        const png = encodePng({ width: 48, height: 40, data: new Uint8Array(48 * 40 * 3).fill(grey) });
        const r = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(png) });
        assert.equal(r.status, 201);
        return ((await r.json()) as { imageId: string }).imageId;
      };
      const a = await upload(60);
      const b = await upload(200);
      const first = await post(`${server.url}/v1/segment`, { image: { imageId: a }, points: [point] });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const refused = await post(`${server.url}/v1/segment`, { image: { imageId: b }, points: [point], maskId: first.body['maskId'] });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.match(String(refused.body['detail']), /belongs to another image/);
      // Had the refused request encoded image b, this first click on b would find it cached.
      const onB = await post(`${server.url}/v1/segment`, { image: { imageId: b }, points: [point] });
      assert.equal(onB.status, 200);
      assert.equal(onB.body['cached'], false, 'the refused request did not encode image b');
      // The mask still refines its own image.
      const refine = await post(`${server.url}/v1/segment`, { image: { imageId: a }, points: [point], maskId: first.body['maskId'] });
      assert.equal(refine.status, 200);
    } finally {
      await server.close();
    }
  });
});
