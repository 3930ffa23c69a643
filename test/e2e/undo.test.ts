/**
 * OHIF's own undo and redo (Ctrl+Z, Ctrl+Y: Cornerstone's DefaultHistoryMemo) take back and give
 * back an accepted GLMed-SA mask, in headless Chromium against the real stack: on a CT slice a
 * box over the upper part of the lesion and Enter, Ctrl+Z: the slice's labelmap is empty again,
 * Ctrl+Y: the mask is back; a second accepted mask on the same slice (a click on the lesion, which
 * adds its lower part) is undone alone (the first stays), and redone; Ctrl+Z while a
 * proposal is on show drops the proposal first; OHIF brush strokes made while a proposal is on show
 * (beside it and over it) stay when it is rejected. The prompt-level undo (U) still removes one prompt,
 * and the panel's key help names every key of the mode.
 * Screenshots go to artifacts/undo-*.png.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleOf, screenshot } from '../helpers/browser.js';
import { EXT_DIR } from '../helpers/paths.js';
import { viewerSession } from '../helpers/viewer-session.js';
import { area, boundsOf, clickImage, dragBox, goToImage, labelmap, status, waitForViewer } from './viewer-steps.js';

/** Presses a key and waits until the labelmap of the image on show is no longer `was`. */
async function pressUntilChanged(page: Page, key: string, was: Uint8Array): Promise<Uint8Array> {
  await page.keyboard.press(key);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const now = await labelmap(page);
    if (!sameMask(now, was)) return now;
    if (Date.now() > deadline) throw new Error(`${key} did not change the labelmap`);
    await page.waitForTimeout(100);
  }
}

function sameMask(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('Ctrl+Z / Ctrl+Y undo and redo accepted masks (OHIF 3.13.2 + GLMed-SA, headless Chromium)', { timeout: 600_000 }, () => {
  const session = viewerSession();

  test('accept, Ctrl+Z, Ctrl+Y; a second accept undone alone; U still removes one prompt', async () => {
    const { stack, page } = session;
    try {
      const k = stack.demo.ct.lesionIndex;
      const slice = stack.demo.ct.instances[k]!;
      const lesion = slice.lesion!;
      await page.goto(stack.modeUrl(stack.demo.ct));
      await waitForViewer(page);
      await goToImage(page, stack.demo.ct, k);

      // The panel's key help names every key of the mode, and OHIF's undo/redo.
      const help = (await page.locator('[data-glmedsa=keys]').textContent()) ?? '';
      const mode = (await import(path.join(EXT_DIR, 'glmedsa-mode.mjs'))) as { hotkeys: { keys: string[] }[] };
      for (const k of [...mode.hotkeys.flatMap((h) => h.keys.map((x) => x.toUpperCase())), 'Ctrl+Z', 'Ctrl+Y']) assert.ok(help.includes(k), `the key help lists ${k}: ${help}`);

      // A box over the upper part of the lesion, Enter: a mask inside the box is in the labelmap.
      const { a, b } = boundsOf(stack.groundTruth('ct', k), slice.width, slice.height, 3);
      await dragBox(page, a, { x: b.x, y: Math.round(a.y + 0.55 * (b.y - a.y)) });
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      const first = await labelmap(page);
      assert.ok(area(first) > 0, 'the accepted mask is in the labelmap');
      const empty = new Uint8Array(first.length);
      await screenshot(page, 'undo-1-accepted');

      // Ctrl+Z: the slice is as it was before the accept; Ctrl+Y: the mask is back, pixel for pixel.
      const undone = await pressUntilChanged(page, 'Control+z', first);
      assert.deepEqual(undone, empty, 'Ctrl+Z leaves the slice with no mask');
      await screenshot(page, 'undo-2-ctrl-z');
      const redone = await pressUntilChanged(page, 'Control+y', undone);
      assert.deepEqual(redone, first, 'Ctrl+Y brings the same mask back');
      await screenshot(page, 'undo-3-ctrl-y');

      // A second mask on the same slice: a click on the lesion, the whole of it, accepted.
      await clickImage(page, lesion.x, lesion.y);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      const both = await labelmap(page);
      assert.ok(area(both) > area(first), `the second mask (the whole lesion, ${area(both)} pixels) adds pixels to the first (${area(first)})`);
      assert.ok(first.every((v, i) => !v || both[i]), 'the first mask is still all there');

      // Ctrl+Z undoes the second accept alone; a second Ctrl+Z the first; Ctrl+Y twice both again.
      assert.deepEqual(await pressUntilChanged(page, 'Control+z', both), first, 'Ctrl+Z takes back the second mask only');
      await screenshot(page, 'undo-4-second-undone');
      assert.deepEqual(await pressUntilChanged(page, 'Control+z', first), empty, 'a second Ctrl+Z takes back the first mask');
      assert.deepEqual(await pressUntilChanged(page, 'Control+y', empty), first, 'Ctrl+Y gives back the first mask');
      assert.deepEqual(await pressUntilChanged(page, 'Control+y', first), both, 'a second Ctrl+Y gives back the second');

      // The prompt-level undo: two clicks, U: one prompt left, its own proposal on show.
      await clickImage(page, lesion.x, lesion.y);
      const onePrompt = await labelmap(page);
      await clickImage(page, lesion.x, Math.round((lesion.y + b.y) / 2));
      assert.equal((await status(page)).prompts, 2);
      await page.keyboard.press('u');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 1 && !window.glmedsa!.status().busy, null, { timeout: 30_000 });
      await page.waitForFunction(
        (want) => {
          const l = window.glmedsa!.labelmap();
          return !!l && l.data.length === want.length && l.data.every((v, i) => v === want[i]);
        },
        Array.from(onePrompt),
        { timeout: 15_000, polling: 100 },
      );
      await screenshot(page, 'undo-5-u-removed-one-prompt');

      // Ctrl+Z with that proposal on show: the proposal and its prompts go, then the second accept is undone.
      assert.deepEqual(await pressUntilChanged(page, 'Control+z', onePrompt), first, 'Ctrl+Z drops the proposal and undoes the last accept');
      const s = await status(page);
      assert.equal(s.prompts, 0, 'no prompts are left once the proposal is dropped');
      assert.equal(s.error, null);
      await screenshot(page, 'undo-6-ctrl-z-over-a-proposal');
    } catch (err) {
      await screenshot(page, 'undo-failed').catch(() => undefined);
      process.stdout.write(`# ${consoleOf(page).filter((l) => !l.startsWith('[log]')).slice(-20).join('\n# ')}\n`);
      throw err;
    }
  });

  test("OHIF brush strokes made while a proposal is on show stay when the proposal is rejected, over the proposal too", async () => {
    const { stack, page } = session;
    try {
      const k = stack.demo.ct.lesionIndex;
      const slice = stack.demo.ct.instances[k]!;
      const lesion = slice.lesion!;
      await page.goto(stack.modeUrl(stack.demo.ct));
      await waitForViewer(page);
      await goToImage(page, stack.demo.ct, k);
      await clickImage(page, lesion.x, lesion.y);
      const proposal = await labelmap(page);
      assert.ok(area(proposal) > 0, 'the click shows a proposal');
      // As Cornerstone's own labelmap previews: the proposal is drawn with the preview index, not yet as the segment.
      assert.deepEqual(await labelmap(page, 255), proposal, 'the proposal holds the preview index');
      assert.equal(area(await labelmap(page, 1)), 0, 'nothing is in the segment before the proposal is accepted');

      // A point of the image whose neighbourhood the proposal does not touch, for the first stroke.
      const W = slice.width;
      const H = slice.height;
      const clearOf = (x: number, y: number, r: number) => {
        for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (proposal[(y + dy) * W + (x + dx)]) return false;
        return true;
      };
      const spots = [0.25, 0.75].flatMap((fy) => [0.25, 0.75].map((fx) => ({ x: Math.round(fx * W), y: Math.round(fy * H) })));
      const spot = spots.find((p) => clearOf(p.x, p.y, Math.round(W / 8)));
      assert.ok(spot, 'a part of the slice away from the proposal');

      // OHIF's own brush, from its labelmap tools, paints one stroke there and one across the proposal,
      // both in the proposal's own segment (the active one).
      await page.locator('[data-cy=panelSegmentationWithToolsLabelMap-btn]').click();
      await page.locator('[data-cy=Brush-btn]').click();
      // A brush narrower than the proposal (OHIF's default radius, 25 mm, would cover all of it).
      const radius = page.locator('input[type=number]').first();
      await radius.fill('8');
      await radius.press('Enter');
      const stroke = async (x0: number, x1: number, y: number) => {
        const was = area(await labelmap(page, 1));
        const from = (await page.evaluate(([x, yy]) => window.glmedsa!.pagePoint(x!, yy!), [x0, y]))!;
        const to = (await page.evaluate(([x, yy]) => window.glmedsa!.pagePoint(x!, yy!), [x1, y]))!;
        await page.mouse.move(from.x, from.y);
        await page.mouse.down();
        await page.mouse.move(to.x, to.y, { steps: 8 });
        await page.mouse.up();
        for (let i = 0; i < 50 && area(await labelmap(page, 1)) <= was; i++) await page.waitForTimeout(100);
      };
      await stroke(spot.x - 6, spot.x + 6, spot.y);
      await stroke(lesion.x - 4, lesion.x + 4, lesion.y);
      const painted = await labelmap(page, 1);
      const previewLeft = await labelmap(page, 255);
      assert.ok(painted.some((v, i) => v && !proposal[i]), 'the brush painted a stroke away from the proposal');
      assert.ok(painted.some((v, i) => v && proposal[i]), 'the brush painted over the proposal');
      assert.ok(proposal.every((v, i) => !v || painted[i] || previewLeft[i]), 'the rest of the proposal is still on show');
      await screenshot(page, 'undo-7-brush-beside-and-over-a-proposal');

      // Esc rejects the proposal: its remaining pixels go, both strokes stay whole.
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      for (let i = 0; i < 50 && area(await labelmap(page, 255)) > 0; i++) await page.waitForTimeout(100);
      const after = await labelmap(page);
      await screenshot(page, 'undo-8-proposal-rejected-strokes-stay');
      assert.deepEqual(after, painted, 'after Esc the labelmap holds the brush strokes and nothing else of the proposal');
    } catch (err) {
      await screenshot(page, 'undo-brush-failed').catch(() => undefined);
      process.stdout.write(`# ${consoleOf(page).filter((l) => !l.startsWith('[log]')).slice(-20).join('\n# ')}\n`);
      throw err;
    }
  });
});
