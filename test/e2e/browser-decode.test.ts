/**
 * Browser decoding end to end in headless Chromium: on the demo dermoscopy photograph and a CT
 * slice, the same prompts (one click, several clicks, a box, a refinement of a first mask with a
 * Shift+click) are answered once by the server path (decodeIn 'server', set in app-config.js) and
 * once by the default 'auto' path, which must decode in the browser: the drawn labelmaps agree on
 * at least 99.9% of pixels with the same best-mask choice, and no POST /v1/segment is sent while
 * the browser path answers. Then the fallbacks: a decoder that is not there (404) and a corrupt
 * decoder (both by request interception): the server path answers and the panel says why.
 * Screenshots go to artifacts/browser-decode-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPage, overrideGlmedsaConfig, reportFailures, screenshot } from '../helpers/browser.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { agreement, boundsOf, clearPrompts, clickImage, type DecodeAnswer, goToImage, decodePathLine, dragBox, labelmap, lastAnswer, status, waitForViewer } from './viewer-steps.js';

type DecodeIn = 'auto' | 'server';
type Outcome = { mask: Uint8Array; answer: DecodeAnswer };

function log(line: string): void {
  process.stdout.write(`# ${line}\n`);
}

describe('clicks decoded in the browser equal the server path (OHIF 3.13.2 + GLMed-SA, headless Chromium)', { timeout: 900_000 }, () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let decodeIn: DecodeIn = 'auto';
  let segmentPosts = 0;

  before(async () => {
    stack = await startStack();
    browser = await launchChromium();
    page = await openPage(browser, { width: 1280, height: 800 });
    // The extension's setting, as a site writes it in app-config.js.
    await overrideGlmedsaConfig(page, () => ({ decodeIn }));
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/segment') segmentPosts++;
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  });

  const guarded = reportFailures(() => page, 'browser-decode');


  /** The four prompt sets on the lesion image of a demo series (the first photograph, the CT slice with the largest lesion section), each from a clean image. */
  async function runPrompts(kind: 'dermoscopy' | 'ct', mode: DecodeIn): Promise<Record<string, Outcome>> {
    const series = kind === 'dermoscopy' ? stack.demo.dermoscopy : stack.demo.ct;
    const index = series.lesionIndex;
    const inst = series.instances[index]!;
    const { width, height } = inst;
    const truth = stack.groundTruth(kind, index);
    decodeIn = mode;
    await page.goto(stack.modeUrl(series));
    await waitForViewer(page);
    await goToImage(page, series, index);
    const line = await decodePathLine(page, mode === 'server' ? 'server' : 'browser');
    log(`${kind}, decodeIn ${mode}: ${line}`);
    const out: Record<string, Outcome> = {};
    const record = async (name: string, prompts: number) => {
      // A click the tool took twice (clickImage retries one that seemed lost on a busy machine) is not the same prompt set.
      assert.equal((await status(page)).prompts, prompts, `${name}: ${prompts} prompts on the image`);
      out[name] = { mask: await labelmap(page), answer: await lastAnswer(page) };
      await screenshot(page, `browser-decode-${kind}-${mode}-${name}`);
      await clearPrompts(page);
    };
    const { x, y } = inst.lesion!;
    // A first click, not compared: it waits for whatever the image still needs (the embedding, a wasm compile).
    await clickImage(page, x, y);
    await clearPrompts(page);
    await clickImage(page, x, y);
    await record('one-click', 1);

    await clickImage(page, x, y);
    await clickImage(page, Math.min(width - 1, x + 6), y);
    await clickImage(page, Math.round(width * 0.12), Math.round(height * 0.5), { shift: true });
    await record('several-clicks', 3);

    const box = boundsOf(truth, width, height, 8);
    await dragBox(page, box.a, box.b);
    await record('box', 1);

    // A refinement: the first mask is sent back (its low-res logits in the browser, its maskId to the server) with a Shift+click.
    await clickImage(page, x, y);
    await clickImage(page, Math.min(width - 1, x + Math.round(width * 0.2)), Math.min(height - 1, y + Math.round(height * 0.2)), { shift: true });
    await record('refinement', 2);
    return out;
  }

  for (const kind of ['dermoscopy', 'ct'] as const) {
    test(`${kind}: the browser path draws the server path's masks, without POST /v1/segment`, () =>
      guarded(kind, async () => {
        const server = await runPrompts(kind, 'server');
        for (const o of Object.values(server)) assert.equal(o.answer.path, 'server');
        const postsBefore = segmentPosts;
        const local = await runPrompts(kind, 'auto');
        assert.equal(segmentPosts, postsBefore, 'no POST /v1/segment while the browser path answers');
        for (const [name, s] of Object.entries(server)) {
          const b = local[name]!;
          assert.equal(b.answer.path, 'browser', `${name}: decoded in the browser`);
          const agree = agreement(s.mask, b.mask);
          const fg = s.mask.reduce((a, v) => a + (v ? 1 : 0), 0);
          log(`${kind} ${name}: ${(agree * 100).toFixed(3)}% of pixels agree (server foreground ${fg}), best ${s.answer.best} / ${b.answer.best}, scores ${s.answer.scores.map((v) => v.toFixed(3))} / ${b.answer.scores.map((v) => v.toFixed(3))}`);
          assert.ok(fg > 0, `${name}: the server path drew a mask`);
          assert.ok(agree >= 0.999, `${name}: ${(agree * 100).toFixed(3)}% of pixels agree, need 99.9%`);
          assert.equal(b.answer.best, s.answer.best, `${name}: the same best mask`);
          assert.equal(b.answer.scores.length, s.answer.scores.length, `${name}: as many candidates`);
        }
      }));
  }

  async function fallback(name: string, pattern: string, answer: Parameters<Page['route']>[1], reason: RegExp): Promise<void> {
    await page.route(pattern, answer);
    try {
      decodeIn = 'auto';
      const inst = stack.demo.dermoscopy.instances[0]!;
      await page.goto(stack.modeUrl(stack.demo.dermoscopy));
      await waitForViewer(page);
      const line = await decodePathLine(page, 'server');
      log(`${name}: ${line}`);
      assert.match(line, /^Clicks are decoded on the server because /);
      assert.match(line, reason);
      const posts = segmentPosts;
      await clickImage(page, inst.lesion!.x, inst.lesion!.y);
      assert.equal((await lastAnswer(page)).path, 'server');
      assert.equal(segmentPosts, posts + 1, 'the click went to the server');
      const s = await status(page);
      assert.equal(s.error, null);
      assert.ok((await labelmap(page)).some((v) => v), 'the server path drew the mask');
      await screenshot(page, `browser-decode-fallback-${name}`);
      await clearPrompts(page);
    } finally {
      await page.unroute(pattern);
    }
  }

  test('a decoder that is not there (404): the server decodes, and the panel says why', () =>
    guarded('404', () =>
      fallback(
        '404',
        '**/v1/models/*/decoder.onnx',
        (route) => route.fulfill({ status: 404, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'no decoder here' }) }),
        /because the server did not send the decoder \(HTTP 404: no decoder here\)\.$/,
      ),
    ));

  test('a corrupt decoder: the server decodes, and the panel says why', () =>
    guarded('corrupt', () =>
      fallback(
        'corrupt',
        '**/v1/models/*/decoder.onnx',
        async (route) => {
          // The decoder's bytes (the redirect followed), damaged on the way, with the server's version headers.
          const res = await route.fetch();
          const bytes = Buffer.from(await res.body());
          for (let i = 0; i < bytes.length; i += 7) bytes[i] = 0xff;
          await route.fulfill({ status: 200, headers: res.headers(), body: bytes });
        },
        /because onnxruntime-web could not load the decoder \(/,
      ),
    ));
});
