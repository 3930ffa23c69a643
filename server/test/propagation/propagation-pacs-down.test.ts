/**
 * The PACS failing in the middle of a propagation (its Orthanc stopped): the propagation ends
 * failed with a sentence, and the slices found until then are kept and served.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeRle, lesionStack } from '@glmedsa/models';
import { PropagationRecordSchema, PropagationSummarySchema } from '../../src/api/index.js';
import type { BundledOrthanc } from '../../src/bundled-pacs/bundled-orthanc.js';
import type { RunningServer } from '../../src/server.js';
import { startTestOrthanc, stopTestOrthanc } from '../helpers/orthanc.js';
import { get, post, startTestServer } from '../helpers/server.js';
import { uploadDicom } from '../../src/bundled-pacs/bundled-orthanc.js';
import { type UploadedSeries, uploadVolume } from '../helpers/volume-series.js';
import { watchEvents } from './propagation-fixtures.js';

let orthanc: BundledOrthanc | undefined;
let server: RunningServer;
let tube: UploadedSeries;
const small = lesionStack(9_500_001, { site: 'A', size: 128, slices: 24 });
const z = small.lesion.largest;

before(async () => {
  orthanc = await startTestOrthanc();
  const handle = orthanc;
  tube = await uploadVolume({ upload: (f) => uploadDicom(handle, f instanceof Uint8Array ? f : f.bytes) }, { size: 128, hu: Array.from({ length: 60 }, () => small.hu[z]!) }, { spacing: 1 });
  server = await startTestServer(orthanc.dicomWebUrl, { pacs: { url: orthanc.dicomWebUrl, timeoutMs: 2000 } });
});

after(async () => {
  await server?.close();
  await stopTestOrthanc(orthanc);
});

test('the PACS stopping midway ends the propagation with a sentence, the slices found until then kept', async () => {
  const res = await post(`${server.url}/v1/propagations`, {
    series: { studyInstanceUID: tube.studyInstanceUID, seriesInstanceUID: tube.seriesInstanceUID },
    seed: { sopInstanceUID: tube.slices.find((s) => s.z === 30)!.sopInstanceUID, mask: { counts: encodeRle(small.masks[z]!, 128, 128).counts } },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const id = String(res.body['id']);
  let stopping: Promise<void> | null = null;
  let kept = 0;
  const events = await watchEvents(`${server.url}/v1/propagations/${id}/events`, (e) => {
    if (e.event === 'slice' && ++kept === 4) stopping = stopTestOrthanc(orthanc).then(() => void (orthanc = undefined));
  });
  await stopping;
  const end = PropagationSummarySchema.parse(events.at(-1)!.data);
  assert.equal(end.state, 'failed');
  assert.match(String(end.reason), /^The image archive \(PACS\) (cannot be reached|took too long)/);
  assert.match(String(end.reason), /The propagation stopped there; the \d+ slices found until then are kept\.$/);
  const record = PropagationRecordSchema.parse((await get(`${server.url}/v1/propagations/${id}`)).body);
  assert.ok(record.slices.length >= 4 && record.slices.length < 60, `${record.slices.length} slices kept`);
  assert.equal(record.progress.kept, record.slices.length);
  assert.match(String(end.reason), new RegExp(`the ${record.slices.length} slices found`));
  const metrics = (await get(`${server.url}/metrics`)).body['text'] as string;
  assert.match(metrics, /glmedsa_propagations_total\{state="failed"\} 1/);
});
