/**
 * A long series (2,000 slices by default; GLMEDSA_LONG_SERIES_SLICES to change) propagated from its
 * middle to both ends: every slice is decided, and the server's memory stays bounded while it runs
 * (embeddings bounded by the cache, masks kept as run lengths), measured as the process's RSS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeRle, lesionStack } from '@glmedsa/models';
import { PropagationRecordSchema, PropagationSummarySchema } from '../../src/api/index.js';
import type { RunningServer } from '../../src/server.js';
import { ctSlice, newStudy, newUid } from '../helpers/dicom-factory.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { get, post, startTestServer } from '../helpers/server.js';
import { watchEvents } from './propagation-fixtures.js';

const N = Number(process.env['GLMEDSA_LONG_SERIES_SLICES'] ?? 2000);
const CACHE_BYTES = 16 * 1024 * 1024;
let server: RunningServer;
const small = lesionStack(9_500_001, { site: 'A', size: 128, slices: 24 });
const z = small.lesion.largest;
const study = newStudy('long series');
const seriesInstanceUID = newUid();
const sops: string[] = [];

describe('a long series', () => {
  const orthanc = useOrthanc();
  before(async () => {
    const files = Array.from({ length: N }, (_, k) =>
      ctSlice({ rows: 128, cols: 128, hu: small.hu[z]!, window: { center: 40, width: 400 }, study, seriesInstanceUID, instanceNumber: k + 1, geometry: { position: [0, 0, 0.5 * k] } }),
    );
    for (const f of files) sops.push(f.ref.sopInstanceUID);
    for (let i = 0; i < files.length; i += 8) await Promise.all(files.slice(i, i + 8).map((f) => orthanc.upload(f)));
    // Every slice is the same image: this is about memory, not about where an object ends, so the
    // stop rule keeps only its emptiness test (a model's confidence may drift over 1,000 copies).
    const stopRule = { minScoreRatio: 0, minStability: 0, maxShift: 1e9, maxGrowth: 1e9, minOverlap: 0 };
    server = await startTestServer(orthanc.handle.dicomWebUrl, {
      cache: { embeddingBytes: CACHE_BYTES, maskEntries: 2000, maskTtlMs: 3_600_000, uploadBytes: 16 * 1024 * 1024 },
      pacs: { url: orthanc.handle.dicomWebUrl, timeoutMs: 60_000 },
      propagation: { stopRule },
    });
  });

  after(async () => {
    await server?.close();
  });

  test(`a ${N}-slice series is propagated end to end in bounded memory`, async (t) => {
    const seed = Math.floor(N / 2);
    const res = await post(`${server.url}/v1/propagations`, {
      series: { studyInstanceUID: study.StudyInstanceUID, seriesInstanceUID },
      seed: { sopInstanceUID: sops[seed]!, mask: { counts: encodeRle(small.masks[z]!, 128, 128).counts } },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = String(res.body['id']);
    const rss: { done: number; bytes: number }[] = [];
    let done = 0;
    const sampler = setInterval(() => rss.push({ done, bytes: process.memoryUsage().rss }), 200);
    let events: Awaited<ReturnType<typeof watchEvents>>;
    try {
      events = await watchEvents(`${server.url}/v1/propagations/${id}/events`, (e) => {
        if (e.event === 'progress') done = (e.data['progress'] as { done: number }).done;
      });
    } finally {
      clearInterval(sampler);
    }
    const end = PropagationSummarySchema.parse(events.at(-1)!.data);
    assert.equal(end.state, 'succeeded', String(end.reason));
    assert.deepEqual(end.ended, { forward: { reason: 'series-ended', last: N - 1 }, backward: { reason: 'series-ended', last: 0 } });
    assert.equal(end.progress.done, N - 1);
    const record = PropagationRecordSchema.parse((await get(`${server.url}/v1/propagations/${id}`)).body);
    assert.equal(record.slices.length, N);
    assert.deepEqual(record.slices.map((s) => s.sopInstanceUID), sops, 'slices in position order');
    // From a quarter of the way on, the embeddings of three quarters of the series pass through a
    // 16 MB cache (each slice's embedding is 128 KB: 190 MB if they were kept).
    const quarter = rss.find((r) => r.done >= N / 4)!;
    const later = Math.max(...rss.filter((r) => r.done >= N / 4).map((r) => r.bytes));
    const growth = (later - quarter.bytes) / 2 ** 20;
    t.diagnostic(`RSS at ${quarter.done} slices ${(quarter.bytes / 2 ** 20).toFixed(0)} MB, highest after ${(later / 2 ** 20).toFixed(0)} MB (+${growth.toFixed(0)} MB over ${N - quarter.done} slices)`);
    assert.ok(growth < 64, `RSS grew by ${growth.toFixed(0)} MB while ${N - quarter.done} slices were propagated`);
  });
});
