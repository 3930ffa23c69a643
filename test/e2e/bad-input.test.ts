/**
 * Bad input end to end in headless Chromium against the real stack, on both decoding paths (the
 * server decodes every click, and 'auto', where the browser decodes with the server's embedding):
 * a click outside the image, a click whose image the model cannot take (a real SR stored in the
 * test's Orthanc), a server answering 503 with Retry-After, and a PACS that is down. After each: a
 * sentence in the panel (the same on both paths), the mask accepted before is still in the
 * labelmap, and the viewer still reacts. Screenshots go to artifacts/bad-input-<path>-*.png.
 *
 * The request that carries a click to the server is POST /v1/segment on the server path and the
 * image's embedding download (GET /v1/embeddings/...) on the browser path, fetched once per image:
 * each case moves to a photograph the browser holds no embedding of yet. The SR and the PACS cases
 * aim that request at another instance with playwright's request routing (OHIF opens an SR in its
 * own SR viewport, where our tool is not bound): the server and Orthanc answer for real. The 503
 * is answered by the route, since making the real server busy on demand would need a second,
 * blocking client; it is the network's answer either way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, Request, Route } from 'playwright-core';
import { embeddingQueryOf } from '@glmedsa/server/api';
import { uploadDicom } from '@glmedsa/server/dist/src/bundled-pacs/bundled-orthanc.js';
import { basicTextSr } from '@glmedsa/server/dist/test/helpers/dicom-factory.js';
import { launchChromium, openPage, overrideGlmedsaConfig, reportFailures, screenshot } from '../helpers/browser.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { area, clearPrompts, clickImage, labelmap, panelError, status, waitForViewer } from './viewer-steps.js';

type Path = 'server' | 'auto';
type ImageRef = { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string };

function log(line: string): void {
  process.stdout.write(`# ${line}\n`);
}

/** The request that takes a click (or its image) to the server on each path. */
const CARRIES: Record<Path, (url: URL, r: Request) => boolean> = {
  server: (u, r) => r.method() === 'POST' && u.pathname === '/v1/segment',
  auto: (u, r) => r.method() === 'GET' && u.pathname.startsWith('/v1/embeddings/'),
};

/** Sends the viewer's request for `image` instead (no previous mask: it belongs to another image). */
function aimAt(path: Path, image: ImageRef) {
  const ref = { studyInstanceUID: image.studyInstanceUID, seriesInstanceUID: image.seriesInstanceUID, sopInstanceUID: image.sopInstanceUID, frame: 1 };
  return (route: Route) => {
    if (path === 'auto') {
      const url = new URL(route.request().url());
      url.search = embeddingQueryOf(ref, url.searchParams.get('dtype') === 'float32' ? 'float32' : 'float16');
      return route.continue({ url: url.toString() });
    }
    const body = JSON.parse(route.request().postData() ?? '{}') as Record<string, unknown>;
    delete body['maskId'];
    body['image'] = ref;
    return route.continue({ postData: JSON.stringify(body), headers: { ...route.request().headers(), 'content-type': 'application/json' } });
  };
}

function badInputSuite(path: Path): void {
  describe(`bad input in the viewer, clicks decoded ${path === 'server' ? 'on the server' : "by 'auto' (in the browser)"} (OHIF 3.13.2 + GLMed-SA, headless Chromium)`, { timeout: 600_000 }, () => {
    let stack: Stack;
    let browser: Browser;
    let page: Page;
    let accepted: Uint8Array;
    /** Requests that took a click or its image to the server, and POST /v1/segment among them. */
    const sent = { carried: 0, segmentPosts: 0 };
    const carries = (r: Request) => CARRIES[path](new URL(r.url()), r);
    // One interception at a time, of the requests that carry clicks on this path.
    const toServer = (u: URL) => u.pathname === '/v1/segment' || u.pathname.startsWith('/v1/embeddings/');
    let routed: ((route: Route) => unknown) | null = null;
    const route = async (handler: (route: Route) => unknown) => {
      routed = (r: Route) => (carries(r.request()) ? handler(r) : r.continue());
      await page.route(toServer, routed);
    };
    const unroute = async () => {
      if (routed) await page.unroute(toServer, routed);
      routed = null;
    };
    const shot = (name: string) => screenshot(page, `bad-input-${path}-${name}`);
    const step = reportFailures(() => page, `bad-input-${path}`);
    const photos = () => stack.demo.dermoscopy.instances;

    before(async () => {
      stack = await startStack();
      browser = await launchChromium();
      page = await openPage(browser, { width: 1280, height: 800 });
      await overrideGlmedsaConfig(page, () => ({ decodeIn: path }));
      page.on('request', (r) => {
        if (carries(r)) sent.carried++;
        if (CARRIES.server(new URL(r.url()), r)) sent.segmentPosts++;
      });
      const inst = photos()[0]!;
      await page.goto(stack.modeUrl(stack.demo.dermoscopy));
      await waitForViewer(page);
      if (path === 'auto') await page.locator('[data-glmedsa=decode-path][data-path=browser]').waitFor({ timeout: 120_000 });
      await clickImage(page, inst.lesion!.x, inst.lesion!.y);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      accepted = await labelmap(page);
      assert.ok(area(accepted) > 0, 'a mask was accepted before the bad input');
      await shot('0-accepted');
    });

    after(async () => {
      await browser?.close().catch(() => undefined);
      await stack?.stop();
    });

    /** Shows photograph k with OHIF's own previous/next-image keys. */
    async function showPhoto(k: number): Promise<void> {
      const sop = photos()[k]!.sopInstanceUID;
      for (let i = 0; i < photos().length * 2; i++) {
        const shown = await page.evaluate(() => window.glmedsa!.image()?.ref.sopInstanceUID);
        const at = photos().findIndex((p) => p.sopInstanceUID === shown);
        if (at === k) break;
        await page.keyboard.press(at < k ? 'ArrowDown' : 'ArrowUp');
        await page.waitForFunction((prev) => window.glmedsa!.image()?.ref.sopInstanceUID !== prev, photos()[at]?.sopInstanceUID ?? '', { timeout: 20_000, polling: 100 });
      }
      await page.waitForFunction((want) => window.glmedsa!.image()?.ref.sopInstanceUID === want, sop, { timeout: 20_000, polling: 100 });
    }

    /**
     * Shows photograph k, which the browser holds no embedding of: on the browser path the
     * viewer's fetch of it on arrival is answered 404 (and forgotten), so the click fetches again.
     */
    async function arriveUncached(k: number): Promise<void> {
      if (path === 'auto') await route((r) => r.fulfill({ status: 404, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'not now' }) }));
      await showPhoto(k);
      await page.waitForTimeout(1500);
      await unroute();
    }

    /** Clicks photograph k's lesion without waiting for a mask. */
    async function clickLesion(k: number): Promise<void> {
      const inst = photos()[k]!;
      const p = await page.evaluate(([x, y]) => window.glmedsa!.pagePoint(x!, y!), [inst.lesion!.x, inst.lesion!.y]);
      await page.mouse.click(p!.x, p!.y);
    }

    /** Back on photograph 0: the accepted mask is untouched, and a click on the lesion still draws a proposal (taken off again with Esc). */
    async function stillWorks(): Promise<void> {
      await showPhoto(0);
      assert.deepEqual(await labelmap(page), accepted, 'the accepted mask is still in the labelmap');
      const inst = photos()[0]!;
      await clickImage(page, inst.lesion!.x, inst.lesion!.y);
      assert.equal((await status(page)).error, null);
      await clearPrompts(page);
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
      step('outside', async () => {
        let p = await offImagePoint();
        if (!p) {
          // The image fills the canvas: zoom out with the mouse wheel is not our tool's; make room by shrinking the window.
          await page.setViewportSize({ width: 1280, height: 500 });
          await page.waitForTimeout(1500);
          p = await offImagePoint();
        }
        assert.ok(p, 'the viewport shows some canvas beside the image');
        const before = sent.carried;
        await page.mouse.click(p.x, p.y);
        const sentence = await panelError(page, 'outside', 10_000);
        await shot('1-outside');
        log(`${path} outside: "${sentence}"`);
        assert.match(sentence, /outside the image/);
        assert.equal(sent.carried, before, 'nothing is sent for a click outside the image');
        await page.setViewportSize({ width: 1280, height: 800 });
        await page.waitForTimeout(1000);
        await stillWorks();
      }));

    test('a click on an object the model cannot take (a structured report): "not supported", on the path in use', () =>
      step('unsupported', async () => {
        const report = basicTextSr({ seriesDescription: 'bad-input report' });
        await uploadDicom(stack.orthanc, report.bytes);
        await arriveUncached(1);
        const posts = sent.segmentPosts;
        await route(aimAt(path, report.ref));
        try {
          await clickLesion(1);
          const sentence = await panelError(page, 'unsupported', 60_000);
          await shot('2-unsupported');
          log(`${path} unsupported: "${sentence}"`);
          assert.match(sentence, /not supported/);
          assert.match(sentence, /not an image/);
          if (path === 'auto') assert.equal(sent.segmentPosts, posts, 'the refusal is shown, not sent to the server path again');
        } finally {
          await unroute();
        }
        await clearPrompts(page);
        await stillWorks();
      }));

    test('a server answering 503 with Retry-After: "busy, retrying", then the mask once it answers', () =>
      step('busy', async () => {
        await arriveUncached(2);
        let refusing = true;
        let refused = 0;
        await route((r) => {
          if (!refusing) return r.continue();
          refused++;
          return r.fulfill({
            status: 503,
            headers: { 'Retry-After': '1', 'Content-Type': 'application/problem+json' },
            body: JSON.stringify({ type: 'urn:glmedsa:problem:busy', title: 'Busy', status: 503, detail: 'The server is at its queue limit.' }),
          });
        });
        try {
          const n = (await page.evaluate(() => window.glmedsa!.timeline().length)) as number;
          await clickLesion(2);
          const sentence = await panelError(page, 'busy', 20_000);
          await shot('3-busy');
          log(`${path} busy: "${sentence}"`);
          assert.match(sentence, /busy; retrying in 1 s/);
          assert.ok(refused >= 1, 'the click met the 503');
          refusing = false;
          await page.waitForFunction(
            (k) => {
              const t = window.glmedsa!.timeline() as { drawnAt: number | null; answer?: { path?: string } }[];
              const s = window.glmedsa!.status();
              return t.length > k && t[t.length - 1]!.drawnAt !== null && !s.busy && !s.error;
            },
            n,
            { timeout: 60_000, polling: 100 },
          );
          const answer = await page.evaluate(() => (window.glmedsa!.timeline() as { answer?: { path?: string } }[]).at(-1)?.answer?.path);
          assert.equal(answer, path === 'auto' ? 'browser' : 'server', 'the retry answered on the path in use');
          await shot('3-busy-then-drawn');
        } finally {
          await unroute();
        }
        await clearPrompts(page);
        await stillWorks();
      }));

    test('the PACS is down: the panel says so, the accepted mask stays, the viewer still reacts', () =>
      step('pacs-down', async () => {
        // An image the server has not read yet (the CT study is never opened here), so it must ask the PACS.
        const unread = stack.demo.ct.instances[stack.demo.ct.instances.length - 1]!;
        await arriveUncached(3);
        await stack.orthanc.stop({ graceMs: 0 });
        await route(aimAt(path, unread));
        try {
          await clickLesion(3);
          const sentence = await panelError(page, 'pacs', 60_000);
          await shot('4-pacs-down');
          log(`${path} pacs down: "${sentence}"`);
          assert.match(sentence, /PACS is unavailable/);
        } finally {
          await unroute();
        }
        await clearPrompts(page);
        // Photograph 0 is in OHIF's cache already: it shows without the PACS.
        await showPhoto(0);
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
}

badInputSuite('server');
badInputSuite('auto');
