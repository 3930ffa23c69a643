/**
 * The jobs part of the API module: the variants it accepts are the models package's, and the
 * complete PACS job request (what the admin panel checks its form with) refuses what the server
 * refuses, with the same sentences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VARIANTS } from '@glmedsa/models';
import { DEFAULT_HYPERPARAMETERS, JobRequestSchema, ModelVariantSchema, PacsJobRequestSchema, fieldProblems, sentence } from '../../src/api/index.js';

test('the API module accepts exactly the variants the models package knows', () => {
  assert.deepEqual([...ModelVariantSchema.options], [...VARIANTS]);
});

test('a PACS job request with a filter and hyperparameters is accepted, with the defaults filled in', () => {
  const r = PacsJobRequestSchema.parse({ dataset: { source: 'pacs', seriesDescription: 'GLMed-SA*', segmentLabels: ['Lesion'], studyDate: { from: '20240101' } }, hyperparameters: { steps: 20, lr: 1e-3 } });
  assert.equal(r.variant, 'glmedsa');
  assert.deepEqual(r.hyperparameters, { steps: 20, lr: 1e-3 });
  assert.equal(DEFAULT_HYPERPARAMETERS.batch, 4);
  // The generic request takes the same body (the server's dataset source checks the filter).
  assert.equal(JobRequestSchema.safeParse(r).success, true);
});

test('absurd hyperparameters and a malformed filter are refused, each with a sentence naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [{ dataset: { source: 'pacs' }, hyperparameters: { steps: 0 } }, /steps must be at least 1/],
    [{ dataset: { source: 'pacs' }, hyperparameters: { steps: 200_000 } }, /steps above 100000 are refused/],
    [{ dataset: { source: 'pacs' }, hyperparameters: { steps: 10, lr: 5 } }, /lr above 0\.1 diverges/],
    [{ dataset: { source: 'pacs', studyDate: { from: '2024-01-01' } } }, /must be a date as YYYYMMDD/],
    [{ dataset: { source: 'pacs', studyDate: { from: '20240230' } } }, /is not a calendar date/],
    [{ dataset: { source: 'pacs', studyDate: { from: '20240301', to: '20240201' } } }, /from must not be after to/],
    [{ dataset: { source: 'pacs', validationFraction: 1 } }, /validationFraction must be below 1/],
    [{ dataset: { source: 'pacs', modality: 'CT' } }, /modality/],
    [{ dataset: { source: 'folder', folder: 'x' } }, /source/],
  ];
  for (const [body, expected] of cases) {
    const r = PacsJobRequestSchema.safeParse(body);
    assert.equal(r.success, false, JSON.stringify(body));
    assert.match(fieldProblems(r.error!.issues).map(sentence).join('; '), expected, JSON.stringify(body));
  }
});
