/**
 * Background work (warm-ups, propagations through a series) beside clicks in the inference pool,
 * with real workers: clicks go before queued background jobs, a queue full of background work
 * refuses background work only, and a model held by long work counts as in use.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Rng, dermoscopyPhantom, encodePng, siteProfile } from '@glmedsa/models';
import { Busy } from '../../src/errors.js';
import { InferencePool } from '../../src/inference/pool.js';
import type { EncodeJob } from '../../src/inference/messages.js';
import { STARTER_MODEL } from '../helpers/server.js';

const encodeJob = (seed: number): EncodeJob => ({ kind: 'encode', model: 'starter', source: { type: 'encoded', bytes: encodePng(dermoscopyPhantom(new Rng(seed), 128, siteProfile('A')).image), mediaType: 'image/png' } });

test('clicks go before queued background work, and background work alone cannot fill the queue against them', async () => {
  const pool = new InferencePool({ count: 1, threads: 1, device: 'cpu', cpuMemArena: true, models: [{ id: 'starter', dir: STARTER_MODEL }], queueLimit: 3, jobTimeoutMs: 60_000, limits: { maxImageSide: 4096, maxImagePixels: 16 * 1024 * 1024, largeImagePixels: 2048 * 2048 }, workerHeapMb: 512, log: pino({ level: 'silent' }) });
  await pool.start();
  try {
    const finished: string[] = [];
    const background = [1, 2, 3, 4].map((k) => pool.encode(encodeJob(k), 'background').then((r) => (finished.push(`background ${k}`), r)));
    // one runs, three wait: the queue is full for background work...
    await assert.rejects(pool.encode(encodeJob(9), 'background'), (err: unknown) => err instanceof Busy && /queue is full/.test(err.message));
    // ...but not for a click, which goes before the three waiting.
    const emb = await background[0]!;
    const click = pool
      .decode({ kind: 'decode', model: 'starter', embeddings: emb.embeddings, originalSize: emb.originalSize, prompts: { points: [[64, 64]], labels: [1], box: null }, maskInput: null, multimask: true })
      .then(() => finished.push('click'));
    const interactiveEncode = pool.encode(encodeJob(5), 'interactive').then(() => finished.push('interactive encode'));
    await Promise.all([...background, click, interactiveEncode]);
    assert.deepEqual(finished.slice(0, 2), ['background 1', 'background 2'], 'the background job running when the click came finishes first');
    assert.ok(finished.indexOf('click') < finished.indexOf('background 3') && finished.indexOf('interactive encode') < finished.indexOf('background 3'), finished.join(' < '));
    // A background decode waits behind clicks like any background job, and answers the same.
    const bg = await pool.decode({ kind: 'decode', model: 'starter', embeddings: emb.embeddings, originalSize: emb.originalSize, prompts: { points: [[64, 64]], labels: [1], box: null }, maskInput: null, multimask: true }, undefined, 'background');
    assert.equal(bg.masks.length, 3);
  } finally {
    await pool.close();
  }
});

test('a model held by long work is in use until released, however often released', async () => {
  const pool = new InferencePool({ count: 1, threads: 1, device: 'cpu', cpuMemArena: true, models: [{ id: 'starter', dir: STARTER_MODEL }], queueLimit: 3, jobTimeoutMs: 60_000, limits: { maxImageSide: 4096, maxImagePixels: 16 * 1024 * 1024, largeImagePixels: 2048 * 2048 }, workerHeapMb: 512, log: pino({ level: 'silent' }) });
  assert.equal(pool.hasJobsFor('starter'), false);
  const a = pool.hold('starter');
  const b = pool.hold('starter');
  assert.equal(pool.hasJobsFor('starter'), true);
  a();
  a();
  assert.equal(pool.hasJobsFor('starter'), true, 'one holder is left');
  b();
  assert.equal(pool.hasJobsFor('starter'), false);
});
