/**
 * The inference pool's lifecycle with real worker threads and real onnxruntime sessions: a job
 * that overruns is stopped by terminating its worker, which is replaced by a warm one; a job whose
 * caller gave up while queued never runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Rng, dermoscopyPhantom, encodePng, siteProfile } from '@glmedsa/models';
import { Busy } from '../../src/errors.js';
import { Cancelled, InferencePool } from '../../src/inference/pool.js';
import type { EncodeJob } from '../../src/inference/messages.js';
import { noisePng } from '../helpers/noise-png.js';
import { STARTER_MODEL } from '../helpers/server.js';

const LIMITS = { maxImageSide: 16_384, maxImagePixels: 64 * 1024 * 1024, largeImagePixels: 2048 * 2048 };

function pool(count: number, jobTimeoutMs: number, cpuMemArena = true): InferencePool {
  return new InferencePool({
    count,
    threads: 1,
    device: 'cpu',
    cpuMemArena,
    models: [{ id: 'starter', dir: STARTER_MODEL }],
    queueLimit: 8,
    jobTimeoutMs,
    limits: LIMITS,
    workerHeapMb: 1024,
    log: pino({ level: 'silent' }),
  });
}


const encodeJob = (bytes: Uint8Array): EncodeJob => ({ kind: 'encode', model: 'starter', source: { type: 'encoded', bytes, mediaType: 'image/png' } });
const small = () => encodeJob(encodePng(dermoscopyPhantom(new Rng(1), 64, siteProfile('A')).image));

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`gave up waiting: ${what}`);
}

test('a job that overruns has its worker terminated and replaced by a warm one', async () => {
  const p = pool(1, 200);
  await p.start();
  try {
    const [before] = p.workerThreadIds;
    // 4096 x 4096 of noise (48 MB of incompressible pixels to inflate and resize): far past 200 ms on
    // any CPU (a 2048 x 2048 one once finished within it on a quiet machine).
    await assert.rejects(p.encode(encodeJob(noisePng(4096, 7)), 'interactive'), (err: unknown) => {
      assert.ok(err instanceof Busy);
      assert.match(err.message, /the model took longer than 200 ms; try again later/);
      return true;
    });
    assert.equal(p.terminatedWorkers, 1);
    // The old thread is gone (its slot leaves the pool only when the thread has exited) ...
    await until('the timed-out worker to exit', () => !p.workerThreadIds.includes(before!));
    // ... and its replacement takes work only once its sessions are loaded and warm.
    await until('the replacement to be ready', () => p.readyWorkers === 1);
    // (Ready means its sessions are loaded and a warm-up decode ran; no job is sent to it here, as
    // this pool's 200 ms limit would also apply to that job.)
    assert.notEqual(p.workerThreadIds[0], before);
  } finally {
    await p.close();
  }
});

test('a job whose caller gave up while it was queued never runs; one already running finishes', async () => {
  const p = pool(1, 60_000);
  await p.start();
  try {
    const running = p.encode(small(), 'interactive');
    const gone = new AbortController();
    const queued = p.encode(small(), 'interactive', gone.signal);
    assert.equal(p.queueDepth, 1);
    gone.abort();
    await assert.rejects(queued, (err: unknown) => err instanceof Cancelled);
    assert.equal(p.queueDepth, 0);
    assert.equal((await running).originalSize.join('x'), '64x64');
  } finally {
    await p.close();
  }
});

test('with two workers, encodes leave one worker for clicks', async () => {
  const p = pool(2, 60_000);
  await p.start();
  try {
    const first = p.encode(encodeJob(noisePng(1024, 1)), 'interactive');
    const second = p.encode(encodeJob(noisePng(1024, 2)), 'interactive');
    assert.equal(p.busyWorkers, 1, 'one encode computing');
    assert.equal(p.queueDepth, 1, 'the other waits although a worker is free');
    await Promise.all([first, second]);
  } finally {
    await p.close();
  }
});

test('a job that overruns inside an onnxruntime call is terminated once the call returns, without taking the process down', async () => {
  // A decoded 256 x 256 image goes almost straight to the encoder (a starter encode takes tens of
  // ms), so a 10 ms limit lands inside the onnxruntime run most times; terminating there
  // unguarded aborts the whole process (this file then fails with SIGABRT).
  const p = pool(1, 10);
  await p.start();
  try {
    const image = { width: 256, height: 256, data: new Uint8Array(256 * 256 * 3).fill(100) };
    let overran = 0;
    for (let i = 0; i < 5; i++) {
      await until('a ready worker', () => p.readyWorkers === 1);
      const r = await p.encode({ kind: 'encode', model: 'starter', source: { type: 'rgb', image } }, 'interactive').then(
        () => 'done',
        (err: unknown) => (err instanceof Busy ? 'overran' : String(err)),
      );
      assert.ok(r === 'done' || r === 'overran', r);
      if (r === 'overran') overran++;
      assert.equal(p.terminatedWorkers, overran);
    }
    assert.ok(overran >= 1, 'at least one of five encodes ran past 10 ms');
    await until('the last replacement', () => p.readyWorkers === 1 && p.workerThreadIds.length === 1);
  } finally {
    await p.close();
  }
});

test('each worker reports its own V8 memory, which grows with what that worker holds', async () => {
  const p = pool(2, 60_000, false);
  await p.start();
  try {
    const before = await p.memory();
    assert.deepEqual(before.map((m) => m.threadId).sort(), [...p.workerThreadIds].sort());
    for (const m of before) {
      assert.equal(m.fresh, true);
      assert.ok(m.heapUsed > 1 << 20, `a worker with loaded sessions uses more than 1 MB of heap (got ${m.heapUsed})`);
      assert.ok(m.arrayBuffers >= 0 && m.external >= m.arrayBuffers);
    }
    // An encode with the arena off still gives a result; the embedding leaves the worker (transferred).
    const r = await p.encode(small(), 'interactive');
    assert.ok(r.embeddings.length > 0);
    const after = await p.memory();
    assert.equal(after.length, 2);
  } finally {
    await p.close();
  }
});
