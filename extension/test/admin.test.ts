/**
 * The fine-tuning panel's logic outside the browser: its form against the API module's schema,
 * its events-stream parser, and its controller and client against the real server (authentication
 * on, an admin key and a viewer key, a PACS that is down so that a job fails fast with a sentence),
 * and the notice about the job an admin started, which must say what the job does now.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobRecord } from '@glmedsa/server/api';
import type { RunningServer } from '@glmedsa/server/dist/src/server.js';
import { ADMIN_KEY, VIEWER_KEY, startJobsServer } from '@glmedsa/server/dist/test/jobs/job-fixtures.js';
import { AdminClient, parseEvent } from '../src/admin/admin-client.js';
import { AdminController } from '../src/admin/admin-controller.js';
import { DEFAULT_FORM, jobRequest } from '../src/admin/job-form.js';
import { jobNotice } from '../src/admin/job-notice.js';
import { ServerError } from '../src/client.js';

test('the default form makes a valid PACS job request with the server defaults', () => {
  const r = jobRequest(DEFAULT_FORM);
  assert.deepEqual(r.problems, null);
  assert.deepEqual(r.body, { dataset: { source: 'pacs' }, hyperparameters: { steps: 300, lr: 1e-4 } });
});

test('the form sends filters as the server reads them (dates as YYYYMMDD, labels as a list)', () => {
  const r = jobRequest({ ...DEFAULT_FORM, seriesDescription: ' GLMed-SA* ', segmentLabels: 'Lesion, Liver ,', studyDateFrom: '2024-01-31', studyDateTo: '20241231', steps: '40', lr: '3e-4' });
  assert.deepEqual(r.body, {
    dataset: { source: 'pacs', seriesDescription: 'GLMed-SA*', segmentLabels: ['Lesion', 'Liver'], studyDate: { from: '20240131', to: '20241231' } },
    hyperparameters: { steps: 40, lr: 3e-4 },
  });
});

test('bad fields give one sentence each, naming the field', () => {
  const r = jobRequest({ ...DEFAULT_FORM, steps: 'many', lr: '1', studyDateFrom: '20240301', studyDateTo: '20240201', seriesDescription: 'a\\b' });
  assert.equal(r.body, null);
  assert.deepEqual(r.problems, [
    'studyDate: from must not be after to',
    'seriesDescription must not hold backslashes or control characters',
    'steps must be a whole number',
    'lr above 0.1 diverges; fine-tuning uses about 1e-4 to 1e-3',
  ]);
});

/** A job two steps into its training, as the server records it. */
const RUNNING: JobRecord = {
  id: '0f8fad5b-d9cb-469f-a165-70867728950e', model: 'starter', variant: 'glmedsa', dataset: { source: 'pacs' },
  hyperparameters: { steps: 4, batch: 4, lr: 0.0001, clicks: 1, seed: 0 }, state: 'running', phase: 'training',
  progress: { step: 2, steps: 4, loss: 0.5, etaSeconds: 3, imagesPerSecond: 1.5 }, validation: { before: 0.4, now: 0.4, images: 2 },
  data: null, adapterVersion: null, reason: null, resumes: 0, pid: 123, createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:01.000Z', finishedAt: null, requestedBy: 'admin',
};

test('the events parser reads event and data lines, CRLF, comments and split data; other payloads are not job events', () => {
  const record = RUNNING;
  const json = JSON.stringify(record, null, 1);
  const lines = json.split('\n');
  const progress = parseEvent(`: comment\r\nevent: progress\r\n${lines.map((l) => `data: ${l}`).join('\r\n')}`);
  assert.equal(progress?.type, 'progress');
  assert.deepEqual(progress?.job, record, 'data lines are joined with newlines into one JSON document');
  assert.equal(parseEvent(`event:end\ndata:${JSON.stringify({ ...record, state: 'succeeded' })}`)?.job.state, 'succeeded', 'no space after the colon');
  const job = { id: 'x' };
  assert.equal(parseEvent(': keep-alive'), null);
  assert.equal(parseEvent(`event: state\ndata: ${JSON.stringify(job)}`), null, 'a payload that is not a job record');
  assert.equal(parseEvent('event: state\ndata: {not json'), null);
});

test('the notice about a started job says what the job does now, in a sentence', () => {
  const at = (patch: Partial<JobRecord>) => jobNotice({ ...RUNNING, ...patch });
  assert.equal(at({ state: 'queued', phase: 'waiting' }), 'Job 0f8fad5b is queued: it starts when the server has finished the jobs before it.');
  assert.equal(at({ phase: 'validating-base' }), "Job 0f8fad5b is running: measuring the base model's validation Dice.");
  assert.equal(at({}), 'Job 0f8fad5b is running: step 2 of 4, about 3 s left.');
  assert.equal(at({ progress: { ...RUNNING.progress, step: 0, etaSeconds: null } }), 'Job 0f8fad5b is running: step 0 of 4.', 'no estimate yet');
  assert.equal(at({ phase: 'publishing' }), 'Job 0f8fad5b is running: publishing the new adapter version.');
  assert.equal(
    at({ state: 'succeeded', phase: 'done', adapterVersion: 3, validation: { before: 0.411, now: 0.5974, images: 2 } }),
    'Job 0f8fad5b succeeded and published version 3 (validation Dice 0.411 -> 0.597); activate it below to serve it.',
  );
  assert.equal(at({ state: 'failed', phase: 'done', reason: 'the PACS is unreachable' }), 'Job 0f8fad5b failed: the PACS is unreachable.');
  assert.equal(at({ state: 'failed', phase: 'done', reason: null }), 'Job 0f8fad5b failed.');
  assert.equal(at({ state: 'cancelled', phase: 'done', reason: 'cancelled while running' }), 'Job 0f8fad5b was cancelled while running. No version was published.');
  assert.equal(at({ state: 'cancelled', phase: 'done', reason: 'the server stopped' }), 'Job 0f8fad5b was cancelled: the server stopped. No version was published.');
  // None of them is the sentence of the moment it was started.
  for (const state of ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const) assert.doesNotMatch(at({ state }), /was started|at first/);
});

describe('the panel against the real server', () => {
  let server: RunningServer;
  const client = (key: string) => new AdminClient({ baseUrl: server.url, authorization: () => `ApiKey ${key}` });
  const settled = (c: AdminController, ok: (s: ReturnType<AdminController['get']>) => boolean, ms = 120_000) =>
    new Promise<ReturnType<AdminController['get']>>((resolve, reject) => {
      if (ok(c.get())) return resolve(c.get());
      const timer = setTimeout(() => reject(new Error(`timed out: ${JSON.stringify(c.get())}`)), ms);
      const off = c.subscribe((s) => {
        if (!ok(s)) return;
        clearTimeout(timer);
        off();
        resolve(s);
      });
    });

  // A data folder of its own: the job store and the registry start empty.
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'glmedsa-admin-panel-'));

  before(async () => {
    server = await startJobsServer(dataDir, { threads: 1, queueLimit: 2 });
  });
  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a viewer learns its role and the version in use; job calls are refused with a sentence', async () => {
    const c = new AdminController(client(VIEWER_KEY), () => null);
    await c.refresh();
    const s = c.get();
    assert.equal(s.role, 'viewer');
    assert.equal(s.model, 'starter');
    assert.equal(s.modelName, 'glmedsa-starter', "the server's display name, as the main panel shows it");
    assert.equal(s.active, null);
    assert.equal(s.error, null);
    assert.deepEqual(s.jobs, [], 'a viewer is not shown jobs');
    await assert.rejects(client(VIEWER_KEY).jobs(), (err: unknown) => err instanceof ServerError && err.kind === 'unauthorised' && /needs the admin role/.test(err.message));
  });

  test("the model is called by the server's display name, also when the viewer's configuration names its id", async () => {
    const { models } = await client(VIEWER_KEY).models();
    const starter = models.find((m) => m.id === 'starter')!;
    assert.notEqual(starter.name, starter.id, 'the starter has a display name of its own');
    const c = new AdminController(client(VIEWER_KEY), () => 'starter');
    await c.refresh();
    assert.equal(c.get().model, 'starter', 'the API paths take the id');
    assert.equal(c.get().modelName, starter.name);
    // A configured model the server does not serve is a sentence naming it; no name is made up for it.
    const stale = new AdminController(client(VIEWER_KEY), () => 'no-such-model');
    await stale.refresh();
    assert.equal(stale.get().modelName, null);
    assert.match(stale.get().error ?? '', /no-such-model/);
  });

  test('the panel follows the model the main panel picks, at its next refresh', async () => {
    let picked: string | null = 'starter';
    const c = new AdminController(client(VIEWER_KEY), () => picked);
    await c.refresh();
    assert.equal(c.get().model, 'starter');
    // Another pick (here one the server does not serve, as this server has one model): the panel asks about it.
    picked = 'another-model';
    await c.refresh();
    assert.match(c.get().error ?? '', /another-model/);
  });

  test('a wrong key is a sentence in the state, not an exception', async () => {
    const c = new AdminController(client('not-a-key'), () => null);
    await c.refresh();
    assert.equal(c.get().role, null);
    assert.match(c.get().error ?? '', /not authorised/);
  });

  test("the server's refusal of a job comes back as its sentence", async () => {
    await assert.rejects(client(ADMIN_KEY).submit({ model: 'no-such-model', dataset: { source: 'pacs' } }), (err: unknown) => err instanceof ServerError && err.status === 400 && /there is no model 'no-such-model'/.test(err.message));
  });

  test('an admin starts a job; the controller follows its events stream to the end and shows why it failed', async () => {
    const c = new AdminController(client(ADMIN_KEY), () => null);
    await c.refresh();
    assert.equal(c.get().role, 'admin');
    const notices: string[] = [];
    const off = c.subscribe((st) => st.notice && notices.at(-1) !== st.notice && notices.push(st.notice));
    const job = await c.submit({ ...DEFAULT_FORM, seriesDescription: 'anything*', steps: '4' });
    assert.ok(job, JSON.stringify(c.get()));
    assert.equal(c.get().noticeJob, job.id);
    const s = await settled(c, (st) => st.jobs.some((j) => j.id === job.id && j.state === 'failed'));
    off();
    const failed = s.jobs.find((j) => j.id === job.id)!;
    assert.match(failed.reason ?? '', /PACS/i, failed.reason ?? '');
    assert.equal(s.following[job.id], undefined, 'a finished job is no longer followed');
    // The notice followed the job to its end: it now says it failed and why, not that it was started.
    assert.equal(s.notice, `Job ${job.id.slice(0, 8)} failed: ${failed.reason}${/[.!?]$/.test(failed.reason!) ? '' : '.'}`);
    assert.ok(notices.length >= 1 && notices.every((n) => n.startsWith(`Job ${job.id.slice(0, 8)} `) && !/was started|at first/.test(n)), notices.join(' | '));
    // A fresh controller lists the finished job and follows nothing.
    const again = new AdminController(client(ADMIN_KEY), () => null);
    await again.refresh();
    assert.deepEqual(again.get().jobs.map((j) => [j.id, j.state]), [[job.id, 'failed']]);
    assert.deepEqual(again.get().following, {});
    // Cancelling a finished job is refused with the server's sentence.
    await again.cancel(job.id);
    assert.match(again.get().error ?? '', /has already been failed/);
    c.stop();
    again.stop();
  });

  test('activating a version that does not exist is a sentence; nothing changes', async () => {
    const c = new AdminController(client(ADMIN_KEY), () => null);
    await c.refresh();
    await c.activate(7);
    assert.match(c.get().error ?? '', /has no adapter version 7/);
    assert.equal(c.get().active, null);
    assert.equal(c.get().switching, null);
  });
});
