/**
 * The N key in headless Chromium against the real stack, as in OHIF's marker-guided labelmap
 * tool: a click on a lesion of the demo CT volume, N: the proposal on that slice is accepted, the
 * viewport shows the next slice, the same prompt is sent for it and its proposal drawn there,
 * markers kept.
 * Screenshots go to artifacts/next-slice-*.png.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { consoleOf, screenshot } from '../helpers/browser.js';
import { viewerSession } from '../helpers/viewer-session.js';
import { area, clickImage, goToImage, labelmap, status, waitForViewer } from './viewer-steps.js';

describe('N: next slice with the same prompts (OHIF 3.13.2 + GLMed-SA, headless Chromium)', { timeout: 600_000 }, () => {
  const session = viewerSession();

  test('a click on a lesion slice, N: that slice keeps its mask, the next slice gets the same prompt and a proposal', async () => {
    const { stack, page } = session;
    try {
      const all = stack.demo.ct.instances;
      const k = stack.demo.ct.lesionIndex;
      // the lesion slice and the one after it, as the viewer steps through the volume
      const ct = [all[k]!, all[k + 1]!];
      assert.ok(ct[1], 'the demo CT volume has a slice after the lesion slice');
      await page.goto(stack.modeUrl(stack.demo.ct));
      await waitForViewer(page);
      assert.equal((await page.evaluate(() => window.glmedsa!.image()))?.ref.sopInstanceUID, all[0]!.sopInstanceUID);
      await goToImage(page, stack.demo.ct, k);
      await clickImage(page, ct[0]!.lesion!.x, ct[0]!.lesion!.y);
      const first = await labelmap(page);
      assert.ok(area(first) > 0, 'the click draws a mask on slice 1');
      await screenshot(page, 'next-slice-1-clicked');

      const n = (await page.evaluate(() => window.glmedsa!.timeline().length)) as number;
      await page.keyboard.press('n');
      await page.waitForFunction(
        ([k, sop]) => {
          const t = window.glmedsa!.timeline();
          const s = window.glmedsa!.status();
          return window.glmedsa!.image()?.ref.sopInstanceUID === sop && ((t.length > k! && t[t.length - 1]!.drawnAt !== null && !s.busy) || (!!s.error && !s.busy));
        },
        [n, ct[1]!.sopInstanceUID] as const,
        { timeout: 90_000, polling: 100 },
      );
      const s = await status(page);
      assert.equal(s.error, null, `no error after N (${s.error})`);
      assert.equal(s.prompts, 1, 'the prompt is carried to the next slice');
      const markers = await page.locator('[data-glmedsa=markers] circle, [data-glmedsa=markers] *').count();
      assert.ok(markers > 0, 'the marker is drawn on the next slice');
      const second = await labelmap(page);
      assert.ok(area(second) > 0, 'the carried prompt draws a proposal on slice 2');
      await screenshot(page, 'next-slice-2-after-n');

      // Back to slice 1 with OHIF's own previous-image key: the mask accepted there is unchanged.
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      await page.keyboard.press('ArrowUp');
      await page.waitForFunction((sop) => window.glmedsa!.image()?.ref.sopInstanceUID === sop, ct[0]!.sopInstanceUID, { timeout: 20_000, polling: 100 });
      assert.deepEqual(await labelmap(page), first, 'the mask of slice 1 was accepted by N and stays');
      await screenshot(page, 'next-slice-3-back-on-slice-1');
    } catch (err) {
      await screenshot(page, 'next-slice-failed').catch(() => undefined);
      process.stdout.write(`# ${consoleOf(page).filter((l) => !l.startsWith('[log]')).slice(-20).join('\n# ')}\n`);
      throw err;
    }
  });
});
