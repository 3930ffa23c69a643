/**
 * npm run bench -- e2e: click-to-drawn latency in the browser, from the mouse event that makes a
 * prompt to the render of the labelmap showing its mask, on a warm embedding cache, for the
 * starter model; median and p95 over 20 clicks with the server's own timings beside them.
 * Real stack (Orthanc, server, OHIF 3.13.2, headless Chromium with SwiftShader WebGL).
 */
import { launchChromium, openPage } from '../helpers/browser.js';
import { startStack } from '../helpers/stack.js';
import { clickImage, waitForViewer } from '../e2e/viewer-steps.js';

interface Sample {
  browserMs: number;
  serverTotalMs: number;
  decodeMs: number;
  /** Mouse event to request sent (the tool, the prompt checks, the markers). */
  toSendMs: number;
  /** Request sent to answer parsed, less the server's own total: the network and HTTP/JSON. */
  networkMs: number;
  /** Answer to mask decoded (panel update, labelmap target, RLE decode). */
  clientDecodeMs: number;
  /** Decoded mask to labelmap written (the preview's copy and write, Cornerstone told). */
  writeMs: number;
  /** Labelmap written to the viewport's render. */
  drawMs: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}

export async function e2eBench(args: string[] = []): Promise<void> {
  const clicks = Number(args.find((a) => /^--clicks=\d+$/.test(a))?.slice(9) ?? 20);
  const stack = await startStack();
  const browser = await launchChromium();
  try {
    const page = await openPage(browser, { width: 1280, height: 800 });
    const inst = stack.demo.dermoscopy.instances[0]!;
    await page.goto(stack.modeUrl(stack.demo.dermoscopy));
    await waitForViewer(page);
    // One click to make sure the embedding is cached (the mode warms it on open too), then reject.
    await clickImage(page, inst.lesion.x, inst.lesion.y);
    await page.keyboard.press('Escape');
    const samples: Sample[] = [];
    for (let i = 0; i < clicks; i++) {
      // Points around the lesion's centre, so each click is a fresh one-point prompt.
      const dx = ((i % 5) - 2) * 3;
      const dy = (Math.floor(i / 5) % 5) * 3 - 6;
      await clickImage(page, inst.lesion.x + dx, inst.lesion.y + dy);
      const t = await page.evaluate(() => window.glmedsa!.timeline().at(-1)!);
      const server = t.server as { totalMs: number; decodeMs: number; embedMs: number } | null;
      if (t.drawnAt === null || !server) throw new Error(`click ${i + 1} has no drawn time or server timings`);
      if (server.embedMs > 0) throw new Error(`click ${i + 1} was not warm (the server encoded for ${server.embedMs} ms)`);
      if (t.sentAt === null || t.answeredAt === null || t.decodedAt === null || t.writtenAt === null) throw new Error(`click ${i + 1} lacks a step of its timeline`);
      samples.push({
        browserMs: t.drawnAt - t.promptAt,
        serverTotalMs: server.totalMs,
        decodeMs: server.decodeMs,
        toSendMs: t.sentAt - t.promptAt,
        networkMs: t.answeredAt - t.sentAt - server.totalMs,
        clientDecodeMs: t.decodedAt - t.answeredAt,
        writeMs: t.writtenAt - t.decodedAt,
        drawMs: t.drawnAt - t.writtenAt,
      });
      await page.keyboard.press('Escape');
    }
    const col = (k: keyof Sample) => samples.map((s) => s[k]);
    const med = (k: keyof Sample) => quantile(col(k), 0.5);
    const p95 = (k: keyof Sample) => quantile(col(k), 0.95);
    const f = (v: number) => v.toFixed(1).padStart(8);
    process.stdout.write(`\nclick-to-drawn, warm cache, starter model, ${samples.length} clicks (ms)\n`);
    process.stdout.write(`                          median      p95\n`);
    process.stdout.write(`browser (mouse->render) ${f(med('browserMs'))} ${f(p95('browserMs'))}\n`);
    process.stdout.write(`server total            ${f(med('serverTotalMs'))} ${f(p95('serverTotalMs'))}\n`);
    process.stdout.write(`server decode           ${f(med('decodeMs'))} ${f(p95('decodeMs'))}\n`);
    process.stdout.write(`split of the browser time:\n`);
    process.stdout.write(`  event -> request sent ${f(med('toSendMs'))} ${f(p95('toSendMs'))}\n`);
    process.stdout.write(`  server                ${f(med('serverTotalMs'))} ${f(p95('serverTotalMs'))}\n`);
    process.stdout.write(`  network + HTTP/JSON   ${f(med('networkMs'))} ${f(p95('networkMs'))}\n`);
    process.stdout.write(`  client decode         ${f(med('clientDecodeMs'))} ${f(p95('clientDecodeMs'))}\n`);
    process.stdout.write(`  labelmap write        ${f(med('writeMs'))} ${f(p95('writeMs'))}\n`);
    process.stdout.write(`  write -> drawn        ${f(med('drawMs'))} ${f(p95('drawMs'))}\n`);
    process.stdout.write(`ratio browser/server (median): ${(med('browserMs') / med('serverTotalMs')).toFixed(2)}x; `);
    process.stdout.write(`outside the server (network, JSON, RLE decode, labelmap write, render): ${(med('browserMs') - med('serverTotalMs')).toFixed(1)} ms median\n`);
  } finally {
    await browser.close().catch(() => undefined);
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await e2eBench(process.argv.slice(2));
}
