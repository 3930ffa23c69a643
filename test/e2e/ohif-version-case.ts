/**
 * The case every supported OHIF version must pass, with one stack serving that version: the study
 * list comes up (a mode that breaks the viewer shows a black page on every route) and offers our
 * mode; a demo study opens in it; a click on the lesion draws its mask; Enter accepts it; and the
 * panel is on show and readable (server connected, the click's latency, no prompts left); on the CT
 * volume our MPR button opens OHIF's MPR layout and a click in its axial view proposes a mask.
 * Screenshots of each step go to artifacts/ohif-<version>-*.png.
 *
 * The Dice bar is the one of test/e2e/viewer.test.ts (0.90 for a click at the centre of a demo
 * dermoscopy lesion): the mask is the same model's whichever viewer draws it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { outlineIds, overlap, regionCentre, sliceMask } from '@glmedsa/models';
import type { OhifVersion } from '@glmedsa/server/dist/src/viewer/index.js';
import { reportFailures, screenshot } from '../helpers/browser.js';
import { demoVolume } from '../helpers/ground-truth.js';
import { viewerSession } from '../helpers/viewer-session.js';
import { area, clickImage, labelmap, status, waitForViewer } from './viewer-steps.js';

const DERM_DICE = 0.9;

export function ohifVersionCase(version: OhifVersion): void {
  describe(`OHIF ${version}: the mode opens a study, a click draws a mask, Enter accepts it`, { timeout: 600_000 }, () => {
    const session = viewerSession({ ohifVersion: version });
    const shot = (name: string) => screenshot(session.page, `ohif-${version}-${name}`);
    const step = reportFailures(() => session.page, `ohif-${version}`);

    test('the study list comes up and offers the GLMed-SA mode', () =>
      step('study-list', async () => {
        const { page, stack } = session;
        await page.goto(stack.viewerUrl);
        const row = page.getByText('Demo, Dermoscopy', { exact: false }).first();
        await row.waitFor({ timeout: 120_000 });
        await row.click();
        const mode = page.getByRole('button', { name: /GLMed-SA Segmentation/ }).first();
        await mode.waitFor({ timeout: 30_000 });
        assert.doesNotMatch((await mode.textContent()) ?? '', /unavailable/, 'the mode is not the unavailable stand-in');
        await shot('1-study-list');
      }));

    test('a click on the lesion draws its mask, Enter accepts it, the panel says so', () =>
      step('click-accept', async () => {
        const { page, stack } = session;
        const inst = stack.demo.dermoscopy.instances[0]!;
        const truth = stack.groundTruth('dermoscopy', 0);
        await page.goto(stack.modeUrl(stack.demo.dermoscopy));
        try {
          await waitForViewer(page, 60_000);
        } catch (err) {
          // OHIF 3.12.10's own bundle sometimes leaves a black page: the onnxruntime-web module inside
          // its chunk 7431 (cornerstone's AI tools) reads `__filename` when it is first evaluated
          // after its script tag ran ("ReferenceError: __filename is not defined"), which fails the
          // viewer's start. Seen once in a full run, never alone; a reload brings the viewer up. The
          // README says so under Troubleshooting; other versions get no second chance.
          if (version !== '3.12.10') throw err;
          process.stdout.write(`# OHIF ${version}: the viewer did not come up within 60 s (${(err as Error).message.split('\n')[0]}); reloading once\n`);
          await page.reload();
          await waitForViewer(page);
        }
        assert.equal((await page.evaluate(() => window.glmedsa!.image()))?.ref.sopInstanceUID, inst.sopInstanceUID, 'the first image of the study is on show');
        await shot('2-opened');

        await clickImage(page, inst.lesion!.x, inst.lesion!.y);
        const proposed = await labelmap(page);
        const dice = overlap(proposed, truth).dice;
        process.stdout.write(`# OHIF ${version}: one click, Dice ${dice.toFixed(3)}, area ${area(proposed)} (truth ${area(truth)})\n`);
        await shot('3-mask');
        assert.ok(dice > DERM_DICE, `Dice ${dice.toFixed(3)} with the lesion`);

        await page.keyboard.press('Enter');
        await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
        assert.deepEqual(await labelmap(page), proposed, 'Enter keeps the proposal in the labelmap');
        const s = await status(page);
        assert.equal(s.server, 'up');
        assert.equal(s.error, null);

        // Readable: the panel is on screen, wide enough to read, and says what happened.
        const panel = page.locator('[data-glmedsa=panel]');
        await panel.waitFor({ state: 'visible', timeout: 10_000 });
        const box = await panel.boundingBox();
        const viewport = page.viewportSize()!;
        assert.ok(box && box.width >= 200 && box.height >= 100, `the panel is ${box?.width}x${box?.height} px`);
        assert.ok(box.x >= 0 && box.x + box.width <= viewport.width + 1, 'the panel lies within the page');
        const text = (await panel.innerText()).replace(/\s+/g, ' ');
        assert.match(text, /Server connected/);
        assert.match(text, /Last click \d+(\.\d+)? ms/);
        assert.match(text, /Prompts 0/, 'the accepted proposal left no prompts behind');
        await shot('4-accepted');
      }));

    test('the CT volume: our MPR button shows three planes, and a click in the axial view proposes a mask', () =>
      step('mpr', async () => {
        const { page, stack } = session;
        const ct = stack.demo.ct;
        await page.goto(stack.modeUrl(ct));
        await waitForViewer(page);
        const mpr = page.locator('[data-cy=GLMedSAMPR]').first();
        await mpr.waitFor({ timeout: 30_000 });
        await mpr.click();
        await page.waitForFunction(() => document.querySelectorAll('[data-viewportid]').length >= 3, null, { timeout: 120_000, polling: 500 });
        await page.waitForTimeout(3000);
        // The layout opens with the axial camera half way between two slices of this even-sized
        // series; a radiologist scrolls to the slice they want first: one slice down and back up.
        for (const key of ['ArrowDown', 'ArrowUp']) {
          await page.keyboard.press(key);
          await page.waitForTimeout(500);
        }
        const shown = await page.evaluate(() => window.glmedsa!.image());
        assert.ok(shown, 'the active view of the MPR layout shows a slice of the series');
        // A click at the centre of the liver on the slice on show (the demo volume's own labels)
        const z = ct.instances.findIndex((i) => i.sopInstanceUID === shown.ref.sopInstanceUID);
        const v = demoVolume();
        const liver = sliceMask(v, z, outlineIds(v.objects, v.objects.find((o) => o.name === 'liver')!));
        const at = regionCentre(liver, v.columns, v.rows);
        assert.ok(at, `the liver shows on slice ${z}`);
        await clickImage(page, at.x, at.y);
        const proposed = await labelmap(page);
        process.stdout.write(`# OHIF ${version}: MPR axial click on the liver, slice ${z} at (${at.x}, ${at.y}): area ${area(proposed)}, Dice with the liver ${overlap(proposed, liver).dice.toFixed(3)}\n`);
        await shot('5-mpr-click');
        assert.ok(area(proposed) > 0, 'the click in the axial view proposes a mask');
        await page.keyboard.press('Escape');
      }));
  });
}
