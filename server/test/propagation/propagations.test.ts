/**
 * POST /v1/propagations end to end on a real Orthanc and real onnxruntime: a click on a lesion's
 * largest slice propagated through a CT series stored out of order (instance numbers running the
 * other way, one slice missing), seeds by maskId and by counts, an enhanced multi-frame CT, the
 * series that are not volumes (422 with their sentences), seeds of another image (409), cancel,
 * a client that goes away, 20 propagations at once beside clicks, and the metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type LesionStack, Rng, ctPhantom, encodeRle, lesionStack, regionCentre, siteProfile } from '@glmedsa/models';
import { ProblemSchema, PropagationRecordSchema, PropagationSummarySchema, SegmentResponseSchema } from '../../src/api/index.js';
import type { RunningServer } from '../../src/server.js';
import { basicTextSr, ctSlice, multiFrame, newStudy, newUid } from '../helpers/dicom-factory.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { get, post, startTestServer } from '../helpers/server.js';
import { type UploadedSeries, enhancedCt, uploadVolume } from '../helpers/volume-series.js';
import { type SseEvent, diceOf, sleep, watchEvents } from './propagation-fixtures.js';

const SIZE = 256;

describe('propagation through a series', () => {
  const orthanc = useOrthanc();
  let server: RunningServer;
  /** A site-A liver lesion on slices 10-18 of 32, slice 12 missing from the series. */
  let stack: LesionStack;
  let volume: UploadedSeries;
  /** A second, regular volume of the same study (seeds from it do not belong to the first). */
  let other: UploadedSeries;
  /** A lesion on every one of 40 slices: propagations through it run until the series ends. */
  let tube: UploadedSeries;
  let tubeMask: Uint8Array;
  const MISSING = 12;

  const url = (p: string) => `${server.url}${p}`;
  const ref = (s: UploadedSeries) => ({ studyInstanceUID: s.studyInstanceUID, seriesInstanceUID: s.seriesInstanceUID });
  const sopAt = (s: UploadedSeries, z: number) => s.slices.find((x) => x.z === z)!.sopInstanceUID;
  const click = async (s: UploadedSeries, z: number, at: { x: number; y: number }, voi?: { center: number; width: number }) => {
    const r = await post(url('/v1/segment'), { image: { ...ref(s), sopInstanceUID: sopAt(s, z), frame: 1, ...(voi ? { voi } : {}) }, points: [{ ...at, label: 1 }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return SegmentResponseSchema.parse(r.body);
  };
  const finished = async (id: string): Promise<SseEvent[]> => watchEvents(url(`/v1/propagations/${id}/events`));

  before(async () => {
    stack = lesionStack(9_500_001, { site: 'A', size: SIZE, slices: 32 });
    const study = newStudy('propagation API test');
    volume = await uploadVolume(orthanc, stack, { study, skip: [MISSING] });
    other = await uploadVolume(orthanc, lesionStack(9_500_003, { site: 'A', size: SIZE, slices: 16 }), { study });
    const small = lesionStack(9_500_001, { site: 'A', size: 128, slices: 24 });
    tubeMask = small.masks[small.lesion.largest]!;
    tube = await uploadVolume(orthanc, { size: 128, hu: Array.from({ length: 40 }, () => small.hu[small.lesion.largest]!) }, { study, spacing: 1.25 });
    server = await startTestServer(orthanc.handle.dicomWebUrl, { propagation: { maxRunning: 2, queueLimit: 8, idleTimeoutMs: 60_000, lookahead: 2, keepFinished: 64, keepFinishedMs: 600_000, seedMaskMagnitude: 8, stopRule: {}, prompt: {} } });
  });

  after(async () => {
    await server?.close();
  });

  test('one click on the largest slice propagates through the lesion, in the order of the positions, over the missing slice', async () => {
    const { first, last, largest } = stack.lesion;
    assert.ok(first < MISSING && MISSING < last && largest !== MISSING, JSON.stringify(stack.lesion));
    const seed = await click(volume, largest, regionCentre(stack.masks[largest]!, SIZE, SIZE)!);
    const res = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sopAt(volume, largest), maskId: seed.maskId } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = String(res.body['id']);
    assert.equal(res.headers.get('location'), `/v1/propagations/${id}`);
    const accepted = PropagationRecordSchema.parse(res.body);
    assert.deepEqual(accepted.slices.map((s) => s.from), ['seed']);
    assert.deepEqual(accepted.series.missing, [{ after: MISSING - 1, count: 1 }]);
    assert.equal(accepted.series.slices, 31);
    assert.equal(accepted.series.spacing, 2.5);
    assert.equal(accepted.adapterVersion, null);

    const events = await finished(id);
    assert.equal(events[0]!.event, 'state');
    assert.equal(events.at(-1)!.event, 'end');
    const end = PropagationSummarySchema.parse(events.at(-1)!.data);
    assert.equal(end.state, 'succeeded', String(end.reason));
    const streamed = events.filter((e) => e.event === 'slice').map((e) => (e.data['slice'] as { index: number }).index);
    assert.ok(events.some((e) => e.event === 'progress'));

    const got = await get(url(`/v1/propagations/${id}`));
    assert.equal(got.status, 200);
    const record = PropagationRecordSchema.parse(got.body);
    assert.deepEqual([...streamed].sort((a, b) => a - b), record.slices.map((s) => s.index), 'the stream carried every slice');
    // series order is position order: index k is stack slice k below the gap, k + 1 above it
    const zOf = (index: number) => (index < MISSING ? index : index + 1);
    for (const s of record.slices) {
      assert.equal(s.sopInstanceUID, sopAt(volume, zOf(s.index)));
      assert.equal(s.position, zOf(s.index) * 2.5);
    }
    const zs = record.slices.map((s) => zOf(s.index));
    assert.ok(zs.includes(MISSING - 1) && zs.includes(MISSING + 1), `the propagation went over the missing slice: ${zs.join(',')}`);
    for (let i = 1; i < record.slices.length; i++) assert.equal(record.slices[i]!.index, record.slices[i - 1]!.index + 1, 'contiguous');
    assert.ok(Math.abs(zs[0]! - first) <= 2 && Math.abs(zs.at(-1)! - last) <= 2, `found ${zs[0]}-${zs.at(-1)}, lesion ${first}-${last}`);
    let inter = 0;
    let sizes = 0;
    for (let z = 0; z < 32; z++) {
      if (z === MISSING) continue;
      const s = record.slices.find((x) => zOf(x.index) === z);
      const t = stack.masks[z]!;
      const tArea = t.reduce((a, b) => a + b, 0);
      const d = s ? diceOf(s.counts, t, SIZE) : tArea ? 0 : 1;
      inter += (d * ((s?.area ?? 0) + tArea)) / 2;
      sizes += (s?.area ?? 0) + tArea;
    }
    assert.ok((2 * inter) / sizes > 0.8, `3D Dice ${(2 * inter) / sizes}`);
    assert.equal(record.ended.forward?.reason, 'object-ended');
    assert.equal(record.ended.backward?.reason, 'object-ended');
    assert.equal(record.progress.remainingAtMost, 0);
    assert.ok(record.progress.done >= record.slices.length);

    // The slices were encoded through the embedding cache: a click on one of them is warm.
    const warm = await click(volume, last - 1, regionCentre(stack.masks[last - 1]!, SIZE, SIZE)!);
    assert.equal(warm.cached, true);

    const metrics = (await get(url('/metrics'))).body['text'] as string;
    assert.match(metrics, /glmedsa_propagations_total\{state="succeeded"\} [1-9]/);
    assert.match(metrics, /glmedsa_propagation_slices_total\{result="kept"\} [1-9]/);
    assert.match(metrics, /glmedsa_propagations_running 0/);
  });

  test('a seed sent as counts, one way, with a slice limit', async () => {
    const { largest } = stack.lesion;
    const counts = encodeRle(stack.masks[largest]!, SIZE, SIZE).counts;
    const res = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sopAt(volume, largest), frame: 1, mask: { counts } }, direction: 'backward', maxSlices: 2 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const end = PropagationSummarySchema.parse((await finished(String(res.body['id']))).at(-1)!.data);
    assert.equal(end.state, 'succeeded');
    assert.deepEqual(end.ended.forward, { reason: 'not-asked', last: end.seed.index });
    assert.equal(end.ended.backward?.reason, 'max-slices');
    const record = PropagationRecordSchema.parse((await get(url(`/v1/propagations/${end.id}`))).body);
    assert.deepEqual(record.slices.map((s) => s.index), [end.seed.index - 2, end.seed.index - 1, end.seed.index]);
    assert.equal(record.slices[2]!.score, null);
    assert.deepEqual(record.slices[2]!.counts, counts, 'the seed is the mask sent');
  });

  test('an enhanced multi-frame CT is ordered by its frames positions', async () => {
    const small = lesionStack(9_500_001, { site: 'A', size: 128, slices: 24 });
    const { file, frameOfSlice } = enhancedCt(small);
    await orthanc.upload(file);
    const z = small.lesion.largest;
    const counts = encodeRle(small.masks[z]!, 128, 128).counts;
    const res = await post(url('/v1/propagations'), { series: { studyInstanceUID: file.ref.studyInstanceUID, seriesInstanceUID: file.ref.seriesInstanceUID }, seed: { sopInstanceUID: file.ref.sopInstanceUID, frame: frameOfSlice(z), mask: { counts } }, maxSlices: 3 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const accepted = PropagationRecordSchema.parse(res.body);
    assert.equal(accepted.seed.index, z, 'frame n - z of the instance is slice z of the volume');
    await finished(accepted.id);
    const record = PropagationRecordSchema.parse((await get(url(`/v1/propagations/${accepted.id}`))).body);
    assert.equal(record.state, 'succeeded', String(record.reason));
    for (const s of record.slices) assert.equal(s.frame, frameOfSlice(s.index));
    assert.ok(record.slices.length > 1);
  });

  describe('refusals', () => {
    const counts = [SIZE * SIZE - 4, 4];
    const ask = (series: { studyInstanceUID: string; seriesInstanceUID: string }, sop: string, extra: Record<string, unknown> = {}) =>
      post(url('/v1/propagations'), { series, seed: { sopInstanceUID: sop, mask: { counts } }, ...extra });

    test('each kind of series that is not a volume: 422 with a sentence saying which and why', async () => {
      const study = newStudy('not volumes');
      const p = ctPhantom(new Rng(5), 64, siteProfile('A'));
      const upload = async (slices: { geometry: Parameters<typeof ctSlice>[0]['geometry']; rows?: number }[]) => {
        const series = newUid();
        const sops: string[] = [];
        for (const [k, s] of slices.entries()) {
          const rows = s.rows ?? 64;
          const f = ctSlice({ rows, cols: 64, hu: rows === 64 ? p.hu : new Int16Array(rows * 64), study, seriesInstanceUID: series, instanceNumber: k + 1, geometry: s.geometry });
          await orthanc.upload(f);
          sops.push(f.ref.sopInstanceUID);
        }
        return { series: { studyInstanceUID: study.StudyInstanceUID, seriesInstanceUID: series }, sop: sops[0]! };
      };
      const axial = (z: number) => ({ geometry: { position: [0, 0, z] as [number, number, number] } });
      const tilt = (z: number) => ({ geometry: { position: [0, 0, z] as [number, number, number], orientation: [1, 0, 0, 0, 0.966, 0.259] as const } });
      const cases: [string, Awaited<ReturnType<typeof upload>>, RegExp][] = [
        ['single-image', await upload([axial(0)]), /single image/],
        ['mixed-orientation', await upload([axial(0), axial(2), axial(4), tilt(6), tilt(8)]), /mixes slice orientations: 2 of its 5 images \(image 4 first\)/],
        ['mixed-size', await upload([axial(0), axial(2), { ...axial(4), rows: 32 }]), /mixes image sizes: 1 of its 3 images \(image 3 first\) are 64x32 pixels/],
        ['duplicate-position', await upload([axial(0), axial(2), axial(2), axial(4)]), /image [23] and image [23] lie at the same position/i],
        ['irregular-spacing', await upload([axial(0), axial(2), axial(4), axial(5.1), axial(7.1)]), /gap between image 3 and image 4 is 1.1 mm where the slices are 2 mm apart/],
      ];
      const sr = basicTextSr({ study, seriesInstanceUID: newUid() });
      await orthanc.upload(sr);
      cases.push(['no-images', { series: { studyInstanceUID: study.StudyInstanceUID, seriesInstanceUID: sr.ref.seriesInstanceUID }, sop: sr.ref.sopInstanceUID }, /no images \(it holds 1 SR object\)/]);
      const mf = multiFrame({ rows: 8, cols: 8, frames: [new Uint8Array(64), new Uint8Array(64), new Uint8Array(64)], bits: 8, study });
      await orthanc.upload(mf);
      cases.push(['missing-position', { series: { studyInstanceUID: study.StudyInstanceUID, seriesInstanceUID: mf.ref.seriesInstanceUID }, sop: mf.ref.sopInstanceUID }, /3 of its 3 frames .* have no position/]);
      for (const [reason, c, says] of cases) {
        const r = await ask(c.series, c.sop);
        assert.equal(r.status, 422, `${reason}: ${JSON.stringify(r.body)}`);
        const problem = ProblemSchema.parse(r.body);
        assert.equal(problem.type, `urn:glmedsa:problem:not-a-volume-${reason}`);
        assert.match(problem.detail, says);
        assert.match(problem.detail, /^[A-Z].*\.$/, 'a sentence');
      }
      const metrics = (await get(url('/metrics'))).body['text'] as string;
      assert.match(metrics, /glmedsa_propagations_refused_total\{reason="not_a_volume"\} 7/);
    });

    test('a seed of another series or image, or made with another window: 409', async () => {
      const { largest } = stack.lesion;
      const elsewhere = await click(other, 8, { x: 128, y: 128 });
      const notInSeries = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sopAt(other, 8), maskId: elsewhere.maskId } });
      assert.equal(notInSeries.status, 409, JSON.stringify(notInSeries.body));
      assert.match(String(notInSeries.body['detail']), /is not in series/);
      const onOther = await click(volume, largest - 1, regionCentre(stack.masks[largest - 1]!, SIZE, SIZE)!);
      const wrongImage = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sopAt(volume, largest), maskId: onOther.maskId } });
      assert.equal(wrongImage.status, 409);
      assert.match(String(wrongImage.body['detail']), /made on another image/);
      const voi = { center: 60, width: 300 };
      const windowed = await click(volume, largest, regionCentre(stack.masks[largest]!, SIZE, SIZE)!, voi);
      assert.equal((await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sopAt(volume, largest), maskId: windowed.maskId } })).status, 409);
      const same = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sopAt(volume, largest), maskId: windowed.maskId }, voi, maxSlices: 1 });
      assert.equal(same.status, 202, JSON.stringify(same.body));
      await finished(String(same.body['id']));
    });

    test('bad requests: 400 with the field, 404 for what does not exist', async () => {
      const sop = sopAt(volume, 3);
      const both = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sop, maskId: '4a3e8b36-0c5f-4f76-9d55-1c1f4c1e2a11', mask: { counts } } });
      assert.equal(both.status, 400);
      assert.match(String(both.body['detail']), /either maskId or mask/);
      const direction = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sop, mask: { counts } }, direction: 'up' });
      assert.equal(direction.status, 400);
      assert.match(String(direction.body['detail']), /direction must be one of both, forward, backward/);
      const short = await ask(ref(volume), sop, {});
      assert.equal(short.status, 202, 'a mask of the right size is accepted');
      await finished(String(short.body['id']));
      const wrongSize = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sop, mask: { counts: [100, 5] } } });
      assert.equal(wrongSize.status, 400);
      assert.match(String(wrongSize.body['detail']), /add up to 105 pixels; the series' images are 256x256/);
      const empty = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sop, mask: { counts: [SIZE * SIZE] } } });
      assert.equal(empty.status, 400);
      assert.match(String(empty.body['detail']), /the seed mask is empty/);
      const unknownSeries = await ask({ studyInstanceUID: volume.studyInstanceUID, seriesInstanceUID: '1.2.3.4.5' }, sop);
      assert.equal(unknownSeries.status, 404);
      assert.match(String(unknownSeries.body['detail']), /series 1.2.3.4.5 of study .* is not in the PACS/);
      const unknownMask = await post(url('/v1/propagations'), { series: ref(volume), seed: { sopInstanceUID: sop, maskId: '4a3e8b36-0c5f-4f76-9d55-1c1f4c1e2a11' } });
      assert.equal(unknownMask.status, 404);
      assert.equal((await get(url('/v1/propagations/4a3e8b36-0c5f-4f76-9d55-1c1f4c1e2a11'))).status, 404);
      assert.equal((await get(url('/v1/propagations/nope'))).status, 400);
      const model = await ask(ref(volume), sop, { model: 'no-such-model' });
      assert.equal(model.status, 404);
    });
  });

  describe('stopping', () => {
    const seedOnTube = (z = 20, extra: Record<string, unknown> = {}) =>
      post(url('/v1/propagations'), { series: ref(tube), seed: { sopInstanceUID: sopAt(tube, z), mask: { counts: encodeRle(tubeMask, 128, 128).counts } }, ...extra });

    test('a propagation cancelled midway ends cancelled with the slices found so far; cancelling again is a conflict', async () => {
      const res = await seedOnTube();
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const id = String(res.body['id']);
      let asked = false;
      const events = await watchEvents(url(`/v1/propagations/${id}/events`), (e) => {
        if (e.event === 'slice' && (e.data['slice'] as { from: string }).from !== 'seed' && !asked) {
          asked = true;
          void post(url(`/v1/propagations/${id}/cancel`), {}).then((r) => assert.equal(r.status, 202));
        }
      });
      const end = PropagationSummarySchema.parse(events.at(-1)!.data);
      assert.equal(end.state, 'cancelled');
      assert.equal(end.reason, 'Cancelled on request.');
      const record = PropagationRecordSchema.parse((await get(url(`/v1/propagations/${id}`))).body);
      assert.ok(record.slices.length >= 2 && record.slices.length < 40, `${record.slices.length} slices kept`);
      assert.equal(record.ended.forward?.reason, 'stopped');
      const again = await post(url(`/v1/propagations/${id}/cancel`), {});
      assert.equal(again.status, 409);
      assert.match(String(again.body['detail']), /already been cancelled/);
    });

    test('a client that closes the events stream midway stops the propagation', async () => {
      const res = await seedOnTube(5);
      const id = String(res.body['id']);
      let seen = 0;
      await watchEvents(url(`/v1/propagations/${id}/events`), (e) => (e.event === 'slice' && ++seen === 3 ? 'leave' : undefined));
      let record = PropagationRecordSchema.parse((await get(url(`/v1/propagations/${id}`))).body);
      for (let i = 0; i < 100 && !['cancelled', 'succeeded', 'failed'].includes(record.state); i++) {
        await sleep(50);
        record = PropagationRecordSchema.parse((await get(url(`/v1/propagations/${id}`))).body);
      }
      assert.equal(record.state, 'cancelled');
      assert.match(String(record.reason), /client watching it went away/);
      assert.ok(record.slices.length < 40);
    });

    test('20 propagations at once: some queued, the rest refused with Retry-After, while clicks keep their answers', async () => {
      const clicks: Promise<number>[] = [];
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, k) => {
          if (k % 4 === 0) clicks.push(post(url('/v1/segment'), { image: { ...ref(volume), sopInstanceUID: sopAt(volume, 3 + k / 4), frame: 1 }, points: [{ x: 100, y: 100, label: 1 }] }).then((r) => r.status));
          return seedOnTube(k % 40);
        }),
      );
      const accepted = responses.filter((r) => r.status === 202);
      const refused = responses.filter((r) => r.status === 503);
      assert.equal(accepted.length + refused.length, 20, responses.map((r) => r.status).join(','));
      assert.equal(accepted.length, 10, 'maxRunning 2 + queueLimit 8');
      for (const r of refused) {
        assert.ok(Number(r.headers.get('retry-after')) >= 5);
        assert.match(String(r.body['detail']), /propagations are running and \d+ are waiting/);
      }
      assert.ok(accepted.some((r) => r.body['state'] === 'queued'));
      // a click while ten propagations run and wait
      const during = await post(url('/v1/segment'), { image: { ...ref(volume), sopInstanceUID: sopAt(volume, 20), frame: 1 }, points: [{ x: 90, y: 90, label: 1 }] });
      assert.equal(during.status, 200);
      assert.deepEqual(await Promise.all(clicks), [200, 200, 200, 200, 200]);
      const metrics = (await get(url('/metrics'))).body['text'] as string;
      assert.match(metrics, /glmedsa_propagations_refused_total\{reason="busy"\} 10/);
      assert.match(metrics, /glmedsa_propagations_queued [1-8]/);
      for (const r of accepted) await post(url(`/v1/propagations/${String(r.body['id'])}/cancel`), {});
      const ends = await Promise.all(accepted.map(async (r) => PropagationSummarySchema.parse((await finished(String(r.body['id']))).at(-1)!.data)));
      assert.ok(ends.every((e) => e.state === 'cancelled' || e.state === 'succeeded'), ends.map((e) => `${e.state}: ${e.reason ?? ''}`).join('; '));
    });
  });
});
