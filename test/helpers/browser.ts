/**
 * Debian's Chromium (never a downloaded browser) driven by playwright-core, headless with
 * SwiftShader's WebGL (Cornerstone needs WebGL). Pages record their console and page errors so a
 * failing test can say what the viewer said; screenshots go to artifacts/.
 *
 *   const browser = await launchChromium();
 *   const page = await openPage(browser);
 *   await page.goto(url); await screenshot(page, 'study-list');
 *   if (failed) console.log(consoleOf(page).join('\n'));
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { ARTIFACTS_DIR } from './paths.js';

export const CHROMIUM = process.env['GLMEDSA_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/**
 * Adds to {@link CHROMIUM_ARGS}: WebGPU's SwiftShader adapter. With the base flags alone,
 * `navigator.gpu.requestAdapter()` answers null ("No available adapters."), so the browser decode
 * path runs on wasm; with this flag Chromium 150 gives a fallback adapter (vendor google,
 * architecture swiftshader), --disable-gpu notwithstanding.
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];

export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 60_000 });
}

const logs = new WeakMap<Page, string[]>();

/** A new page (1280x800) whose console messages and uncaught errors are kept for {@link consoleOf}. */
export async function openPage(browser: Browser, o: { width?: number; height?: number; extraHTTPHeaders?: Record<string, string> } = {}): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: o.width ?? 1280, height: o.height ?? 800 },
    ...(o.extraHTTPHeaders ? { extraHTTPHeaders: o.extraHTTPHeaders } : {}),
  });
  const page = await context.newPage();
  const lines: string[] = [];
  logs.set(page, lines);
  page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => lines.push(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return page;
}

/** What the page logged so far (console, page errors, failed requests). */
export function consoleOf(page: Page): string[] {
  return logs.get(page) ?? [];
}

/** Saves a full-page PNG as artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The last lines a page logged, without the viewer's chatty [log]/[timeEnd] lines, for a failure report. */
export function consoleTail(page: Page, lines = 30): string {
  return consoleOf(page)
    .filter((l) => !l.startsWith('[log]') && !l.startsWith('[timeEnd]'))
    .slice(-lines)
    .join('\n# ');
}

/**
 * Runs a test step; when it throws, saves artifacts/<prefix>-failed-<name>.png and prints what the
 * page logged before rethrowing, so a red run says what the viewer showed and said.
 *
 *   const step = reportFailures(() => page, 'bad-input');
 *   test('…', () => step('outside', async () => { … }));
 */
export function reportFailures(page: () => Page | undefined, prefix: string): (name: string, fn: () => Promise<void>) => Promise<void> {
  return async (name, fn) => {
    try {
      await fn();
    } catch (err) {
      const p = page();
      if (p) {
        await screenshot(p, `${prefix}-failed-${name}`).catch(() => undefined);
        process.stdout.write(`# ${consoleTail(p)}\n`);
      }
      throw err;
    }
  };
}

/**
 * Sets `window.config.glmedsa` fields as a site writes them in app-config.js, by rewriting the
 * served app-config.js on its way to the page; `values` is read on every page load, so a test can
 * change the setting between loads.
 */
export async function overrideGlmedsaConfig(page: Page, values: () => Record<string, unknown>): Promise<void> {
  await page.route('**/app-config.js', async (route) => {
    const res = await route.fetch();
    const body = `${await res.text()}\nObject.assign(window.config.glmedsa, ${JSON.stringify(values())});\n`;
    await route.fulfill({ response: res, body });
  });
}
