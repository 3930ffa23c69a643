/**
 * A fine-tuning job on the site's own annotations in a real Orthanc: site-B dermoscopy phantoms
 * (the starter model knows site A) stored as RGB photographs, their ground truth stored as SEGs, half as
 * binary SEG and half as Label Map SEG, plus a SEG whose image is missing from the PACS. The job
 * is started with a PACS filter, watched through the events stream, and must improve validation
 * Dice; a filter that matches no SEG makes a job that fails with a sentence and publishes nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SITES, phantomItem, type Phantom } from '@glmedsa/models';
import type { RunningServer } from '../../src/server.js';
import { newStudy, newUid, rgbPhoto } from '../helpers/dicom-factory.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { segInstance } from '../helpers/seg-builder.js';
import { get, post } from '../helpers/server.js';
import { ADMIN, VIEWER, readEvents, startJobsServer } from './job-fixtures.js';

/** The size the folder jobs' phantoms have (job-fixtures): the starter trains quickly on it. */
const SIZE = 128;
const PATIENTS = 8;
const IMAGES = 3;
/** 2 of 8 patients validate: 6 images, as many as the folder jobs' validation set. */
const VALIDATION_FRACTION = 0.25;
const HP = { steps: 24, batch: 2, lr: 1e-3, seed: 3 };
/**
 * Validation Dice must rise by at least this much. Measured here (2-core CPU) on this data: the
 * base scores 0.344 on these 6 validation images; after the job 0.482 (+0.139), the same on every
 * run now that the images have fixed UIDs and the data set a canonical order. Before that, each
 * run stored new UIDs, Orthanc listed the SEGs in another order (it follows its hashed ids), the
 * seeded batches drew other images, and the same seed gave 0.494 to 0.535 (older starter) or 0.555,
 * 0.591, 0.735 (this starter, fixed image UIDs, SEGs still in listing order). A margin of about a
 * third of the gain says the adapter learnt site B and leaves room for other seeds and data.
 */
const MARGIN = 0.05;
const FILTER = { source: 'pacs', seriesDescription: 'GLMed-SA lesion*', segmentLabels: ['Lesion'], validationFraction: VALIDATION_FRACTION };

const pacs = useOrthanc();

/** A UID under 2.25 fixed by `name`: the images are the same data on every run of this file. */
const fixedUid = (name: string): string => `2.25.${BigInt(`0x${createHash('sha256').update(`pacs-job/${name}`).digest('hex').slice(0, 32)}`).toString()}`;

describe('a fine-tuning job on SEGs from the PACS', () => {
  let server: RunningServer;
  let dataDir: string;
  let missingSop: string;

  before(async () => {
    let index = 0;
    for (let p = 0; p < PATIENTS; p++) {
      // Fixed patient IDs: the split (a hash of seed and patient) and so the validation images are the same on every run.
      // Fixed UIDs too: the data set's order, and so the batches a seed draws, follow the UIDs.
      const study = { ...newStudy(`phantom patient ${p}`), PatientID: `PACS-JOB-${p}`, StudyInstanceUID: fixedUid(`study-${p}`) };
      const seriesInstanceUID = fixedUid(`series-${p}`);
      const images: { phantom: Phantom; ref: { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string } }[] = [];
      for (let i = 0; i < IMAGES; i++) {
        const phantom = phantomItem('dermoscopy', SITES['B']!, SIZE, 21, index++);
        const file = rgbPhoto({ width: SIZE, height: SIZE, rgb: phantom.image.data, study, seriesInstanceUID, sopInstanceUID: fixedUid(`image-${p}-${i}`), instanceNumber: i + 1, seriesDescription: 'phantom photographs' });
        await pacs.upload(file);
        images.push({ phantom, ref: file.ref });
      }
      const binary = p % 2 === 0;
      await pacs.upload(
        segInstance({
          type: binary ? 'BINARY' : 'LABELMAP',
          rows: SIZE,
          cols: SIZE,
          study,
          seriesDescription: `GLMed-SA lesion ${binary ? 'binary' : 'labelmap'}`,
          segments: [{ number: 1, label: 'Lesion' }],
          frames: images.map((s) => ({ source: s.ref, segmentNumber: binary ? 1 : undefined, pixels: s.phantom.mask })),
        }),
      );
    }
    // A SEG of another patient whose only image was never stored.
    const study = newStudy('image missing');
    missingSop = newUid();
    const phantom = phantomItem('dermoscopy', SITES['B']!, SIZE, 21, index++);
    await pacs.upload(
      segInstance({ type: 'BINARY', rows: SIZE, cols: SIZE, study, seriesDescription: 'GLMed-SA lesion binary', segments: [{ number: 1, label: 'Lesion' }], frames: [{ source: { sopInstanceUID: missingSop, seriesInstanceUID: newUid() }, segmentNumber: 1, pixels: phantom.mask }] }),
    );

    dataDir = mkdtempSync(path.join(os.tmpdir(), 'glmedsa-pacs-job-'));
    const h = pacs.handle;
    server = await startJobsServer(dataDir, { threads: 1, queueLimit: 2, checkpointEvery: 8, releaseGraceMs: 1000 }, { url: h.dicomWebUrl, timeoutMs: 10_000, ...(h.auth ? { username: h.auth.username, password: h.auth.password } : {}) });
  });

  after(async () => {
    await server?.close();
  });

  test('a malformed PACS filter or an unknown source is refused with a sentence (400), and no job is created', async () => {
    const cases: [unknown, RegExp][] = [
      [{ dataset: { source: 'pacs', studyDate: { from: '2024-01-01' } } }, /studyDate\.from must be a date as YYYYMMDD/],
      [{ dataset: { source: 'pacs', studyInstanceUIDs: ['not a uid'] } }, /must be a DICOM UID/],
      [{ dataset: { source: 'pacs', modality: 'CT' } }, /modality/],
      [{ dataset: { source: 'pacs', validationFraction: 1.5 } }, /validationFraction must be below 1/],
      [{ dataset: { source: 'xnat' } }, /source must be 'folder' or 'pacs'/],
    ];
    for (const [body, detail] of cases) {
      const r = await post(`${server.url}/v1/jobs`, { ...(body as object), hyperparameters: HP }, ADMIN);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(String(r.body['detail']), detail, JSON.stringify(r.body));
    }
    assert.deepEqual((await get(`${server.url}/v1/jobs`, ADMIN)).body['jobs'], []);
  });

  test('a job on the PACS filter trains on binary and Label Map SEGs, reports the skipped SEG, and improves validation Dice', async () => {
    const r = await post(`${server.url}/v1/jobs`, { dataset: FILTER, hyperparameters: HP }, ADMIN);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = String(r.body['id']);
    const events = await readEvents(`${server.url}/v1/jobs/${id}/events`, ADMIN);
    assert.equal(events.at(-1)!.event, 'end');
    const job = (await get(`${server.url}/v1/jobs/${id}`, ADMIN)).body as Record<string, any>;
    assert.equal(job['state'], 'succeeded', String(job['reason']));
    const steps = events.filter((e) => e.event === 'progress').map((e) => (e.data['progress'] as { step: number }).step);
    assert.equal(steps.at(-1), HP.steps);
    const { before: diceBefore, now: diceAfter, images } = job['validation'];
    console.log(`# validation Dice before ${diceBefore.toFixed(3)} after ${diceAfter.toFixed(3)} (+${(diceAfter - diceBefore).toFixed(3)}) on ${images} images`);
    assert.equal(images, 2 * IMAGES);
    assert.ok(diceAfter > diceBefore + MARGIN, `validation Dice ${diceBefore} -> ${diceAfter} is not above the base by ${MARGIN}`);

    const data = job['data'];
    assert.equal(data['source'], 'pacs');
    assert.equal(data['train'], (PATIENTS - 2) * IMAGES);
    assert.equal(data['validation'], 2 * IMAGES);
    assert.equal(data['trainPatients'], PATIENTS - 2);
    assert.equal(data['validationPatients'], 2);
    const skipped = data['skipped'] as { reason: string; message: string; image?: { sopInstanceUID: string } }[];
    assert.deepEqual(
      skipped.map((s) => s.reason),
      ['missing-image'],
      JSON.stringify(skipped),
    );
    assert.equal(skipped[0]!.image?.sopInstanceUID, missingSop);
    assert.match(skipped[0]!.message, new RegExp(missingSop.replaceAll('.', '\\.')));

    assert.equal(job['adapterVersion'], 1);
    const versions = (await get(`${server.url}/v1/models/starter/adapters`, VIEWER)).body['adapters'] as Record<string, any>[];
    assert.equal(versions.length, 1);
    assert.equal(versions[0]!['job'], id);
    assert.equal(versions[0]!['data'].source, 'pacs');
    assert.deepEqual(versions[0]!['metrics'].validation, { before: diceBefore, after: diceAfter, images: 2 * IMAGES });
    assert.ok(existsSync(path.join(dataDir, 'jobs', id, 'dataset', 'dataset.json')), 'the job keeps the data set it trained on');
  });

  test('a job on a filter that matches no SEG fails with a sentence and publishes nothing', async () => {
    const r = await post(`${server.url}/v1/jobs`, { dataset: { source: 'pacs', seriesDescription: 'no such annotations*' }, hyperparameters: HP }, ADMIN);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = String(r.body['id']);
    const events = await readEvents(`${server.url}/v1/jobs/${id}/events`, ADMIN);
    assert.equal(events.at(-1)!.event, 'end');
    const job = (await get(`${server.url}/v1/jobs/${id}`, ADMIN)).body as Record<string, any>;
    assert.equal(job['state'], 'failed');
    assert.match(String(job['reason']), /data set is empty: no SEG series in the PACS matches the filter/);
    assert.equal(job['adapterVersion'], null);
    assert.equal(job['progress'].step, 0, 'nothing was trained');
    const versions = (await get(`${server.url}/v1/models/starter/adapters`, VIEWER)).body['adapters'] as unknown[];
    assert.equal(versions.length, 1, 'no version was published');
    assert.equal(existsSync(path.join(dataDir, 'adapters', 'starter', '2')), false);
  });
});
