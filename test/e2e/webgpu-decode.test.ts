/**
 * Browser decoding on WebGPU end to end in headless Chromium without a GPU: Chromium started with
 * --enable-unsafe-webgpu (WEBGPU_ARGS) gives `navigator.gpu` SwiftShader's fallback adapter, so
 * ort-backend's WebGPU branch runs. On the demo dermoscopy photograph one click and a refinement (a
 * Shift+click with the first mask sent back) are answered once by the server path (decodeIn
 * 'server') and once by decodeIn 'browser': the panel must say the WebGPU backend is used, no
 * POST /v1/segment may be sent, and the drawn labelmaps must agree on at least 99.9% of pixels
 * with the same best mask. Then a page whose GPUAdapter refuses requestDevice: the decoder runs on
 * wasm and the panel's line says WebGPU did not take it, and why. Screenshots go to
 * artifacts/webgpu-decode-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WEBGPU_ARGS, launchChromium, openPage, overrideGlmedsaConfig, reportFailures, screenshot } from '../helpers/browser.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { agreement, clearPrompts, clickImage, type DecodeAnswer, decodePathLine, labelmap, lastAnswer, status, waitForViewer } from './viewer-steps.js';

type DecodeIn = 'browser' | 'server';
type Outcome = { mask: Uint8Array; answer: DecodeAnswer };

function log(line: string): void {
  process.stdout.write(`# ${line}\n`);
}

describe('clicks decoded in the browser on WebGPU (SwiftShader) equal the server path (OHIF 3.13.2 + GLMed-SA, headless Chromium)', { timeout: 900_000 }, () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let decodeIn: DecodeIn = 'browser';
  let segmentPosts = 0;
  const ortFiles = new Set<string>();

  before(async () => {
    stack = await startStack();
    browser = await launchChromium(WEBGPU_ARGS);
    page = await watched(await openPage(browser, { width: 1280, height: 800 }));
  });

  /**
   * The page with decodeIn set in its app-config.js (as a site writes it), and decodeBackend
   * 'webgpu': the adapter here is SwiftShader's software one, which 'auto' passes over for wasm.
   * Its segment POSTs and ort files are counted.
   */
  async function watched(p: Page, decodeBackend: 'webgpu' | null = 'webgpu'): Promise<Page> {
    await overrideGlmedsaConfig(p, () => ({ decodeIn, ...(decodeBackend ? { decodeBackend } : {}) }));
    p.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (r.method() === 'POST' && path === '/v1/segment') segmentPosts++;
      if (path.startsWith('/ext/ort/')) ortFiles.add(path.slice('/ext/ort/'.length));
    });
    return p;
  }

  after(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  });

  const guarded = reportFailures(() => page, 'webgpu-decode');


  test('the viewer page gets a WebGPU adapter', () =>
    guarded('adapter', async () => {
      await page.goto(stack.viewerUrl);
      const info = await page.evaluate(async () => {
        const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string } } | null> } }).gpu;
        const a = await gpu?.requestAdapter();
        return a ? { vendor: a.info?.vendor ?? '', architecture: a.info?.architecture ?? '' } : null;
      });
      log(`adapter: ${JSON.stringify(info)}`);
      assert.ok(info, `Chromium with ${WEBGPU_ARGS.join(' ')} gives navigator.gpu an adapter`);
    }));

  async function runPrompts(mode: DecodeIn): Promise<Record<string, Outcome>> {
    const series = stack.demo.dermoscopy;
    const inst = series.instances[0]!;
    const { width, height } = inst;
    decodeIn = mode;
    await page.goto(stack.modeUrl(series));
    await waitForViewer(page);
    const line = await decodePathLine(page, mode);
    log(`decodeIn ${mode}: ${line}`);
    if (mode === 'browser') assert.equal(line, 'Clicks are decoded in the browser (WebGPU).');
    const out: Record<string, Outcome> = {};
    const record = async (name: string, prompts: number) => {
      const st = await status(page);
      assert.equal(st.prompts, prompts, `${name}: ${prompts} prompts on the image`);
      log(`decodeIn ${mode}, ${name}: the click took ${st.last?.totalMs.toFixed(0) ?? '?'} ms`);
      out[name] = { mask: await labelmap(page), answer: await lastAnswer(page) };
      await screenshot(page, `webgpu-decode-${mode}-${name}`);
      await clearPrompts(page);
    };
    const { x, y } = inst.lesion!;
    // A first click, not compared: it waits for whatever the image still needs (the embedding, shader compiles).
    await clickImage(page, x, y);
    await clearPrompts(page);
    await clickImage(page, x, y);
    await record('one-click', 1);
    await clickImage(page, x, y);
    await clickImage(page, Math.min(width - 1, x + Math.round(width * 0.2)), Math.min(height - 1, y + Math.round(height * 0.2)), { shift: true });
    await record('refinement', 2);
    // Still WebGPU after the clicks (a run that failed on it would have said so or fallen back).
    if (mode === 'browser') assert.equal(await decodePathLine(page, 'browser'), 'Clicks are decoded in the browser (WebGPU).');
    return out;
  }

  test("dermoscopy: the WebGPU backend draws the server path's masks, without POST /v1/segment", () =>
    guarded('dermoscopy', async () => {
      const server = await runPrompts('server');
      for (const o of Object.values(server)) assert.equal(o.answer.path, 'server');
      const postsBefore = segmentPosts;
      const local = await runPrompts('browser');
      assert.equal(segmentPosts, postsBefore, 'no POST /v1/segment while the browser path answers');
      log(`onnxruntime-web files loaded: ${[...ortFiles].sort().join(', ')}`);
      for (const [name, s] of Object.entries(server)) {
        const b = local[name]!;
        assert.equal(b.answer.path, 'browser', `${name}: decoded in the browser`);
        const agree = agreement(s.mask, b.mask);
        const fg = s.mask.reduce((a, v) => a + (v ? 1 : 0), 0);
        log(`${name}: ${(agree * 100).toFixed(3)}% of pixels agree (server foreground ${fg}), best ${s.answer.best} / ${b.answer.best}, scores ${s.answer.scores.map((v) => v.toFixed(3))} / ${b.answer.scores.map((v) => v.toFixed(3))}`);
        assert.ok(fg > 0, `${name}: the server path drew a mask`);
        assert.ok(agree >= 0.999, `${name}: ${(agree * 100).toFixed(3)}% of pixels agree, need 99.9%`);
        assert.equal(b.answer.best, s.answer.best, `${name}: the same best mask`);
        assert.equal(b.answer.scores.length, s.answer.scores.length, `${name}: as many candidates`);
      }
    }));

  test('an adapter whose device cannot be had: the decoder runs on wasm, and the panel says WebGPU did not take it and why', async () => {
    // A page of its own, where every GPUAdapter refuses requestDevice (as a lost or blocklisted GPU would).
    const failing = await watched(await openPage(browser, { width: 1280, height: 800 }));
    await failing.context().addInitScript(() => {
      const proto = (globalThis as unknown as { GPUAdapter?: { prototype: { requestDevice: () => Promise<unknown> } } }).GPUAdapter?.prototype;
      if (proto) proto.requestDevice = () => Promise.reject(new Error('test: requestDevice refused'));
    });
    const was = page;
    page = failing; // guarded() screenshots this page
    try {
      await guarded('device-refused', async () => {
        decodeIn = 'browser';
        const inst = stack.demo.dermoscopy.instances[0]!;
        await failing.goto(stack.modeUrl(stack.demo.dermoscopy));
        await waitForViewer(failing);
        const line = await decodePathLine(failing, 'browser');
        log(`device refused: ${line}`);
        assert.match(line, /^Clicks are decoded in the browser \((wasm with \d+ threads|single-threaded wasm); WebGPU did not take the decoder: .*test: requestDevice refused.*\)\.$/);
        const posts = segmentPosts;
        await clickImage(failing, inst.lesion!.x, inst.lesion!.y);
        assert.equal((await lastAnswer(failing)).path, 'browser');
        assert.equal(segmentPosts, posts, 'no POST /v1/segment');
        assert.ok((await labelmap(failing)).some((v) => v), 'the wasm backend drew the mask');
        await screenshot(failing, 'webgpu-decode-device-refused');
      });
    } finally {
      page = was;
      await failing.context().close();
    }
  });

  test("by default a software adapter is passed over: the decoder runs on wasm (5 times faster than SwiftShader's WebGPU here)", async () => {
    const plain = await watched(await openPage(browser, { width: 1280, height: 800 }), null);
    const was = page;
    page = plain;
    try {
      await guarded('software-adapter', async () => {
        decodeIn = 'browser';
        await plain.goto(stack.modeUrl(stack.demo.dermoscopy));
        await waitForViewer(plain);
        const software = await plain.evaluate(async () => {
          const a = (await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean } } | null> } }).gpu?.requestAdapter()) ?? null;
          return a ? (a.info?.isFallbackAdapter ?? null) : null;
        });
        assert.equal(software, true, 'the page has a WebGPU adapter, and it says it is a fallback (software) one');
        const line = await decodePathLine(plain, 'browser');
        log(`software adapter, default backend: ${line}`);
        assert.match(line, /^Clicks are decoded in the browser \((wasm with \d+ threads|single-threaded wasm)\)\.$/);
      });
    } finally {
      page = was;
      await plain.context().close();
    }
  });
});
