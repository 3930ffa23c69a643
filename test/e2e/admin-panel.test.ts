/**
 * The fine-tuning panel end to end in headless Chromium, with authentication required: site-B
 * dermoscopy phantoms (the starter model knows site A) and their ground truth as SEGs (half binary,
 * half Label Map) in the stack's Orthanc; an admin-key page checks the form with the API's schema,
 * starts a short job on those SEGs from the panel, watches it reach 'succeeded' live, activates
 * the published version and sees it served, starts a second one, rolls back to the first and goes
 * back to the base model, then cancels a running job; the panel's notice follows each job it
 * started to its real state, and the model has the same name as in the main GLMed-SA panel; a
 * viewer-key page sees which version is active and no admin control.
 * Screenshots of each step go to artifacts/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SITES, phantomItem } from '@glmedsa/models';
import { uploadDicom } from '@glmedsa/server/dist/src/bundled-pacs/bundled-orthanc.js';
import { newStudy, newUid, rgbPhoto } from '@glmedsa/server/dist/src/dicom/factory.js';
import { segInstance } from '@glmedsa/server/dist/test/helpers/seg-builder.js';
import type { Browser, Page } from 'playwright-core';
import { consoleOf, launchChromium, openPage, screenshot } from '../helpers/browser.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { waitForViewer } from './viewer-steps.js';

const ADMIN_KEY = 'e2e-admin-key-0123456789abc';
const VIEWER_KEY = 'e2e-viewer-key-0123456789abc';
const SIZE = 128;
const PATIENTS = 4;
const IMAGES = 2;
const SERIES = 'GLMed-SA e2e lesion';
/** Few steps: the test shows the panel drives a real job to its end, not how much it learns (2 validation images). */
const STEPS = 16;
const JOB_TIMEOUT_MS = 420_000;

function log(line: string): void {
  process.stdout.write(`# ${line}\n`);
}

/** Site-B photographs of PATIENTS patients and one SEG of their lesions each, binary and Label Map in turn. */
async function seedAnnotations(stack: Stack): Promise<void> {
  let index = 0;
  for (let p = 0; p < PATIENTS; p++) {
    const study = { ...newStudy(`fine-tuning patient ${p}`), PatientID: `E2E-FT-${p}` };
    const seriesInstanceUID = newUid();
    const frames = [];
    for (let i = 0; i < IMAGES; i++) {
      const phantom = phantomItem('dermoscopy', SITES['B']!, SIZE, 31, index++);
      const file = rgbPhoto({ width: SIZE, height: SIZE, rgb: phantom.image.data, study, seriesInstanceUID, instanceNumber: i + 1, seriesDescription: 'site B photographs' });
      await uploadDicom(stack.orthanc, file.bytes);
      frames.push({ source: file.ref, pixels: phantom.mask });
    }
    const binary = p % 2 === 0;
    const seg = segInstance({
      type: binary ? 'BINARY' : 'LABELMAP',
      rows: SIZE,
      cols: SIZE,
      study,
      seriesDescription: `${SERIES} ${binary ? 'binary' : 'labelmap'}`,
      segments: [{ number: 1, label: 'Lesion' }],
      frames: frames.map((f) => ({ ...f, segmentNumber: binary ? 1 : undefined })),
    });
    await uploadDicom(stack.orthanc, seg.bytes);
  }
}

/** Opens a demo study in the mode and shows the fine-tuning panel; returns the model's name as the main panel showed it. */
async function openAdminPanel(page: Page, stack: Stack): Promise<string> {
  await page.goto(stack.modeUrl(stack.demo.dermoscopy));
  await waitForViewer(page);
  // The main panel reads GET /v1/models after the viewer is up: wait for the name, not the placeholder.
  await page.waitForFunction(() => !['', '-'].includes(document.querySelector('[data-glmedsa=model]')?.textContent?.trim() ?? ''), null, { timeout: 30_000 });
  const mainName = ((await page.locator('[data-glmedsa=model]').textContent()) ?? '').trim();
  await page.locator('[data-cy$="glmedsa-admin-btn"]').first().click();
  await page.locator('[data-glmedsa-admin=panel]').waitFor({ timeout: 30_000 });
  return mainName;
}

/** The starter's display name in GET /v1/models (it changes with the version served, e.g. 'glmedsa-starter-v1'). */
async function serverName(stack: Stack): Promise<{ id: string; name: string }> {
  const res = await fetch(`${stack.server.url}/v1/models`, { headers: { 'x-api-key': VIEWER_KEY } });
  return ((await res.json()) as { models: { id: string; name: string }[] }).models.find((m) => m.id === 'starter')!;
}

/** The fine-tuning panel calls the model what the server calls it now (waits for it to catch up after a switch). */
async function adminModelName(page: Page, stack: Stack): Promise<string> {
  const { name } = await serverName(stack);
  await page.waitForFunction((n) => document.querySelector('[data-glmedsa-admin=model]')?.textContent?.trim() === n, name, { timeout: 30_000 }).catch(() => undefined);
  return ((await page.locator('[data-glmedsa-admin=model]').textContent()) ?? '').trim();
}

/** Both panels call the model by the display name GET /v1/models gives it (not one by its id). */
async function assertSameModelName(page: Page, stack: Stack, mainName: string): Promise<void> {
  const starter = await serverName(stack);
  const adminName = await adminModelName(page, stack);
  log(`model: main panel '${mainName}', fine-tuning panel '${adminName}', server name '${starter.name}', id '${starter.id}'`);
  assert.equal(mainName, starter.name);
  assert.equal(adminName, mainName, 'the same model has the same name in both panels');
}

/** The notice's sentence and the state of the job it speaks of, read together. */
async function noticeOf(page: Page): Promise<{ text: string; jobState: string }> {
  const n = page.locator('[data-glmedsa-admin=notice]');
  return { text: ((await n.textContent()) ?? '').trim(), jobState: (await n.getAttribute('data-job-state')) ?? '' };
}

async function serverAdapters(stack: Stack): Promise<{ active: number | null; adapters: { version: number }[] }> {
  const res = await fetch(`${stack.server.url}/v1/models/starter/adapters`, { headers: { 'x-api-key': VIEWER_KEY } });
  assert.equal(res.status, 200);
  return (await res.json()) as { active: number | null; adapters: { version: number }[] };
}

describe('the fine-tuning panel, end to end (OHIF 3.13.2 + GLMed-SA, headless Chromium, authentication on)', { timeout: 1_500_000 }, () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    stack = await startStack({
      apiKeys: [
        { key: ADMIN_KEY, role: 'admin', name: 'e2e-admin' },
        { key: VIEWER_KEY, role: 'viewer', name: 'e2e-viewer' },
      ],
      viewerApiKey: ADMIN_KEY,
      server: { jobs: { threads: 1, queueLimit: 2, checkpointEvery: 4, releaseGraceMs: 1000 } },
    });
    await seedAnnotations(stack);
    browser = await launchChromium();
    page = await openPage(browser, { width: 1280, height: 900 });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  });

  const failWithConsole = async (p: () => Page, name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      await screenshot(p(), `failed-admin-${name}`).catch(() => undefined);
      log(consoleOf(p()).filter((l) => !l.startsWith('[log]') && !l.startsWith('[timeEnd]')).slice(-30).join('\n# '));
      throw err;
    }
  };

  /** Fills the form, starts the job and waits for its row to reach 'succeeded'; returns the job id. */
  async function runJob(steps: number, shot: string): Promise<string> {
    const before = await page.locator('[data-glmedsa-admin=job]').count();
    await page.fill('[data-glmedsa-admin=field-seriesDescription]', `${SERIES}*`);
    await page.fill('[data-glmedsa-admin=field-segmentLabels]', 'Lesion');
    await page.fill('[data-glmedsa-admin=field-steps]', String(steps));
    await page.fill('[data-glmedsa-admin=field-lr]', '0.001');
    await page.click('[data-glmedsa-admin=start]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-glmedsa-admin=job]').length > n, before, { timeout: 30_000 });
    const row = page.locator('[data-glmedsa-admin=job]').first();
    const id = (await row.getAttribute('data-id'))!;
    const started = Date.now();
    // Training progress shows up live (the events stream), before the job ends.
    await page.waitForFunction(
      (jobId) => {
        const r = document.querySelector(`[data-glmedsa-admin=job][data-id="${jobId}"]`);
        return !!r && (/step [1-9]\d*\//.test(r.textContent ?? '') || r.getAttribute('data-state') !== 'queued' && r.getAttribute('data-state') !== 'running');
      },
      id,
      { timeout: JOB_TIMEOUT_MS, polling: 250 },
    );
    // The notice speaks of this job as it is now (running at a step, or already done), never as it was at the start.
    const seen = await page.evaluate((jobId) => {
      const r = document.querySelector(`[data-glmedsa-admin=job][data-id="${jobId}"]`);
      const n = document.querySelector('[data-glmedsa-admin=notice]');
      return { state: r?.getAttribute('data-state') ?? '', step: /step (\d+)\//.exec(r?.textContent ?? '')?.[1] ?? '', notice: n?.textContent ?? '', noticeState: n?.getAttribute('data-job-state') ?? '' };
    }, id);
    log(`while it ran: row ${seen.state} at step ${seen.step}; notice '${seen.notice}'`);
    assert.equal(seen.noticeState, seen.state, 'the notice follows the job');
    assert.ok(seen.notice.startsWith(`Job ${id.slice(0, 8)} `), seen.notice);
    assert.doesNotMatch(seen.notice, /was started|at first/);
    if (seen.state === 'running') assert.match(seen.notice, /is running/);
    await screenshot(page, `${shot}-running`);
    const live = await page.locator(`[data-glmedsa-admin=job][data-id="${id}"]`).getAttribute('data-following');
    // While it runs, the row follows the events stream (fetch streaming), not the polling fallback.
    if (live) assert.equal(live, 'stream', 'the running job is followed through its events stream');
    await page.waitForFunction(
      (jobId) => {
        const s = document.querySelector(`[data-glmedsa-admin=job][data-id="${jobId}"]`)?.getAttribute('data-state');
        return s === 'succeeded' || s === 'failed' || s === 'cancelled';
      },
      id,
      { timeout: JOB_TIMEOUT_MS, polling: 500 },
    );
    const jobRow = page.locator(`[data-glmedsa-admin=job][data-id="${id}"]`);
    const state = await jobRow.getAttribute('data-state');
    const text = (await jobRow.textContent()) ?? '';
    log(`job ${id.slice(0, 8)} (${steps} steps): ${state} after ${((Date.now() - started) / 1000).toFixed(0)} s: ${text}`);
    await screenshot(page, `${shot}-done`);
    assert.equal(state, 'succeeded', text);
    assert.match(text, new RegExp(`step ${steps}/${steps}`));
    assert.match(text, /validation Dice before 0\.\d{3}, now 0\.\d{3}/);
    // The notice now says it succeeded and which version it published, not that it was started.
    const version = /published version (\d+)/.exec(text)?.[1];
    assert.ok(version, text);
    await page.waitForFunction(() => document.querySelector('[data-glmedsa-admin=notice]')?.getAttribute('data-job-state') === 'succeeded', null, { timeout: 10_000 });
    const notice = await noticeOf(page);
    log(`notice: ${notice.text}`);
    assert.match(notice.text, new RegExp(`^Job ${id.slice(0, 8)} succeeded and published version ${version} \\(validation Dice 0\\.\\d{3} -> 0\\.\\d{3}\\); activate it below to serve it\\.$`));
    return id;
  }

  test('an admin checks the form, runs a job from the panel, activates its version, rolls back and returns to the base model', () =>
    failWithConsole(() => page, 'admin', async () => {
      const mainName = await openAdminPanel(page, stack);
      await page.locator('[data-glmedsa-admin=panel][data-role=admin]').waitFor({ timeout: 30_000 });
      await assertSameModelName(page, stack, mainName);
      assert.equal(await page.locator('[data-glmedsa-admin=active]').getAttribute('data-version'), 'base');
      await screenshot(page, 'admin-1-panel');

      // The form is checked with the API module's schema before anything is sent.
      await page.fill('[data-glmedsa-admin=field-steps]', '0');
      await page.fill('[data-glmedsa-admin=field-studyDateFrom]', '2024-13-01');
      await page.click('[data-glmedsa-admin=start]');
      const problems = (await page.locator('[data-glmedsa-admin=form-error]').textContent({ timeout: 10_000 })) ?? '';
      log(`form check: ${problems}`);
      assert.match(problems, /steps must be at least 1/);
      assert.match(problems, /studyDate\.from is not a calendar date/);
      assert.equal(await page.locator('[data-glmedsa-admin=job]').count(), 0, 'nothing was sent');
      await screenshot(page, 'admin-2-form-check');
      await page.fill('[data-glmedsa-admin=field-studyDateFrom]', '');

      const first = await runJob(STEPS, 'admin-3-job-1');
      const v1 = page.locator('[data-glmedsa-admin=version][data-version="1"]');
      await v1.waitFor({ timeout: 30_000 });
      await v1.locator('[data-glmedsa-admin=activate]').click();
      await page.locator('[data-glmedsa-admin=active][data-version="1"]').waitFor({ timeout: 120_000 });
      assert.equal((await serverAdapters(stack)).active, 1, 'the server serves version 1');
      // The server names the served model after its version now; the panel follows, as the main panel does.
      const servedName = (await serverName(stack)).name;
      assert.equal(await adminModelName(page, stack), servedName, `the panel shows the served model's new name '${servedName}'`);
      log(`version 1 (job ${first.slice(0, 8)}) active: ${await page.locator('[data-glmedsa-admin=active]').textContent()}`);
      await screenshot(page, 'admin-4-version-1-active');

      await runJob(4, 'admin-5-job-2');
      const v2 = page.locator('[data-glmedsa-admin=version][data-version="2"]');
      await v2.waitFor({ timeout: 30_000 });
      await v2.locator('[data-glmedsa-admin=activate]').click();
      await page.locator('[data-glmedsa-admin=active][data-version="2"]').waitFor({ timeout: 120_000 });
      assert.equal((await serverAdapters(stack)).active, 2);
      await screenshot(page, 'admin-6-version-2-active');

      // Version 1 is older than the active one: its button rolls back.
      await v1.locator('[data-glmedsa-admin=rollback]').click();
      await page.locator('[data-glmedsa-admin=active][data-version="1"]').waitFor({ timeout: 120_000 });
      assert.equal((await serverAdapters(stack)).active, 1, 'rolled back to version 1');
      await screenshot(page, 'admin-7-rolled-back');

      await page.click('[data-glmedsa-admin=deactivate]');
      await page.locator('[data-glmedsa-admin=active][data-version="base"]').waitFor({ timeout: 60_000 });
      assert.equal((await serverAdapters(stack)).active, null, 'the base model is served');
      await screenshot(page, 'admin-8-base-model');
      assert.equal(await page.locator('[data-glmedsa-admin=error]').count(), 0, 'no error on the way');
    }));

  test('an admin cancels a running job from the panel; nothing is published', () =>
    failWithConsole(() => page, 'cancel', async () => {
      const versionsBefore = (await serverAdapters(stack)).adapters.length;
      const before = await page.locator('[data-glmedsa-admin=job]').count();
      await page.fill('[data-glmedsa-admin=field-steps]', '5000');
      await page.click('[data-glmedsa-admin=start]');
      await page.waitForFunction((n) => document.querySelectorAll('[data-glmedsa-admin=job]').length > n, before, { timeout: 30_000 });
      const row = page.locator('[data-glmedsa-admin=job]').first();
      const id = (await row.getAttribute('data-id'))!;
      // Cancel once it trains (a child process that has to be stopped, not a queued record).
      await page.waitForFunction((jobId) => /step [1-9]\d*\//.test(document.querySelector(`[data-glmedsa-admin=job][data-id="${jobId}"]`)?.textContent ?? ''), id, { timeout: JOB_TIMEOUT_MS, polling: 250 });
      await row.locator('[data-glmedsa-admin=cancel]').click();
      await page.locator(`[data-glmedsa-admin=job][data-id="${id}"][data-state=cancelled]`).waitFor({ timeout: 120_000 });
      const reason = (await row.locator('[data-glmedsa-admin=job-reason]').textContent()) ?? '';
      log(`cancelled job ${id.slice(0, 8)}: ${reason}`);
      assert.match(reason, /cancelled while running/);
      const notice = await noticeOf(page);
      log(`notice: ${notice.text}`);
      assert.deepEqual(notice, { text: `Job ${id.slice(0, 8)} was cancelled while running. No version was published.`, jobState: 'cancelled' });
      assert.equal(await row.locator('[data-glmedsa-admin=cancel]').count(), 0, 'a finished job has no Cancel button');
      assert.equal((await serverAdapters(stack)).adapters.length, versionsBefore, 'no version published');
      await screenshot(page, 'admin-9-cancelled');
    }));

  test('a viewer-key page sees the version in use and no admin control', async () => {
    // The viewer's own PACS access keeps the configured key; the extension's API calls carry the viewer's.
    const viewerPage = await openPage(browser, { width: 1280, height: 900 });
    await failWithConsole(() => viewerPage, 'viewer', async () => {
      const activate = await fetch(`${stack.server.url}/v1/models/starter/adapters/1/activate`, { method: 'POST', headers: { 'x-api-key': ADMIN_KEY } });
      assert.equal(activate.status, 200, 'an admin serves version 1 for this check');
      await viewerPage.context().route('**/v1/**', (route) => route.continue({ headers: { ...route.request().headers(), authorization: `ApiKey ${VIEWER_KEY}` } }));
      const mainName = await openAdminPanel(viewerPage, stack);
      await viewerPage.locator('[data-glmedsa-admin=panel][data-role=viewer]').waitFor({ timeout: 30_000 });
      await assertSameModelName(viewerPage, stack, mainName);
      await viewerPage.locator('[data-glmedsa-admin=active][data-version="1"]').waitFor({ timeout: 30_000 });
      const line = (await viewerPage.locator('[data-glmedsa-admin=active]').textContent()) ?? '';
      log(`viewer sees: ${line}`);
      assert.match(line, /version 1/);
      for (const control of ['admin', 'start', 'job', 'version', 'activate', 'rollback', 'deactivate', 'cancel']) {
        assert.equal(await viewerPage.locator(`[data-glmedsa-admin=${control}]`).count(), 0, `no ${control} for a viewer`);
      }
      assert.equal(await viewerPage.locator('[data-glmedsa-admin=error]').count(), 0, 'no error for a viewer');
      await screenshot(viewerPage, 'admin-10-viewer-page');
    });
    await viewerPage.context().close();
  });
});
