/**
 * What a starting server does with jobs a previous one left "running": resumed (queued again)
 * while resumes remain, failed with a sentence when they do not or when the model is gone.
 * Real SQLite store and real runner; no job actually runs (no queued job reaches a child here
 * because the dataset folder does not exist, which fails it with a reason).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openModelFolder } from '@glmedsa/models';
import pino from 'pino';
import { AdapterRegistry } from '../../src/catalog/adapter-registry.js';
import { FolderDatasetProvider } from '../../src/jobs/dataset-provider.js';
import { JobRunner } from '../../src/jobs/job-runner.js';
import type { JobRecord } from '../../src/api/jobs.js';
import { SqliteJobStore } from '../../src/jobs/sqlite-job-store.js';
import { ModelCatalog } from '../../src/catalog/model-catalog.js';
import { STARTER_MODEL } from '../helpers/server.js';
import { waitFor } from './job-fixtures.js';

const record = (id: string, model: string, resumes: number): JobRecord => ({
  id,
  model,
  variant: 'glmedsa',
  dataset: { folder: 'gone' },
  hyperparameters: { steps: 10, batch: 2, lr: 1e-3, clicks: 1, seed: 0 },
  state: 'running',
  phase: 'training',
  progress: { step: 4, steps: 10, loss: 1, etaSeconds: 3, imagesPerSecond: 1 },
  validation: { before: 0.4, now: 0.4, images: 6 },
  data: null,
  adapterVersion: null,
  reason: null,
  resumes,
  pid: 2 ** 22 + 12345,
  createdAt: new Date(Date.now() + resumes).toISOString(),
  startedAt: new Date().toISOString(),
  finishedAt: null,
  requestedBy: 'test',
});

test('jobs left running are resumed while resumes remain, otherwise failed with the reason; none stays running', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'glmedsa-recovery-'));
  const file = path.join(dir, 'jobs.sqlite');
  const seed = new SqliteJobStore(file);
  seed.insert(record('00000000-0000-0000-0000-000000000001', 'starter', 0));
  seed.insert(record('00000000-0000-0000-0000-000000000002', 'starter', 3));
  seed.insert(record('00000000-0000-0000-0000-000000000003', 'retired-model', 0));
  seed.close();

  const store = new SqliteJobStore(file);
  const manifest = (await openModelFolder(STARTER_MODEL)).manifest;
  const runner = new JobRunner({
    store,
    datasets: new FolderDatasetProvider(path.join(dir, 'datasets')),
    registry: new AdapterRegistry(path.join(dir, 'adapters')),
    catalog: new ModelCatalog([{ id: 'starter', dir: STARTER_MODEL, manifest, runtimeId: 'starter', adapterVersion: null }]),
    root: path.join(dir, 'jobs'),
    device: 'cpu',
    threads: 1,
    queueLimit: 4,
    checkpointEvery: 5,
    maxResumes: 3,
    log: pino({ level: 'silent' }),
  });
  await runner.recover();
  const tooMany = store.get('00000000-0000-0000-0000-000000000002')!;
  assert.equal(tooMany.state, 'failed');
  assert.match(tooMany.reason!, /stopped 4 times/);
  const gone = store.get('00000000-0000-0000-0000-000000000003')!;
  assert.equal(gone.state, 'failed');
  assert.match(gone.reason!, /no longer served/);
  // The resumable one was queued again (resumes 1) and then ran: its data folder is missing, so it fails with that sentence.
  const resumed = await waitFor('the resumed job to end', async () => {
    const j = store.get('00000000-0000-0000-0000-000000000001')!;
    return j.state === 'running' || j.state === 'queued' ? undefined : j;
  });
  assert.equal(resumed.resumes, 1);
  assert.equal(resumed.state, 'failed');
  assert.match(resumed.reason!, /no training data/);
  assert.equal(store.inState('running').length, 0);
  await runner.close();
  store.close();
});
