/**
 * Steps of the browser tests, driven through the page like a user (mouse, keys, the panel's
 * buttons) and read back through the extension's read-only diagnostics (window.glmedsa).
 */
import type { Page } from 'playwright-core';

type Status = {
  server: string;
  busy: boolean;
  error: string | null;
  errorKind: string | null;
  prompts: number;
  last: { totalMs: number } | null;
  candidates: { index: number; count: number } | null;
};

declare global {
  interface Window {
    glmedsa?: {
      status(): Status;
      timeline(): { promptAt: number; sentAt: number | null; answeredAt: number | null; decodedAt: number | null; writtenAt: number | null; drawnAt: number | null; server: unknown }[];
      labelmap(segmentIndex?: number): { width: number; height: number; data: number[] } | null;
      pagePoint(x: number, y: number): { x: number; y: number } | null;
      image(): { width: number; height: number; ref: { sopInstanceUID: string } } | null;
      properties(): { voiRange?: { lower: number; upper: number } } | null;
    };
  }
}

/** Waits until our mode shows an image, the panel sees the server, and the viewport has settled. */
export async function waitForViewer(page: Page, timeoutMs = 120_000): Promise<void> {
  await page.waitForFunction(
    () => {
      try {
        return !!window.glmedsa?.image() && !!window.glmedsa.pagePoint(1, 1) && document.querySelector('[data-glmedsa=panel]') !== null;
      } catch {
        return false;
      }
    },
    null,
    { timeout: timeoutMs, polling: 250 },
  );
  // The hanging protocol may still swap the viewport's stack in; give it a moment to settle.
  await page.waitForTimeout(2000);
}

export async function status(page: Page): Promise<Status> {
  return page.evaluate(() => window.glmedsa!.status());
}

/** Clicks image pixel (x, y) (Shift held for a negative point) and waits for that prompt's mask to be drawn. */
export async function clickImage(page: Page, x: number, y: number, o: { shift?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const before = (await page.evaluate(() => window.glmedsa!.timeline().length)) as number;
  for (let attempt = 0; attempt < 3; attempt++) {
    const p = await page.evaluate(([px, py]) => window.glmedsa!.pagePoint(px!, py!), [x, y]);
    if (!p) throw new Error('the viewport cannot place that image point');
    if (o.shift) await page.keyboard.down('Shift');
    await page.mouse.click(p.x, p.y);
    if (o.shift) await page.keyboard.up('Shift');
    // A click right after the viewport was (re)built can land before the tool is bound: try again then.
    const registered = await page
      .waitForFunction((n) => window.glmedsa!.timeline().length > n, before, { timeout: 5000, polling: 100 })
      .then(() => true)
      .catch(() => false);
    if (registered) break;
    if (attempt === 2) throw new Error('the click tool did not take the click');
  }
  await page.waitForFunction(
    (n) => {
      const t = window.glmedsa!.timeline();
      const s = window.glmedsa!.status();
      return (t.length > n && t[t.length - 1]!.drawnAt !== null && !s.busy) || (!!s.error && !s.busy);
    },
    before,
    { timeout: o.timeoutMs ?? 90_000, polling: 100 },
  );
  const s = await status(page);
  if (s.error) throw new Error(`the panel shows an error after the click: ${s.error}`);
}

/** The labelmap of the image on show, 0/1 per pixel: any segment, or only `segmentIndex`'s pixels. */
export async function labelmap(page: Page, segmentIndex?: number): Promise<Uint8Array> {
  const l = await page.evaluate((i) => window.glmedsa!.labelmap(i ?? undefined), segmentIndex ?? null);
  if (!l) throw new Error('there is no labelmap for the image on show');
  return Uint8Array.from(l.data);
}

export function area(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v ? 1 : 0;
  return n;
}

/**
 * The false-positive pixel (mask 1, truth 0) deepest inside the false-positive region (most
 * false-positive pixels in its 9x9 neighbourhood), the nearest to `near` among equals (a spill
 * next to the lesion, away from the viewport's corner overlays), or null when there is none.
 */
export function falsePositivePoint(mask: Uint8Array, truth: Uint8Array, width: number, height: number, near: { x: number; y: number }): { x: number; y: number; fp: number } | null {
  const fp = (x: number, y: number) => (x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x] && !truth[y * width + x] ? 1 : 0);
  let best: { x: number; y: number; fp: number; d: number } | null = null;
  let total = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!fp(x, y)) continue;
      total++;
      let n = 0;
      for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) n += fp(x + dx, y + dy);
      const d = (x - near.x) ** 2 + (y - near.y) ** 2;
      if (!best || n > best.fp || (n === best.fp && d < best.d)) best = { x, y, fp: n, d };
    }
  }
  return best && total > 0 ? { x: best.x, y: best.y, fp: best.fp } : null;
}

/** Saves the active segmentation as DICOM SEG through OHIF's own store dialog. */
export async function saveSeg(page: Page, name: string): Promise<void> {
  await page.click('[data-glmedsa=save]');
  const dialog = page.locator('[role=dialog]');
  await dialog.waitFor({ timeout: 20_000 });
  await dialog.locator('input').first().fill(name);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'detached', timeout: 60_000 });
}

/** Waits for the panel's error sentence of a kind and returns it. */
export async function panelError(page: Page, kind: string, timeoutMs = 30_000): Promise<string> {
  const el = page.locator(`[data-glmedsa=error][data-kind=${kind}]`);
  await el.waitFor({ timeout: timeoutMs });
  return (await el.textContent()) ?? '';
}

/** Drags a box between image pixels a and b and waits for its mask to be drawn. */
export async function dragBox(page: Page, a: { x: number; y: number }, b: { x: number; y: number }): Promise<void> {
  const pa = await page.evaluate(([x, y]) => window.glmedsa!.pagePoint(x!, y!), [a.x, a.y]);
  const pb = await page.evaluate(([x, y]) => window.glmedsa!.pagePoint(x!, y!), [b.x, b.y]);
  if (!pa || !pb) throw new Error('the viewport cannot place the box');
  const n = (await page.evaluate(() => window.glmedsa!.timeline().length)) as number;
  await page.mouse.move(pa.x, pa.y);
  await page.mouse.down();
  await page.mouse.move((pa.x + pb.x) / 2, (pa.y + pb.y) / 2, { steps: 5 });
  await page.mouse.move(pb.x, pb.y, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(
    (k) => {
      const t = window.glmedsa!.timeline();
      const s = window.glmedsa!.status();
      return (t.length > k && t[t.length - 1]!.drawnAt !== null && !s.busy) || (!!s.error && !s.busy);
    },
    n,
    { timeout: 90_000, polling: 100 },
  );
  const s = await status(page);
  if (s.error) throw new Error(`the panel shows an error after the box: ${s.error}`);
}

/** The truth's bounds, `margin` pixels out (clamped to the image). */
export function boundsOf(mask: Uint8Array, width: number, height: number, margin: number): { a: { x: number; y: number }; b: { x: number; y: number } } {
  let x1 = width, y1 = height, x2 = -1, y2 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      x1 = Math.min(x1, x); y1 = Math.min(y1, y); x2 = Math.max(x2, x); y2 = Math.max(y2, y);
    }
  }
  return { a: { x: Math.max(0, x1 - margin), y: Math.max(0, y1 - margin) }, b: { x: Math.min(width - 1, x2 + margin), y: Math.min(height - 1, y2 + margin) } };
}

/** Esc (reject the proposal), and wait until no prompt is left on the image. */
export async function clearPrompts(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
}

/** Which path answered a prompt, its best mask and the candidates' predicted IoU. */
export type DecodeAnswer = { path: 'browser' | 'server'; best: number; scores: number[] };

/** The answer to the last prompt (from the extension's timeline). */
export async function lastAnswer(page: Page): Promise<DecodeAnswer> {
  const a = await page.evaluate(() => {
    const t = window.glmedsa!.timeline() as { answer?: DecodeAnswer }[];
    return t[t.length - 1]?.answer ?? null;
  });
  if (!a) throw new Error('the last prompt has no answer');
  return a;
}

/** Waits until the panel says clicks are decoded on `path` and returns its line. */
export async function decodePathLine(page: Page, path: 'browser' | 'server'): Promise<string> {
  const el = page.locator(`[data-glmedsa=decode-path][data-path=${path}]`);
  await el.waitFor({ timeout: 120_000 });
  return (await el.textContent()) ?? '';
}

/** Fraction of pixels on which two labelmaps agree (foreground or not). */
export function agreement(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`the labelmaps differ in size (${a.length} and ${b.length} pixels)`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (!!a[i] === !!b[i]) same++;
  return same / a.length;
}

/**
 * Scrolls the viewport to image `index` of `series` with OHIF's own next/previous image keys (Down
 * and Up), as a user scrolls a CT, and waits until it is on show.
 */
export async function goToImage(page: Page, series: { instances: { sopInstanceUID: string }[] }, index: number, timeoutMs = 60_000): Promise<void> {
  const uids = series.instances.map((i) => i.sopInstanceUID);
  const target = uids[index];
  if (!target) throw new Error(`the series has no image ${index}`);
  const current = async () => uids.indexOf((await page.evaluate(() => window.glmedsa!.image()?.ref.sopInstanceUID)) ?? '');
  const deadline = Date.now() + timeoutMs;
  let forward = 'ArrowDown';
  let backward = 'ArrowUp';
  for (let at = await current(); at !== index; ) {
    if (Date.now() > deadline) throw new Error(`the viewport did not reach image ${index} (it shows image ${at})`);
    await page.keyboard.press(at < index ? forward : backward);
    let now = at;
    for (let i = 0; i < 50 && now === at; i++) {
      await page.waitForTimeout(100);
      now = await current();
    }
    // the viewer lists the images the other way round: swap the keys
    if (now !== at && (now - at > 0) !== at < index) [forward, backward] = [backward, forward];
    at = now;
  }
}
