/**
 * Bad input end to end in headless Chromium against the real stack: a click outside the image,
 * a click whose image the model cannot take (a real SR stored in the test's Orthanc), a server
 * answering 503 with Retry-After, and a PACS that is down. After each: a sentence in the panel,
 * the mask accepted before is still in the labelmap, and the viewer still reacts. Screenshots go
 * to artifacts/bad-input-*.png.
 *
 * The SR and the PACS cases aim the viewer's request at another instance with playwright's
 * request routing (OHIF opens an SR in its own SR viewport, where our tool is not bound): the
 * server and Orthanc answer for real. The 503 is answered by the route, since making the real
 * server busy on demand would need a second, blocking client; it is the network's answer either way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, Route } from 'playwright-core';
import { uploadDicom } from '@glmedsa/server/dist/src/bundled-pacs/bundled-orthanc.js';
import { consoleOf, launchChromium, openPage, screenshot } from '../helpers/browser.js';
import { textReport } from '../helpers/dicom-objects.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { area, clickImage, labelmap, panelError, status, waitForViewer } from './viewer-steps.js';

function log(line: string): void {
  process.stdout.write(`# ${line}\n`);
}

/** Sends the viewer's segment requests for `image` instead (no previous mask: it belongs to another image). */
function aimAt(image: { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string }) {
  return (route: Route) => {
    const body = JSON.parse(route.request().postData() ?? '{}') as Record<string, unknown>;
    delete body['maskId'];
    body['image'] = { studyInstanceUID: image.studyInstanceUID, seriesInstanceUID: image.seriesInstanceUID, sopInstanceUID: image.sopInstanceUID, frame: 1 };
    return route.continue({ postData: JSON.stringify(body), headers: { ...route.request().headers(), 'content-type': 'application/json' } });
  };
}

describe('bad input in the viewer (OHIF 3.13.2 + GLMed-SA, headless Chromium)', { timeout: 600_000 }, () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let accepted: Uint8Array;
  const segmentRequests: string[] = [];

  before(async () => {
    stack = await startStack();
    browser = await launchChromium();
    page = await openPage(browser, { width: 1280, height: 800 });
    page.on('request', (r) => {
      if (r.url().includes('/v1/segment')) segmentRequests.push(r.url());
    });
    const inst = stack.demo.dermoscopy.instances[0]!;
    await page.goto(stack.modeUrl(stack.demo.dermoscopy));
    await waitForViewer(page);
    await clickImage(page, inst.lesion.x, inst.lesion.y);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
    accepted = await labelmap(page);
    assert.ok(area(accepted) > 0, 'a mask was accepted before the bad input');
    await screenshot(page, 'bad-input-0-accepted');
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  });

  const failWithConsole = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      await screenshot(page, `bad-input-failed-${name}`).catch(() => undefined);
      log(consoleOf(page).filter((l) => !l.startsWith('[log]') && !l.startsWith('[timeEnd]')).slice(-30).join('\n# '));
      throw err;
    }
  };

  /** The accepted mask is untouched, and a click on the lesion still draws a proposal (taken off again with Esc). */
  async function stillWorks(): Promise<void> {
    assert.deepEqual(await labelmap(page), accepted, 'the accepted mask is still in the labelmap');
    const inst = stack.demo.dermoscopy.instances[0]!;
    await clickImage(page, inst.lesion.x, inst.lesion.y);
    assert.equal((await status(page)).error, null);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
    assert.deepEqual(await labelmap(page), accepted, 'Esc leaves the accepted mask');
  }

  /** A page point on the viewport's canvas but off the image, or null when the image fills the canvas. */
  async function offImagePoint(): Promise<{ x: number; y: number } | null> {
    return page.evaluate(() => {
      const g = window.glmedsa!;
      const img = g.image()!;
      const a = g.pagePoint(0, 0)!;
      const b = g.pagePoint(img.width, img.height)!;
      const canvas = Array.from(document.querySelectorAll('canvas')).map((c) => c.getBoundingClientRect()).find((r) => r.left <= a.x && r.right >= b.x - 1 && r.top <= a.y && r.bottom >= b.y - 1);
      if (!canvas) return null;
      const inside = (x: number, y: number) => x > canvas.left + 2 && x < canvas.right - 2 && y > canvas.top + 2 && y < canvas.bottom - 2;
      const midX = (a.x + b.x) / 2;
      const midY = (a.y + b.y) / 2;
      const candidates = [
        { x: (canvas.left + a.x) / 2, y: midY },
        { x: (b.x + canvas.right) / 2, y: midY },
        { x: midX, y: (canvas.top + a.y) / 2 },
        { x: midX, y: (b.y + canvas.bottom) / 2 },
      ];
      return candidates.find((p) => inside(p.x, p.y) && (p.x < a.x - 4 || p.x > b.x + 4 || p.y < a.y - 4 || p.y > b.y + 4)) ?? null;
    });
  }

  test('a click outside the image: a sentence, nothing sent', () =>
    failWithConsole('outside', async () => {
      let p = await offImagePoint();
      if (!p) {
        // The image fills the canvas: zoom out with the mouse wheel is not our tool's; make room by shrinking the window.
        await page.setViewportSize({ width: 1280, height: 500 });
        await page.waitForTimeout(1500);
        p = await offImagePoint();
      }
      assert.ok(p, 'the viewport shows some canvas beside the image');
      const sent = segmentRequests.length;
      await page.mouse.click(p.x, p.y);
      const sentence = await panelError(page, 'outside', 10_000);
      await screenshot(page, 'bad-input-1-outside');
      log(`outside: "${sentence}"`);
      assert.match(sentence, /outside the image/);
      assert.equal(segmentRequests.length, sent, 'no segment request for a click outside the image');
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.waitForTimeout(1000);
      await stillWorks();
    }));

  test('a click on an object the model cannot take (a structured report): "not supported"', () =>
    failWithConsole('unsupported', async () => {
      const report = textReport();
      await uploadDicom(stack.orthanc, report.bytes);
      const inst = stack.demo.dermoscopy.instances[0]!;
      await page.route('**/v1/segment', aimAt(report.ref));
      try {
        const p = await page.evaluate(([x, y]) => window.glmedsa!.pagePoint(x!, y!), [inst.lesion.x, inst.lesion.y]);
        await page.mouse.click(p!.x, p!.y);
        const sentence = await panelError(page, 'unsupported', 60_000);
        await screenshot(page, 'bad-input-2-unsupported');
        log(`unsupported: "${sentence}"`);
        assert.match(sentence, /not supported/);
        assert.match(sentence, /not an image/);
      } finally {
        await page.unroute('**/v1/segment');
      }
      await page.keyboard.press('Escape');
      await stillWorks();
    }));

  test('a server answering 503 with Retry-After: "busy, retrying", then the mask once it answers', () =>
    failWithConsole('busy', async () => {
      let refused = 0;
      await page.route('**/v1/segment', (route) => {
        if (refused >= 2) return route.continue();
        refused++;
        return route.fulfill({
          status: 503,
          headers: { 'Retry-After': '1', 'Content-Type': 'application/problem+json' },
          body: JSON.stringify({ type: 'urn:glmedsa:problem:busy', title: 'Busy', status: 503, detail: 'The server is at its queue limit.' }),
        });
      });
      try {
        const inst = stack.demo.dermoscopy.instances[0]!;
        const n = (await page.evaluate(() => window.glmedsa!.timeline().length)) as number;
        const p = await page.evaluate(([x, y]) => window.glmedsa!.pagePoint(x!, y!), [inst.lesion.x, inst.lesion.y]);
        await page.mouse.click(p!.x, p!.y);
        const sentence = await panelError(page, 'busy', 20_000);
        await screenshot(page, 'bad-input-3-busy');
        log(`busy: "${sentence}"`);
        assert.match(sentence, /busy; retrying in 1 s/);
        await page.waitForFunction(
          (k) => {
            const t = window.glmedsa!.timeline();
            const s = window.glmedsa!.status();
            return t.length > k && t[t.length - 1]!.drawnAt !== null && !s.busy && !s.error;
          },
          n,
          { timeout: 60_000, polling: 100 },
        );
        assert.equal(refused, 2, 'the viewer retried after each 503');
        await screenshot(page, 'bad-input-3-busy-then-drawn');
      } finally {
        await page.unroute('**/v1/segment');
      }
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      await stillWorks();
    }));

  test('the PACS is down: the panel says so, the accepted mask stays, the viewer still reacts', () =>
    failWithConsole('pacs-down', async () => {
      // An image the server has not read yet (the CT study is never opened here), so it must ask the PACS.
      const unread = stack.demo.ct.instances[stack.demo.ct.instances.length - 1]!;
      await stack.orthanc.stop({ graceMs: 0 });
      const inst = stack.demo.dermoscopy.instances[0]!;
      await page.route('**/v1/segment', aimAt(unread));
      try {
        const p = await page.evaluate(([x, y]) => window.glmedsa!.pagePoint(x!, y!), [inst.lesion.x, inst.lesion.y]);
        await page.mouse.click(p!.x, p!.y);
        const sentence = await panelError(page, 'pacs', 60_000);
        await screenshot(page, 'bad-input-4-pacs-down');
        log(`pacs down: "${sentence}"`);
        assert.match(sentence, /PACS is unavailable/);
      } finally {
        await page.unroute('**/v1/segment');
      }
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      assert.deepEqual(await labelmap(page), accepted, 'the accepted mask is still in the labelmap');
      // The viewer still reacts: a click off the image is answered at once, without the PACS.
      await page.setViewportSize({ width: 1280, height: 500 });
      await page.waitForTimeout(1500);
      const off = await offImagePoint();
      if (off) {
        await page.mouse.click(off.x, off.y);
        assert.match(await panelError(page, 'outside', 10_000), /outside the image/);
      }
      assert.deepEqual(await labelmap(page), accepted, 'the accepted mask is still in the labelmap');
    }));
});
