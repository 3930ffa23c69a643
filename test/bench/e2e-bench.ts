/**
 * npm run bench -- e2e: click-to-drawn latency in the browser, from the mouse event that makes a
 * prompt to the render of the labelmap showing its mask, on a warm embedding cache, for the
 * starter model; median and p95 over 20 clicks, for both decoding paths (decodeIn 'server': every
 * click is a POST /v1/segment; 'browser': the decoder runs in onnxruntime-web on the image's
 * embedding). Beside it: the bytes each path moves per image and per click, the server requests
 * per click, and both paths again while 8 simulated clients (Node fetch loops of POST /v1/segment
 * on other images) keep the server busy.
 * Real stack (Orthanc, server, OHIF 3.13.2, headless Chromium with SwiftShader WebGL).
 */
import type { Page, Request } from 'playwright-core';
import type { DemoInstance } from '@glmedsa/server/dist/src/demo/demo-studies.js';
import { launchChromium, openPage, overrideGlmedsaConfig } from '../helpers/browser.js';
import { type Stack, startStack } from '../helpers/stack.js';
import { clickImage, waitForViewer } from '../e2e/viewer-steps.js';

type Path = 'server' | 'browser';

interface Traffic {
  requests: number;
  bytes: number;
}

/** Requests to our API and their bytes (headers and bodies, both ways), by phase. */
class Meter {
  private phase: string | null = null;
  readonly byPhase = new Map<string, Traffic>();
  private pending: Promise<void>[] = [];

  constructor(page: Page) {
    page.on('requestfinished', (r: Request) => {
      const path = new URL(r.url()).pathname;
      // The panel's 5 s health/models poll is not the click's traffic.
      if (!path.startsWith('/v1/') || path === '/v1/models' || !this.phase) return;
      const phase = this.phase;
      const kind = path.includes('/decoder') ? 'decoder' : path.startsWith('/v1/embeddings') ? 'embedding' : 'other';
      this.pending.push(
        r.sizes().then((s) => {
          for (const key of [phase, `${phase}/${kind}`]) {
            const t = this.byPhase.get(key) ?? { requests: 0, bytes: 0 };
            t.requests++;
            t.bytes += s.requestHeadersSize + s.requestBodySize + s.responseHeadersSize + Math.max(0, s.responseBodySize);
            this.byPhase.set(key, t);
          }
        }),
      );
    });
  }

  start(phase: string): void {
    this.phase = phase;
  }

  async get(phase: string): Promise<Traffic> {
    await Promise.all(this.pending);
    return this.byPhase.get(phase) ?? { requests: 0, bytes: 0 };
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}

/** One click's time from the mouse event to the render, and its split (ms; see extension/src/timeline.ts). */
interface Sample {
  total: number;
  /** Mouse event to request sent (or to the browser decoder's call). */
  toSend: number;
  /** Sent to answered: the server path's network + server; the browser path's onnxruntime-web decode. */
  answer: number;
  /** Of `answer`, the server's own total (0 on the browser path). */
  server: number;
  /** Answered to mask decoded (RLE or logits to a mask), written into the labelmap, and rendered. */
  decode: number;
  write: number;
  draw: number;
}

/** 20 warm one-point clicks around the lesion; the mouse-to-render times and their split. */
async function clicks(page: Page, inst: DemoInstance, n: number, path: Path): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const dx = ((i % 5) - 2) * 3;
    const dy = (Math.floor(i / 5) % 5) * 3 - 6;
    await clickImage(page, inst.lesion!.x + dx, inst.lesion!.y + dy);
    const t = (await page.evaluate(() => window.glmedsa!.timeline().at(-1)!)) as {
      promptAt: number; sentAt: number | null; answeredAt: number | null; decodedAt: number | null; writtenAt: number | null; drawnAt: number | null;
      server: { embedMs: number; totalMs: number } | null; answer?: { path: Path };
    };
    if (t.drawnAt === null || !t.server) throw new Error(`click ${i + 1} has no drawn time or timings`);
    if (t.sentAt === null || t.answeredAt === null || t.decodedAt === null || t.writtenAt === null) throw new Error(`click ${i + 1} lacks a step of its timeline`);
    if (t.answer?.path !== path) throw new Error(`click ${i + 1} was decoded by the ${t.answer?.path} path, not the ${path} path`);
    if (t.server.embedMs > 0) throw new Error(`click ${i + 1} was not warm (the server encoded for ${t.server.embedMs} ms)`);
    out.push({
      total: t.drawnAt - t.promptAt,
      toSend: t.sentAt - t.promptAt,
      answer: t.answeredAt - t.sentAt,
      server: path === 'server' ? t.server.totalMs : 0,
      decode: t.decodedAt - t.answeredAt,
      write: t.writtenAt - t.decodedAt,
      draw: t.drawnAt - t.writtenAt,
    });
    await page.keyboard.press('Escape');
  }
  return out;
}

/** `n` clients clicking on other images (one-point POST /v1/segment, back to back) until stopped. */
function loadClients(stack: Stack, images: DemoInstance[], n: number): { stop(): Promise<number> } {
  const base = stack.viewerUrl.replace(/\/$/, '');
  let running = true;
  let done = 0;
  const loops = Array.from({ length: n }, async (_, k) => {
    const img = images[k % images.length]!;
    const image = { studyInstanceUID: img.studyInstanceUID, seriesInstanceUID: img.seriesInstanceUID, sopInstanceUID: img.sopInstanceUID, frame: 1 };
    while (running) {
      const res = await fetch(`${base}/v1/segment`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image, points: [{ x: img.lesion!.x, y: img.lesion!.y, label: 1 }] }) });
      await res.arrayBuffer();
      if (res.ok) done++;
      else await new Promise((r) => setTimeout(r, 50));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return done;
    },
  };
}

export async function e2eBench(args: string[] = []): Promise<void> {
  const n = Number(args.find((a) => /^--clicks=\d+$/.test(a))?.slice(9) ?? 20);
  const clients = Number(args.find((a) => /^--clients=\d+$/.test(a))?.slice(10) ?? 8);
  const progress = (line: string) => process.stderr.write(`e2e bench: ${line}\n`);
  progress('starting Orthanc, the server and Chromium...');
  const stack = await startStack();
  const browser = await launchChromium();
  let decodeIn: Path = 'server';
  try {
    const page = await openPage(browser, { width: 1280, height: 800 });
    await overrideGlmedsaConfig(page, () => ({ decodeIn }));
    const meter = new Meter(page);
    const inst = stack.demo.dermoscopy.instances[0]!;
    // the other photographs and 8 slices of the CT volume that show a lesion (the load clients click on it)
    const others = [...stack.demo.dermoscopy.instances.slice(1), ...stack.demo.ct.instances.filter((i) => i.lesion).slice(0, 8)];
    // The load's images are encoded once before, so the 8 clients load the decoder, as warm clicks do.
    const base = stack.viewerUrl.replace(/\/$/, '');
    for (const img of others) {
      await fetch(`${base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: { studyInstanceUID: img.studyInstanceUID, seriesInstanceUID: img.seriesInstanceUID, sopInstanceUID: img.sopInstanceUID, frame: 1 } }) });
    }
    const results: Record<Path, { quiet: Sample[]; loaded: Sample[]; image: Traffic; decoder: Traffic; click: Traffic; loadDone: number; backend: string }> = {} as never;
    for (const path of ['server', 'browser'] as const) {
      decodeIn = path;
      progress(`${path} path: opening the viewer`);
      meter.start(`${path}:image`);
      await page.goto(stack.modeUrl(stack.demo.dermoscopy));
      await waitForViewer(page);
      const line = page.locator(`[data-glmedsa=decode-path][data-path=${path}]`);
      await line.waitFor({ timeout: 120_000 });
      const backend = (await line.getAttribute('data-backend')) ?? '';
      // The first click waits for what the image needs (the embedding, the decoder); it is not timed.
      await clickImage(page, inst.lesion!.x, inst.lesion!.y);
      await page.keyboard.press('Escape');
      progress(`${path} path: ${n} quiet clicks`);
      meter.start(`${path}:clicks`);
      const quiet = await clicks(page, inst, n, path);
      progress(`${path} path: ${n} clicks with ${clients} clients clicking beside them`);
      meter.start(`${path}:loaded`);
      const load = loadClients(stack, others, clients);
      await new Promise((r) => setTimeout(r, 1000));
      const loaded = await clicks(page, inst, n, path);
      const loadDone = await load.stop();
      meter.start('idle');
      const image = await meter.get(`${path}:image/embedding`);
      const decoder = await meter.get(`${path}:image/decoder`);
      const click = await meter.get(`${path}:clicks`);
      results[path] = { quiet, loaded, image, decoder, click: { requests: click.requests / n, bytes: click.bytes / n }, loadDone, backend };
    }
    const f = (v: number) => v.toFixed(1).padStart(8);
    const kb = (v: number) => `${(v / 1024).toFixed(1)} KiB`;
    const med = (xs: Sample[], k: keyof Sample = 'total') => quantile(xs.map((x) => x[k]), 0.5);
    const p95 = (xs: Sample[], k: keyof Sample = 'total') => quantile(xs.map((x) => x[k]), 0.95);
    const out = process.stdout;
    out.write(`\nclick-to-drawn (mouse event -> labelmap render), warm, starter model, ${n} clicks each (ms)\n`);
    out.write(`                                      median      p95\n`);
    for (const p of ['server', 'browser'] as const) {
      const r = results[p];
      out.write(`${`${p} path${p === 'browser' ? ` (${r.backend})` : ''}`.padEnd(36)} ${f(med(r.quiet))} ${f(p95(r.quiet))}\n`);
      out.write(`${`${p} path, ${clients} clients clicking`.padEnd(36)} ${f(med(r.loaded))} ${f(p95(r.loaded))}   (the clients made ${r.loadDone} requests meanwhile)\n`);
    }
    const s = results.server;
    const b = results.browser;
    out.write(`ratio server/browser (median): quiet ${(med(s.quiet) / med(b.quiet)).toFixed(2)}x, under load ${(med(s.loaded) / med(b.loaded)).toFixed(2)}x\n`);
    out.write(`load slowdown (median loaded/quiet): server path ${(med(s.loaded) / med(s.quiet)).toFixed(2)}x, browser path ${(med(b.loaded) / med(b.quiet)).toFixed(2)}x\n`);
    out.write(`\nsplit of the quiet clicks (median, p95 ms): event->sent, sent->answered (server: of which the server's own total), decode, labelmap write, write->render\n`);
    for (const p of ['server', 'browser'] as const) {
      const q = results[p].quiet;
      const cell = (k: keyof Sample) => `${med(q, k).toFixed(1)}/${p95(q, k).toFixed(1)}`;
      out.write(`${p.padEnd(8)} ${cell('toSend')}  ${cell('answer')}${p === 'server' ? ` (server ${cell('server')})` : ''}  ${cell('decode')}  ${cell('write')}  ${cell('draw')}\n`);
    }
    out.write(`\ntraffic to the API (headers + bodies; the 5 s health/models poll left out)\n`);
    for (const p of ['server', 'browser'] as const) {
      const r = results[p];
      out.write(`${p} path: per image ${kb(r.image.bytes)} in ${r.image.requests} embedding requests (the study's first image and the warm-up of its neighbours); per click ${kb(r.click.bytes)} in ${r.click.requests.toFixed(2)} server requests`);
      out.write(p === 'browser' ? `; once per model and adapter version: the decoder, ${kb(r.decoder.bytes)}\n` : '\n');
    }
  } finally {
    await browser.close().catch(() => undefined);
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await e2eBench(process.argv.slice(2));
}
