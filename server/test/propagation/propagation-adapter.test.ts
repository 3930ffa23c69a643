/**
 * A propagation runs on the adapter version served when it started and answers with it, even when
 * an admin switches versions while it runs (the version stays loaded until it ends).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeRle, lesionStack } from '@glmedsa/models';
import { PropagationRecordSchema, PropagationSummarySchema } from '../../src/api/index.js';
import { AdapterRegistry } from '../../src/catalog/adapter-registry.js';
import type { RunningServer } from '../../src/server.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { REPO_ROOT, STARTER_MODEL, get, post, startTestServer } from '../helpers/server.js';
import { type UploadedSeries, uploadVolume } from '../helpers/volume-series.js';
import { watchEvents } from './propagation-fixtures.js';

const CLI = path.join(REPO_ROOT, 'models', 'bin', 'glmedsa.js');

describe('propagations and adapter versions', () => {
  const orthanc = useOrthanc();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'glmedsa-prop-adapter-'));
  let server: RunningServer;
  let tube: UploadedSeries;
  const small = lesionStack(9_500_001, { site: 'A', size: 128, slices: 24 });
  const z = small.lesion.largest;

  before(async () => {
    // A real adapter version: two training steps of the starter on a few phantoms, published.
    const data = path.join(dataDir, 'data');
    const out = path.join(dataDir, 'trained');
    const run = (args: string[]) => {
      const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    run(['synth', '--site', 'B', '--kind', 'ct', '--n', '4', '--size', '64', '--seed', '5', '--out', data]);
    run(['train', '--base', STARTER_MODEL, '--variant', 'glmedsa', '--trainable', 'adapters', '--data', data, '--steps', '2', '--batch', '2', '--lr', '1e-3', '--threads', '1', '--device', 'cpu', '--out', out]);
    await new AdapterRegistry(path.join(dataDir, 'adapters')).publish({ model: 'starter', adapterDir: out, data: {}, validation: { before: null, after: null, images: null }, job: 'test' });
    tube = await uploadVolume(orthanc, { size: 128, hu: Array.from({ length: 40 }, () => small.hu[z]!) }, { spacing: 1 });
    // A replaced version is released as soon as nothing uses it: only the propagation's hold keeps it.
    server = await startTestServer(orthanc.handle.dicomWebUrl, { jobs: { releaseGraceMs: 0 } }, {}, dataDir);
  });

  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = () =>
    post(`${server.url}/v1/propagations`, {
      series: { studyInstanceUID: tube.studyInstanceUID, seriesInstanceUID: tube.seriesInstanceUID },
      seed: { sopInstanceUID: tube.slices.find((s) => s.z === 20)!.sopInstanceUID, mask: { counts: encodeRle(small.masks[z]!, 128, 128).counts } },
    });

  test('a propagation started on version 1 answers with version 1 and finishes on it after the base model is served again', async () => {
    const activated = await post(`${server.url}/v1/models/starter/adapters/1/activate`, {});
    assert.equal(activated.status, 200, JSON.stringify(activated.body));
    const res = await start();
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body['adapterVersion'], '1');
    const id = String(res.body['id']);
    const switched: Promise<{ status: number }>[] = [];
    const events = await watchEvents(`${server.url}/v1/propagations/${id}/events`, (e) => {
      if (e.event === 'slice' && !switched.length) switched.push(post(`${server.url}/v1/models/starter/adapters/deactivate`, {}));
    });
    assert.equal(switched.length, 1);
    assert.equal((await switched[0]!).status, 200);
    const end = PropagationSummarySchema.parse(events.at(-1)!.data);
    assert.equal(end.state, 'succeeded', String(end.reason));
    assert.equal(end.adapterVersion, '1');
    const record = PropagationRecordSchema.parse((await get(`${server.url}/v1/propagations/${id}`)).body);
    // It went on after the switch (at its first slice) and kept every slice it sent. How far along the
    // tube it goes is the stop rule's business with this barely trained version, not this test's.
    const sent = events.filter((e) => e.event === 'slice').length;
    assert.ok(sent > 2, `slices after the switch (${sent} in all; ended ${JSON.stringify(record.ended)})`);
    assert.equal(record.slices.length, sent);
    // the next one runs on the base model
    const next = await start();
    assert.equal(next.body['adapterVersion'], null);
    await watchEvents(`${server.url}/v1/propagations/${String(next.body['id'])}/events`);
  });
});
