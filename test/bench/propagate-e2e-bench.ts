/**
 * npm run bench -- e2e-propagate [--runs=N]: the time from P to the last slice drawn in the viewer,
 * for the 64-slice demo CT volume, in headless Chromium against the real stack (Orthanc, the server
 * with the starter model, OHIF 3.13.2 with our mode). A click on the liver lesion's largest slice,
 * then P, N times: cold (each run with a window of its own, so the server reads and encodes every
 * slice afresh) and warm (the same window again, the embeddings cached). For each: P to the
 * request sent, to the server's answer (202), to the first and the last slice written into the
 * labelmap and handed to Cornerstone to draw, and the slices; medians over the runs.
 */
import type { Page } from 'playwright-core';
import { launchChromium, openPage } from '../helpers/browser.js';
import { startStack } from '../helpers/stack.js';
import { clickImage, goToImage, waitForViewer } from '../e2e/viewer-steps.js';

interface Timing {
  askedAt: number;
  acceptedAt: number | null;
  firstSliceAt: number | null;
  lastSliceAt: number | null;
  endedAt: number | null;
  slicesDrawn: number;
  state: string;
}

interface Run {
  toAsked: number;
  toAccepted: number;
  toFirst: number;
  toLast: number;
  toEnd: number;
  slices: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

/** Sets the window of the viewport on show (the bench's hand on the viewer's own Cornerstone). */
async function setWindow(page: Page, center: number, width: number): Promise<void> {
  await page.evaluate(
    ([c, w]) => {
      const cs = (window as unknown as { cornerstone: { getRenderingEngines(): { getViewports(): { setProperties(p: unknown): void; render(): void }[] }[] } }).cornerstone;
      for (const e of cs.getRenderingEngines()) for (const vp of e.getViewports()) (vp.setProperties({ voiRange: { lower: c! - w! / 2, upper: c! + w! / 2 } }), vp.render());
    },
    [center, width],
  );
  await page.waitForTimeout(300);
}

async function onePropagation(page: Page, at: { x: number; y: number }): Promise<Run> {
  await clickImage(page, at.x, at.y);
  const before = (await page.evaluate(() => (window.glmedsa as unknown as { propagations(): unknown[] }).propagations().length)) as number;
  const pressedAt = (await page.evaluate(() => performance.now())) as number;
  await page.keyboard.press('p');
  await page.waitForFunction(
    (n) => {
      const t = (window.glmedsa as unknown as { propagations(): { endedAt: number | null }[] }).propagations();
      return t.length > n && t.at(-1)!.endedAt !== null;
    },
    before,
    { timeout: 300_000, polling: 50 },
  );
  const t = (await page.evaluate(() => (window.glmedsa as unknown as { propagations(): Timing[] }).propagations().at(-1)!)) as Timing;
  if (t.state !== 'succeeded') throw new Error(`the propagation ended ${t.state}`);
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
  const since = (v: number | null) => (v === null ? NaN : v - pressedAt);
  return { toAsked: since(t.askedAt), toAccepted: since(t.acceptedAt), toFirst: since(t.firstSliceAt), toLast: since(t.lastSliceAt), toEnd: since(t.endedAt), slices: t.slicesDrawn };
}

export async function propagateE2eBench(args: string[] = []): Promise<void> {
  const runs = Number(args.find((a) => /^--runs=\d+$/.test(a))?.slice(7) ?? 5);
  const progress = (line: string) => process.stderr.write(`e2e-propagate bench: ${line}\n`);
  progress('starting Orthanc, the server and Chromium...');
  const stack = await startStack();
  const browser = await launchChromium();
  try {
    const page = await openPage(browser, { width: 1280, height: 800 });
    const ct = stack.demo.ct;
    const seed = ct.instances[ct.lesionIndex]!;
    await page.goto(stack.modeUrl(ct));
    await waitForViewer(page);
    await goToImage(page, ct, ct.lesionIndex);
    // Let the viewer finish loading the series (its image requests share the browser's connections).
    await page.waitForTimeout(5000);
    const cold: Run[] = [];
    const warm: Run[] = [];
    for (let k = 0; k < runs; k++) {
      const center = 40 + 7 * (k + 1);
      await setWindow(page, center, 400);
      progress(`run ${k + 1} of ${runs}: cold (window ${center}/400)`);
      cold.push(await onePropagation(page, seed.lesion!));
      progress(`run ${k + 1} of ${runs}: warm (the same window again)`);
      warm.push(await onePropagation(page, seed.lesion!));
    }
    const out = process.stdout;
    const cell = (xs: Run[], k: keyof Run) => (k === 'slices' ? String(median(xs.map((x) => x[k]))) : `${median(xs.map((x) => x[k])).toFixed(0)} ms`).padStart(9);
    out.write(`\nP to the last slice drawn, the ${ct.instances.length}-slice demo CT (${seed.width}x${seed.height}), the starter model, medians of ${runs} runs\n`);
    out.write(`${''.padEnd(34)}${'asked'.padStart(9)}${'answered'.padStart(9)}${'first'.padStart(9)}${'last'.padStart(9)}${'end'.padStart(9)}${'slices'.padStart(9)}\n`);
    for (const [name, xs] of [['cold (every slice read and encoded)', cold], ['warm (embeddings cached)', warm]] as const) {
      out.write(`${name.padEnd(34)}${cell(xs, 'toAsked')}${cell(xs, 'toAccepted')}${cell(xs, 'toFirst')}${cell(xs, 'toLast')}${cell(xs, 'toEnd')}${cell(xs, 'slices')}\n`);
    }
    out.write(`(from the P key: the request sent, the server's 202, the first and the last slice written into the labelmap and handed to Cornerstone, the end event; per run: ${cold.map((r) => r.toLast.toFixed(0)).join(', ')} ms cold, ${warm.map((r) => r.toLast.toFixed(0)).join(', ')} ms warm)\n`);
  } finally {
    await browser.close().catch(() => undefined);
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await propagateE2eBench(process.argv.slice(2));
}
