import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Rng, dermoscopyPhantom, encodePng, overlap, rgbImage, siteProfile } from '@glmedsa/models';
import { EmbeddingResponseSchema, ModelsResponseSchema, ProblemSchema, SegmentResponseSchema, decodeMask } from '../../src/api/index.js';
import { lesionCentre } from '../../src/demo/demo-studies.js';
import type { InstanceRef } from '../../src/dicom/image-ref.js';
import type { RunningServer } from '../../src/server.js';
import { basicTextSr, ctSlice, newStudy, rgbPhoto, shortPixelData } from '../helpers/dicom-factory.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { get, post, startTestServer } from '../helpers/server.js';

describe('the segmentation API against a real Orthanc', () => {
  const orthanc = useOrthanc();
  let server: RunningServer;
  let lesion: { ref: InstanceRef; mask: Uint8Array; size: number; centre: { x: number; y: number } };
  let ct: InstanceRef;
  let sr: InstanceRef;
  let broken: InstanceRef;

  const image = (ref: InstanceRef, frame = 1) => ({ ...ref, frame });

  before(async () => {
    const size = 256;
    const p = dermoscopyPhantom(new Rng(31), size, siteProfile('A'));
    const study = newStudy('API test');
    const photo = rgbPhoto({ width: size, height: size, rgb: p.image.data, study });
    await orthanc.upload(photo);
    lesion = { ref: photo.ref, mask: p.mask, size, centre: lesionCentre(p.mask, size, size) };
    const hu = new Int16Array(64 * 64).map((_, i) => ((i % 64) - 32) * 10);
    const slice = ctSlice({ rows: 64, cols: 64, hu, window: { center: 40, width: 400 }, study });
    await orthanc.upload(slice);
    ct = slice.ref;
    const report = basicTextSr({ study });
    await orthanc.upload(report);
    sr = report.ref;
    const short = shortPixelData({ study, rows: 64, cols: 64 });
    await orthanc.upload(short);
    broken = short.ref;
    server = await startTestServer(orthanc.handle.dicomWebUrl);
  });

  after(async () => {
    await server?.close();
  });

  describe('segmenting images stored in a real Orthanc', () => {
    test('a click on a lesion phantom gives a mask that overlaps it', async () => {
      const r = await post(`${server.url}/v1/segment`, { image: image(lesion.ref), points: [{ ...lesion.centre, label: 1 }] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const body = SegmentResponseSchema.parse(r.body);
      const masks = body.masks;
      assert.equal(masks.length, 3, 'one click gives SAM three candidates');
      const best = masks[body.best]!;
      const pred = decodeMask(best.counts, body.image.width, body.image.height);
      assert.equal(pred.reduce((a, v) => a + v, 0), best.area, 'the decoded mask has the area the server reports');
      const { dice } = overlap(pred, lesion.mask);
      assert.ok(dice > 0.8, `Dice ${dice}`);
      assert.equal(r.body['cached'], false);
      assert.match(String(r.body['maskId']), /^[0-9a-f-]{36}$/);
    });

    test('a second click on the same image does not run the encoder again, and refines the mask', async () => {
      const first = await post(`${server.url}/v1/segment`, { image: image(lesion.ref), points: [{ ...lesion.centre, label: 1 }] });
      const metricsBefore = (await get(`${server.url}/metrics`)).body['text'] as string;
      const misses = (text: string) => Number(/glmedsa_embedding_cache_total\{result="miss"\} (\d+)/.exec(text)?.[1] ?? 0);
      const r = await post(`${server.url}/v1/segment`, {
        image: image(lesion.ref),
        points: [
          { ...lesion.centre, label: 1 },
          { x: 5, y: 5, label: 0 },
        ],
        maskId: first.body['maskId'],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body['cached'], true);
      assert.equal((r.body['timings'] as Record<string, number>)['embedMs'], 0);
      assert.equal((r.body['masks'] as unknown[]).length, 1, 'later clicks refine one mask');
      const metricsAfter = (await get(`${server.url}/metrics`)).body['text'] as string;
      assert.equal(misses(metricsAfter), misses(metricsBefore), 'no new encoder run');
    });

    test('a 16-bit CT slice is windowed and segmented; a box alone is a prompt', async () => {
      const r = await post(`${server.url}/v1/segment`, { image: { ...image(ct), voi: { center: 0, width: 600 } }, box: { x1: 10, y1: 10, x2: 40, y2: 40 } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body['image'], { width: 64, height: 64 });
    });

    test('an uploaded PNG can be segmented by its id', async () => {
      const img = rgbImage(40, 30);
      img.data.fill(200);
      const up = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(encodePng(img)) });
      assert.equal(up.status, 201);
      const { imageId, width, height } = (await up.json()) as { imageId: string; width: number; height: number };
      assert.deepEqual([width, height], [40, 30]);
      const r = await post(`${server.url}/v1/segment`, { image: { imageId }, points: [{ x: 20, y: 15, label: 1 }] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const bad = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'not a png' });
      assert.equal(bad.status, 415);
    });

    test('embeddings can be warmed before the first click', async () => {
      const r = await post(`${server.url}/v1/embeddings`, { image: image(ct) });
      assert.equal(r.status, 200);
      const again = EmbeddingResponseSchema.parse((await post(`${server.url}/v1/embeddings`, { image: image(ct) })).body);
      assert.equal(again.cached, true);
    });
  });

  describe('bad requests get the right 4xx and the server keeps serving', () => {
    const expectProblem = async (body: unknown, status: number, detail: RegExp) => {
      const r = await post(`${server.url}/v1/segment`, body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/problem+json');
      assert.match(String(r.body['detail']), detail);
      assert.doesNotMatch(JSON.stringify(r.body), /at .*\.js:\d+/, 'no stack traces');
      assert.equal(ProblemSchema.parse(r.body).status, status, 'the body has the problem shape the api module describes');
    };
    const point = { x: 10, y: 10, label: 1 };

    test('unknown UIDs', () => expectProblem({ image: { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.4', sopInstanceUID: '1.2.5' }, points: [point] }, 404, /not found in the PACS/));
    test('UIDs that are not UIDs', () => expectProblem({ image: { ...lesion.ref, sopInstanceUID: '../etc/passwd' }, points: [point] }, 400, /DICOM UID/));
    test('a non-image instance', () => expectProblem({ image: image(sr), points: [point] }, 422, /structured report|not an image/i));
    test('damaged pixel data in the PACS', () => expectProblem({ image: image(broken), points: [point] }, 422, /./));
    test('a frame the instance does not have', () => expectProblem({ image: image(lesion.ref, 5), points: [point] }, 422, /frame 5 does not exist/));
    test('malformed JSON', () => expectProblem('{"image": ', 400, /not valid JSON/));
    test('points outside the image', () => expectProblem({ image: image(lesion.ref), points: [{ x: 300, y: 10, label: 1 }] }, 400, /outside the 256x256 image/));
    test('wrong types', () => expectProblem({ image: image(lesion.ref), points: [{ x: '10', y: 10, label: 1 }] }, 400, /points\.0\.x/));
    test('unknown fields', () => expectProblem({ image: image(lesion.ref), points: [point], extra: true }, 400, /unrecognized|extra/i));
    test('no prompt', () => expectProblem({ image: image(lesion.ref), points: [] }, 400, /at least one point or a box/));
    test('absurd coordinates and sizes', async () => {
      await expectProblem({ image: image(lesion.ref), points: [{ x: 1e12, y: 0, label: 1 }] }, 400, /points\.0\.x/);
      await expectProblem({ image: image(lesion.ref), points: Array.from({ length: 65 }, () => point) }, 400, /at most 64 points/);
      await expectProblem({ image: image(lesion.ref), points: [point], pad: 'x'.repeat(300_000) }, 413, /larger than/);
    });
    test('a label that is not 0 or 1', () => expectProblem({ image: image(lesion.ref), points: [{ x: 1, y: 1, label: 2 }] }, 400, /label/));
    test('a maskId of another image', async () => {
      const other = await post(`${server.url}/v1/segment`, { image: image(ct), points: [point] });
      await expectProblem({ image: image(lesion.ref), points: [point], maskId: other.body['maskId'] }, 409, /another image/);
    });
    test('an unknown model and an unknown route', async () => {
      await expectProblem({ image: image(lesion.ref), points: [point], model: 'nope' }, 404, /no model 'nope'/);
      assert.equal((await get(`${server.url}/v1/nothing`)).status, 404);
    });
    test('the server still answers', async () => {
      assert.equal((await get(`${server.url}/healthz`)).status, 200);
      const models = await get(`${server.url}/v1/models`);
      assert.equal((models.body['models'] as { id: string }[])[0]!.id, 'starter');
      const listed = ModelsResponseSchema.parse(models.body).models;
      assert.deepEqual(listed.map((m) => [m.id, m.default, m.provider]), [['starter', true, 'cpu']]);
    });
});
});
