/**
 * Fine-tuning jobs and the adapter registry on the real server: jobs train the starter model on
 * site-B phantoms in real child processes; versions are published, activated while clicks run,
 * rolled back and refused.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readPng, regionCentre } from '@glmedsa/models';
import { AdapterListResponseSchema, JobEventSchema, JobListResponseSchema, JobRecordSchema } from '../../src/api/index.js';
import type { RunningServer } from '../../src/server.js';
import { get, post } from '../helpers/server.js';
import { ADMIN, VIEWER, dataDirWithSiteB, readEvents, startJobsServer, waitFor } from './job-fixtures.js';

const HP = { steps: 24, batch: 2, lr: 1e-3, seed: 3 };

describe('fine-tuning jobs and adapter versions', () => {
  let server: RunningServer;
  let dataDir: string;
  let imageId: string;
  /** A second validation image, uploaded but never segmented. */
  let otherImageId: string;
  let click: { x: number; y: number };
  let published: Record<string, any>;

  const segment = async () => {
    const r = await post(`${server.url}/v1/segment`, { image: { imageId }, points: [{ ...click, label: 1 }], multimask: false }, VIEWER);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { maskId: string; maskDropped?: string; masks: { counts: number[]; area: number }[]; best: number };
  };
  /** The same click sent with an earlier answer's maskId (a refinement). */
  const refine = (maskId: string, image = imageId) =>
    post(`${server.url}/v1/segment`, { image: { imageId: image }, points: [{ ...click, label: 1 }], multimask: false, maskId }, VIEWER);
  const maskOf = (r: { masks: { counts: number[] }[]; best: number }) => JSON.stringify(r.masks[r.best]!.counts);

  before(async () => {
    dataDir = dataDirWithSiteB();
    server = await startJobsServer(dataDir, { threads: 1, queueLimit: 1, checkpointEvery: 4, releaseGraceMs: 1000 });
    const validation = path.join(dataDir, 'datasets', 'site-b', 'validation');
    const items = (JSON.parse(await fs.readFile(path.join(validation, 'manifest.json'), 'utf8')) as { items: { image: string; mask: string }[] }).items;
    const upload = async (file: string) => {
      const png = await fs.readFile(path.join(validation, file));
      const up = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png', ...VIEWER }, body: png });
      return ((await up.json()) as { imageId: string }).imageId;
    };
    const item = items[0]!;
    imageId = await upload(item.image);
    otherImageId = await upload(items[1]!.image);
    const mask = await readPng(path.join(validation, item.mask));
    const bin = new Uint8Array(mask.width * mask.height).map((_, i) => (mask.data[i * 3]! > 0 ? 1 : 0));
    click = regionCentre(bin, mask.width, mask.height)!;
  });

  after(async () => {
    await server?.close();
  });

  test('a viewer may not start or list jobs, nor activate versions (403)', async () => {
    const r = await post(`${server.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: HP }, VIEWER);
    assert.equal(r.status, 403);
    assert.match(String(r.body['detail']), /admin/);
    assert.equal((await get(`${server.url}/v1/jobs`, VIEWER)).status, 403);
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/1/activate`, {}, VIEWER)).status, 403);
    assert.equal((await get(`${server.url}/v1/jobs`)).status, 401);
  });

  test('absurd hyperparameters and bad filters are refused with a sentence (400), and no job is created', async () => {
    const cases: [unknown, RegExp][] = [
      [{ dataset: { folder: 'site-b' }, hyperparameters: { steps: 1e9 } }, /steps above 100000/],
      [{ dataset: { folder: 'site-b' }, hyperparameters: { steps: 10, lr: 5 } }, /lr above 0\.1/],
      [{ dataset: { folder: 'site-b' }, hyperparameters: { steps: 10, batch: 0 } }, /batch must be at least 1/],
      [{ dataset: { folder: 'site-b' }, hyperparameters: { steps: 2.5 } }, /whole number/],
      [{ dataset: { folder: 'site-b' }, hyperparameters: { steps: 10, clicks: 500 } }, /clicks above 20/],
      [{ dataset: { folder: 'site-b' }, hyperparameters: { steps: 10, momentum: 0.9 } }, /momentum/],
      [{ dataset: { folder: 'site-b' }, hyperparameters: { steps: 300, validateEvery: 1 } }, /validateEvery 1 would validate 300 times in 300 steps; at most 20 validations/],
      [{ dataset: { folder: 'site-b' }, hyperparameters: { steps: 10, validateEvery: 0 } }, /validateEvery must be at least 1/],
      [{ dataset: { folder: 'site-b' }, variant: 'bigger' }, /variant must be one of/],
      [{ dataset: { folder: '../etc' } }, /dataset name/],
      [{ dataset: { folder: 'no-such-site' } }, /no training data/],
      [{ dataset: 'everything' }, /dataset must be an object/],
      [{ dataset: { folder: 'site-b' }, model: 'vit-z' }, /no model 'vit-z'/],
    ];
    for (const [body, detail] of cases) {
      const r = await post(`${server.url}/v1/jobs`, body, ADMIN);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(String(r.body['detail']), detail, JSON.stringify(r.body));
    }
    const list = await get(`${server.url}/v1/jobs`, ADMIN);
    assert.deepEqual(list.body['jobs'], []);
  });

  test('a job runs in a child process, streams its progress, and publishes version 1 with validation Dice before and after', async () => {
    const r = await post(`${server.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: HP }, ADMIN);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = String(r.body['id']);
    assert.equal(r.headers.get('location'), `/v1/jobs/${id}`);
    const events = await readEvents(`${server.url}/v1/jobs/${id}/events`, ADMIN);
    const progress = events.filter((e) => e.event === 'progress').map((e) => (e.data['progress'] as { step: number }).step);
    assert.ok(progress.length >= HP.steps / 2, `progress events: ${progress.join(',')}`);
    assert.equal(progress.at(-1), HP.steps);
    assert.ok(progress.every((s, i) => i === 0 || s >= progress[i - 1]!), 'steps only go forward');
    assert.equal(events.at(-1)!.event, 'end');
    // The answers are what the API module (and so the admin panel) says they are.
    for (const e of events) JobEventSchema.parse({ type: e.event, job: e.data });
    const job = (await get(`${server.url}/v1/jobs/${id}`, ADMIN)).body as Record<string, any>;
    JobRecordSchema.parse(job);
    assert.deepEqual(JobListResponseSchema.parse((await get(`${server.url}/v1/jobs`, ADMIN)).body).jobs.map((j) => j.id), [id]);
    assert.equal(job['state'], 'succeeded', String(job['reason']));
    assert.equal(job['adapterVersion'], 1);
    const { before: diceBefore, now: diceNow, images } = job['validation'];
    assert.equal(images, 6);
    assert.ok(diceBefore >= 0 && diceBefore <= 1 && diceNow >= 0 && diceNow <= 1, JSON.stringify(job['validation']));
    assert.notEqual(diceNow, diceBefore, 'the adapter changes the validation result');
    const list = await get(`${server.url}/v1/models/starter/adapters`, VIEWER);
    assert.equal(list.status, 200);
    assert.equal(AdapterListResponseSchema.parse(list.body).active, null);
    const versions = list.body['adapters'] as Record<string, any>[];
    assert.equal(versions.length, 1);
    published = versions[0]!;
    assert.equal(published['version'], 1);
    assert.equal(published['job'], id);
    assert.equal(published['active'], false);
    assert.equal(published['compatible'], true);
    assert.deepEqual(published['metrics'].validation, { before: diceBefore, after: diceNow, images: 6 });

    // Validation along the way: by default after every quarter of the steps (6, 12, 18, 24).
    assert.equal(job['hyperparameters'].validateEvery, HP.steps / 4);
    const validatedSteps = [0, 6, 12, 18, 24];
    assert.deepEqual(job['validation'].history.map((h: { step: number }) => h.step), validatedSteps);
    assert.equal(job['validation'].step, HP.steps);
    assert.equal(job['validation'].history[0].dice, diceBefore);
    const during = events
      .filter((e) => e.event === 'progress')
      .map((e) => e.data as Record<string, any>)
      .filter((j) => j['validation'].step === j['progress'].step && j['progress'].step > 0);
    assert.deepEqual(during.map((j) => j['progress'].step), validatedSteps.slice(1), 'the progress events of the validated steps carry their Dice');
    for (const j of during) {
      const { now, before: b } = j['validation'];
      assert.ok(now >= 0 && now <= 1, JSON.stringify(j['validation']));
      assert.equal(b, diceBefore, 'the before figure stays');
    }
    assert.ok(new Set(during.map((j) => j['validation'].now)).size > 1, `the Dice moves during training: ${during.map((j) => j['validation'].now).join(', ')}`);
    // The training process's last validation (in memory, after the last step) is the published after-figure
    // (measured again by a separate process from the adapter as written).
    assert.equal(during.at(-1)!['validation'].now, published['metrics'].validation.after);
    assert.equal(published['variant'], 'glmedsa');
    assert.equal(published['data'].train, 16);
    const dir = path.join(dataDir, 'adapters', 'starter', '1');
    assert.ok(existsSync(path.join(dir, 'adapter.safetensors')) && existsSync(path.join(dir, 'adapter.json')) && existsSync(path.join(dir, 'version.json')));
  });

  test('activating the version while clicks run fails none of them, and the same click then gives another mask; deactivating gives the base mask back', async () => {
    const base = await segment();
    let running = true;
    let done = 0;
    const failures: string[] = [];
    const clicker = async () => {
      while (running) {
        const r = await post(`${server.url}/v1/segment`, { image: { imageId }, points: [{ ...click, label: 1 }] }, VIEWER);
        if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
        done++;
      }
    };
    const baseName = ((await get(`${server.url}/v1/models`, VIEWER)).body['models'] as Record<string, unknown>[]).find((m) => m['id'] === 'starter')!['name'];
    const clickers = [clicker(), clicker()];
    const act = await post(`${server.url}/v1/models/starter/adapters/1/activate`, {}, ADMIN);
    running = false;
    await Promise.all(clickers);
    assert.equal(act.status, 200, JSON.stringify(act.body));
    assert.equal(act.body['active'], 1);
    assert.deepEqual(failures, []);
    assert.ok(done >= 2, `${done} clicks ran during the activation`);
    const tuned = await segment();
    assert.notEqual(maskOf(tuned), maskOf(base), 'the fine-tuned model gives another mask for the same click');
    const models = await get(`${server.url}/v1/models`, VIEWER);
    const starter = (models.body['models'] as Record<string, unknown>[]).find((m) => m['id'] === 'starter')!;
    assert.equal(starter['activeAdapter'], '1');
    // The version served keeps the base model's display name, with its version after it.
    assert.equal(starter['name'], `${baseName}-v1`);
    assert.equal((starter['adapters'] as unknown[]).length, 1);

    const off = await post(`${server.url}/v1/models/starter/adapters/deactivate`, {}, ADMIN);
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body['active'], null);
    assert.equal(maskOf(await segment()), maskOf(base), 'the base model is served again');
    // Rolling forward again reuses the exported merged model.
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/1/activate`, {}, ADMIN)).status, 200);
    assert.equal(maskOf(await segment()), maskOf(tuned));
  });

  test('a maskId made under another adapter version is dropped (200, maskDropped) and the prompts alone are segmented; one of another image is still 409, before anything is encoded', async () => {
    // Version 1 is active (the previous test ends there).
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/deactivate`, {}, ADMIN)).status, 200);
    const base = await segment();
    assert.equal(base.maskDropped, undefined);
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/1/activate`, {}, ADMIN)).status, 200);
    const tuned = await segment();

    const across = await refine(base.maskId);
    assert.equal(across.status, 200, JSON.stringify(across.body));
    assert.equal(across.body['maskDropped'], 'adapter version changed');
    assert.equal(maskOf(across.body as never), maskOf(tuned), 'the same click without the stale mask, on version 1');
    assert.notEqual(across.body['maskId'], base.maskId);

    // The answer's own maskId refines on version 1 as any other does.
    const same = await refine(String(across.body['maskId']));
    assert.equal(same.status, 200, JSON.stringify(same.body));
    assert.equal('maskDropped' in same.body, false);

    // A maskId of another image stays 409, also across versions, and nothing was encoded for it.
    for (const maskId of [base.maskId, tuned.maskId]) {
      const r = await refine(maskId, otherImageId);
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.match(String(r.body['detail']), /another image/);
    }
    const warm = await post(`${server.url}/v1/embeddings`, { image: { imageId: otherImageId } }, VIEWER);
    assert.equal(warm.status, 200, JSON.stringify(warm.body));
    assert.equal(warm.body['cached'], false, 'the refused requests encoded nothing');

    // Back to the base model: version 1's masks are stale there too.
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/deactivate`, {}, ADMIN)).status, 200);
    const back = await refine(tuned.maskId);
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body['maskDropped'], 'adapter version changed');
    assert.equal(maskOf(back.body as never), maskOf(base));
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/1/activate`, {}, ADMIN)).status, 200);
  });

  test('a version trained on another base model is refused (409), and unknown versions are 404', async () => {
    const src = path.join(dataDir, 'adapters', 'starter', '1');
    const dst = path.join(dataDir, 'adapters', 'starter', '2');
    await fs.cp(src, dst, { recursive: true });
    const manifest = JSON.parse(await fs.readFile(path.join(dst, 'version.json'), 'utf8'));
    manifest.version = 2;
    manifest.base.weights_sha256 = 'f'.repeat(64);
    await fs.writeFile(path.join(dst, 'version.json'), JSON.stringify(manifest));
    const r = await post(`${server.url}/v1/models/starter/adapters/2/activate`, {}, ADMIN);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.match(String(r.body['detail']), /another base model/);
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/7/activate`, {}, ADMIN)).status, 404);
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/zero/activate`, {}, ADMIN)).status, 400);
    assert.equal((await get(`${server.url}/v1/models/starter/adapters`, VIEWER)).body['active'], 1, 'the active version is unchanged');
    await fs.rm(dst, { recursive: true });
  });

  test('a queued job and a running job can be cancelled; the queue limit answers 503; nothing is published', async () => {
    const running = await post(`${server.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: { ...HP, steps: 5000 } }, ADMIN);
    assert.equal(running.status, 202);
    const queued = await post(`${server.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: HP }, ADMIN);
    assert.equal(queued.status, 202);
    assert.equal(queued.body['state'], 'queued');
    const full = await post(`${server.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: HP }, ADMIN);
    assert.equal(full.status, 503, JSON.stringify(full.body));
    assert.match(String(full.body['detail']), /already waiting/);
    assert.ok(full.headers.get('retry-after'));

    const c1 = await post(`${server.url}/v1/jobs/${queued.body['id']}/cancel`, {}, ADMIN);
    assert.equal(c1.status, 202);
    assert.equal(c1.body['state'], 'cancelled');
    const id = String(running.body['id']);
    await waitFor('the running job to train', async () => {
      const j = (await get(`${server.url}/v1/jobs/${id}`, ADMIN)).body as Record<string, any>;
      return j['phase'] === 'training' && j['progress'].step >= 1 ? j : undefined;
    });
    const pid = ((await get(`${server.url}/v1/jobs/${id}`, ADMIN)).body as Record<string, any>)['pid'] as number;
    const events = readEvents(`${server.url}/v1/jobs/${id}/events`, ADMIN);
    assert.equal((await post(`${server.url}/v1/jobs/${id}/cancel`, {}, ADMIN)).status, 202);
    const end = (await events).at(-1)!;
    assert.equal(end.event, 'end');
    assert.equal(end.data['state'], 'cancelled');
    assert.throws(() => process.kill(pid, 0), 'the training process has exited');
    assert.equal((await post(`${server.url}/v1/jobs/${id}/cancel`, {}, ADMIN)).status, 409, 'a finished job cannot be cancelled again');
    assert.equal((await get(`${server.url}/v1/models/starter/adapters`, VIEWER)).body['adapters'] instanceof Array, true);
    assert.equal(((await get(`${server.url}/v1/models/starter/adapters`, VIEWER)).body['adapters'] as unknown[]).length, 1);
    assert.deepEqual(readdirSync(path.join(dataDir, 'adapters', 'starter')).sort(), ['1', 'active.json']);
    const jobs = (await get(`${server.url}/v1/jobs`, ADMIN)).body['jobs'] as Record<string, unknown>[];
    assert.deepEqual(jobs.map((j) => j['state']), ['cancelled', 'cancelled', 'succeeded']);
  });

  test('a second version can be rolled back to the first', async () => {
    const v1 = await segment();
    const r = await post(`${server.url}/v1/jobs`, { dataset: { folder: 'site-b' }, hyperparameters: { ...HP, steps: 12, seed: 9, lr: 3e-3 } }, ADMIN);
    assert.equal(r.status, 202);
    const end = (await readEvents(`${server.url}/v1/jobs/${r.body['id']}/events`, ADMIN)).at(-1)!;
    assert.equal(end.data['state'], 'succeeded', String(end.data['reason']));
    assert.equal(end.data['adapterVersion'], 2);
    assert.equal((await post(`${server.url}/v1/models/starter/adapters/2/activate`, {}, ADMIN)).status, 200);
    const v2 = await segment();
    assert.notEqual(maskOf(v2), maskOf(v1), 'version 2 gives its own mask');
    const back = await post(`${server.url}/v1/models/starter/adapters/1/activate`, {}, ADMIN);
    assert.equal(back.status, 200);
    assert.equal(back.body['active'], 1);
    assert.equal(maskOf(await segment()), maskOf(v1), 'rolled back to version 1');
  });

  test('unknown jobs are 404 and malformed ids 400', async () => {
    assert.equal((await get(`${server.url}/v1/jobs/00000000-0000-0000-0000-000000000000`, ADMIN)).status, 404);
    assert.equal((await get(`${server.url}/v1/jobs/nope`, ADMIN)).status, 400);
  });
});
