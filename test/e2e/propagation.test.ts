/**
 * One click segments a lesion through the whole series, in headless Chromium against the real
 * stack (Orthanc with the demo CT volume, the server with the starter model, OHIF 3.13.2 with our
 * mode). Driven like a radiologist: a click on the liver lesion's largest slice, P, the slices
 * filling in as they arrive with a progress bar, Enter (one undo step: Ctrl+Z takes all of it back,
 * Ctrl+Y gives it back), the volume and longest axial diameter in the panel, the MPR layout showing
 * it in three planes (and a click working in its axial view), Save as SEG (one SEG holding exactly
 * the accepted slices), reload, the SEG over every slice; Esc during a propagation; a click on a
 * slice of a shown proposal re-propagating outward from it; Fill between two accepted slices.
 *
 * Assertions are about behaviour (slices written, one undo step, cancel stops, the SEG round trip
 * of exactly what was accepted) and, against the phantom's ground truth (the demo volume
 * regenerated), a loose quality bar that a model made for propagation meets: 3D Dice above 0.4 and
 * no slice more than FAR slices beyond the lesion. The figures are printed. Screenshots go to
 * artifacts/propagation-*.png.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { components3d, decodePng, overlap, regionCentre, sliceMask, volumeGeometry } from '@glmedsa/models';
import { decodeMask } from '@glmedsa/server/api';
import { readSegObject } from '@glmedsa/server/dist/src/datasets/index.js';
import { largestLesion } from '@glmedsa/server/dist/src/demo/demo-studies.js';
import type { Page } from 'playwright-core';
import { reportFailures, screenshot } from '../helpers/browser.js';
import { demoVolume } from '../helpers/ground-truth.js';
import { segSeries, seriesFiles } from '../helpers/pacs-queries.js';
import { slowPacs } from '../helpers/slow-pacs.js';
import type { Stack } from '../helpers/stack.js';
import { viewerSession } from '../helpers/viewer-session.js';
import { area, clickImage, goToImage, labelmap, saveSeg, waitForViewer } from './viewer-steps.js';

/** No proposal slice may lie more than this many slices beyond the lesion's first or last slice. */
const FAR = 3;
/**
 * 3D Dice of one click propagated with the lesion. The propagation cannot beat its seed: the
 * starter's click at the demo lesion's centre gives Dice 0.68 on that slice (its mask takes in some
 * liver round the lesion) and 0.45 through the series, ending within a slice of the lesion's ends.
 */
const DICE_3D = 0.4;

const log = (line: string) => process.stdout.write(`# ${line}\n`);

type SliceMasks = { width: number; height: number; slices: { sopInstanceUID: string; frame: number; index: number; viewIndex: number; counts: number[]; area: number }[] };

interface Propagation {
  kind: string;
  state: string;
  done: number;
  total: number;
  current: number | null;
  slices: number;
  first: number | null;
  last: number | null;
  reason: string | null;
}

declare global {
  interface Window {
    __propagationSamples?: { t: number; state: string; slices: number; done: number; total: number; current: number | null }[];
  }
}

/** The labelmap of the active segmentation on every slice (`value`'s pixels, any segment's when absent). */
async function seriesMasks(page: Page, value?: number): Promise<SliceMasks> {
  const m = await page.evaluate((v) => (window.glmedsa as unknown as { seriesLabelmap(v?: number): SliceMasks | null }).seriesLabelmap(v ?? undefined), value ?? null);
  if (!m) throw new Error('there is no segmentation on the series');
  return m;
}

const totalArea = (m: SliceMasks) => m.slices.reduce((n, s) => n + s.area, 0);
const propagation = (page: Page) => page.evaluate(() => (window.glmedsa!.status() as unknown as { propagation: Propagation | null }).propagation);

/** Waits until the propagation on show has ended (done, cancelled or failed) and returns it. */
async function propagationEnded(page: Page, kind: string, timeoutMs = 240_000): Promise<Propagation> {
  await page.waitForFunction(
    (k) => {
      const p = (window.glmedsa!.status() as unknown as { propagation: Propagation | null }).propagation;
      return !!p && p.kind === k && (p.state === 'done' || p.state === 'cancelled' || p.state === 'failed');
    },
    kind,
    { timeout: timeoutMs, polling: 100 },
  );
  return (await propagation(page))!;
}

/** Records the panel's propagation line every 50 ms (in the page), to see the slices arrive one after another. */
async function sampleProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.__propagationSamples = [];
    const t0 = performance.now();
    const timer = setInterval(() => {
      const p = (window.glmedsa!.status() as unknown as { propagation: Propagation | null }).propagation;
      if (p) window.__propagationSamples!.push({ t: Math.round(performance.now() - t0), state: p.state, slices: p.slices, done: p.done, total: p.total, current: p.current });
      if (p && p.state !== 'running' && p.state !== 'starting' && p.state !== 'queued') clearInterval(timer);
    }, 50);
  });
}

/** Presses a key and waits until the series' labelmap total changes from `was`. */
async function pressUntilTotalChanges(page: Page, key: string, was: number, value?: number): Promise<SliceMasks> {
  await page.keyboard.press(key);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = await seriesMasks(page, value);
    if (totalArea(m) !== was) return m;
    if (Date.now() > deadline) throw new Error(`${key} did not change the segmentation (${was} pixels)`);
    await page.waitForTimeout(100);
  }
}

/** The ground truth of the liver lesion on every slice, keyed by SOP Instance UID; its first and last slice (demo z). */
function lesionTruth(stack: Stack) {
  const v = demoVolume();
  const z0 = stack.demo.ct.lesionIndex;
  const lesion = largestLesion(v, z0)!;
  const object = v.objects.find((o) => o.id === lesion.id)!;
  const bySop = new Map<string, { z: number; mask: Uint8Array }>();
  stack.demo.ct.instances.forEach((inst, z) => bySop.set(inst.sopInstanceUID, { z, mask: sliceMask(v, z, [lesion.id]) }));
  const g = volumeGeometry(v);
  return { v, z0, object, bySop, voxelMl: (g.pixelSpacing[0] * g.pixelSpacing[1] * g.sliceSpacing) / 1000, pixelSpacing: g.pixelSpacing };
}

/** Per-slice and 3D Dice of the masks with the lesion's truth, and how far the masks reach beyond it. */
function compare(m: SliceMasks, truth: ReturnType<typeof lesionTruth>) {
  let inter = 0;
  let sum = 0;
  const zs: number[] = [];
  const perSlice: string[] = [];
  for (const s of m.slices) {
    const t = truth.bySop.get(s.sopInstanceUID)!;
    const mask = decodeMask(s.counts, m.width, m.height);
    const tArea = area(t.mask);
    if (s.area) zs.push(t.z);
    if (!s.area && !tArea) continue;
    const o = overlap(mask, t.mask);
    inter += (o.dice * (s.area + tArea)) / 2;
    sum += s.area + tArea;
    perSlice.push(`${t.z}:${o.dice.toFixed(2)}`);
  }
  const first = zs.length ? Math.min(...zs) : null;
  const last = zs.length ? Math.max(...zs) : null;
  const beyond = zs.map((z) => (z < truth.object.firstSlice ? truth.object.firstSlice - z : z > truth.object.lastSlice ? z - truth.object.lastSlice : 0));
  return { dice: sum ? (2 * inter) / sum : 1, first, last, slices: zs.length, farthest: beyond.length ? Math.max(...beyond) : 0, perSlice: perSlice.join(' ') };
}

/** Pixels that differ (by more than a little, on any channel) between two PNG screenshots of one element. */
function changedPixels(a: Uint8Array, b: Uint8Array): number {
  const x = decodePng(a);
  const y = decodePng(b);
  if (x.width !== y.width || x.height !== y.height) throw new Error('the two screenshots differ in size');
  let n = 0;
  for (let i = 0; i < x.width * x.height; i++) {
    const d = Math.max(Math.abs(x.data[i * 3]! - y.data[i * 3]!), Math.abs(x.data[i * 3 + 1]! - y.data[i * 3 + 1]!), Math.abs(x.data[i * 3 + 2]! - y.data[i * 3 + 2]!));
    if (d > 24) n++;
  }
  return n;
}

/** Screenshots of each viewport of the layout (by its element), in page order. */
async function viewportShots(page: Page): Promise<Uint8Array[]> {
  const els = page.locator('[data-viewportid]');
  const n = await els.count();
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(new Uint8Array(await els.nth(i).screenshot()));
  return out;
}

/**
 * Points every viewport of the layout at a world position (the test's hand on the viewer's own
 * Cornerstone, which OHIF puts on window: the MPR planes then cross there), and moves the mouse off
 * the viewports so no hover overlay is in their screenshots.
 */
async function lookAt(page: Page, world: [number, number, number]): Promise<void> {
  await page.evaluate((w) => {
    const cs = (window as unknown as { cornerstone: { getRenderingEngines(): { getViewports(): { jumpToWorld?(p: number[]): void; render(): void }[] }[] } }).cornerstone;
    for (const engine of cs.getRenderingEngines()) for (const vp of engine.getViewports()) if (vp.jumpToWorld) (vp.jumpToWorld(w), vp.render());
  }, world);
  await page.mouse.move(5, 790);
  await page.waitForTimeout(1500);
}

/** The world position of pixel (x, y) of demo slice z (the demo's own geometry). */
function worldOf(truth: ReturnType<typeof lesionTruth>, z: number, x: number, y: number): [number, number, number] {
  const g = volumeGeometry(truth.v);
  const [px, py, pz] = g.slicePosition(z);
  return [px + x * g.pixelSpacing[1], py + y * g.pixelSpacing[0], pz];
}

/** Our panel's tab in the right side panel (another panel may have been opened meanwhile). */
async function showOurPanel(page: Page): Promise<void> {
  const panel = page.locator('[data-glmedsa=panel]');
  if (await panel.count()) return;
  await page.locator('[data-cy=glmedsa-btn]').first().click();
  await panel.waitFor({ timeout: 10_000 });
}

describe('a lesion through the series (OHIF 3.13.2 + GLMed-SA, headless Chromium)', { timeout: 1_800_000 }, () => {
  // The PACS answers frames slowly on request (the Esc test), so that a propagation takes seconds.
  const pacs = slowPacs();
  const session = viewerSession({ pacsVia: (url) => pacs.via(url) });
  after(() => pacs.close());
  const step = reportFailures(() => session.page, 'propagation');
  /** What the first test measured, for the quality test. */
  let measured: ReturnType<typeof compare> | null = null;

  test('click, P: the slices fill in; Enter: one step; volume; Ctrl+Z / Ctrl+Y; MPR; Save as SEG; reload: the SEG over every slice', () =>
    step('main', async () => {
      const { stack, page } = session;
      const truth = lesionTruth(stack);
      const seedSlice = stack.demo.ct.instances[truth.z0]!;
      log(`the liver lesion: slices ${truth.object.firstSlice}-${truth.object.lastSlice} (demo z), largest on ${truth.z0}, ${truth.object.voxels} voxels = ${(truth.object.voxels * truth.voxelMl).toFixed(2)} mL`);
      await page.goto(stack.modeUrl(stack.demo.ct));
      await waitForViewer(page);
      await goToImage(page, stack.demo.ct, truth.z0);
      await clickImage(page, seedSlice.lesion!.x, seedSlice.lesion!.y);
      const seedMask = await labelmap(page, 255);
      log(`seed slice ${truth.z0}: Dice ${overlap(seedMask, truth.bySop.get(seedSlice.sopInstanceUID)!.mask).dice.toFixed(3)}`);

      // P: the proposal through the series, slices arriving one after another with the progress bar.
      await sampleProgress(page);
      const t0 = Date.now();
      await page.keyboard.press('p');
      await page.locator('[data-glmedsa=propagation]').waitFor({ timeout: 30_000 });
      let shotWhileRunning = false;
      for (let i = 0; i < 100 && !shotWhileRunning; i++) {
        const p = await propagation(page);
        if (p?.state === 'running' && p.slices >= 2) {
          await screenshot(page, 'propagation-1-running');
          shotWhileRunning = true;
        } else if (p && p.state !== 'running' && p.state !== 'starting' && p.state !== 'queued') break;
        else await page.waitForTimeout(50);
      }
      const ended = await propagationEnded(page, 'propagate');
      const seconds = (Date.now() - t0) / 1000;
      const samples = (await page.evaluate(() => window.__propagationSamples ?? [])) as NonNullable<Window['__propagationSamples']>;
      const counts = [...new Set(samples.filter((s) => s.state === 'running').map((s) => s.slices))];
      const timing = (await page.evaluate(() => (window.glmedsa as unknown as { propagations(): Record<string, number | string | null>[] }).propagations())).at(-1)!;
      const at = (k: string) => (typeof timing[k] === 'number' ? `${((timing[k] as number) - (timing['askedAt'] as number)).toFixed(0)} ms` : '-');
      log(`P: ${ended.state} after ${seconds.toFixed(1)} s, proposal on ${ended.slices} slices (images ${ended.first}-${ended.last}), ${ended.done} decided; slice counts seen while running: ${counts.join(', ')}`);
      log(`timing from the request: accepted ${at('acceptedAt')}, first slice drawn ${at('firstSliceAt')}, last ${at('lastSliceAt')}, end ${at('endedAt')}; samples ${samples.map((x) => `${x.t}:${x.state[0]}${x.slices}`).join(' ')}`);
      assert.equal(ended.state, 'done', `the propagation ended: ${ended.reason}`);
      const proposal = await seriesMasks(page, 255);
      const got = compare(proposal, truth);
      measured = got;
      log(`proposal: slices ${got.first}-${got.last} (${got.slices}), truth ${truth.object.firstSlice}-${truth.object.lastSlice}; 3D Dice ${got.dice.toFixed(3)}; farthest beyond the lesion ${got.farthest}; per slice ${got.perSlice}`);
      assert.ok(got.slices >= 3, `the proposal is on more slices than the seed's (${got.slices})`);
      assert.equal(got.slices, ended.slices, 'the panel counts the slices the labelmap holds');
      const filled = proposal.slices.filter((s) => s.area > 0).map((s) => s.index);
      assert.deepEqual(filled, Array.from({ length: filled.length }, (_, k) => filled[0]! + k), 'the slices are contiguous');
      assert.ok((timing['firstSliceAt'] as number) < (timing['lastSliceAt'] as number), 'the slices were drawn as they arrived, not all at the end');
      // A slice away from the seed, in the viewer: the proposal is drawn there too.
      const away = stack.demo.ct.instances.findIndex((inst) => inst.sopInstanceUID === proposal.slices.find((s) => s.area > 0 && truth.bySop.get(s.sopInstanceUID)!.z !== truth.z0)!.sopInstanceUID);
      await goToImage(page, stack.demo.ct, away);
      assert.ok(area(await labelmap(page, 255)) > 0, `the proposal is on show on image ${away}`);
      await screenshot(page, 'propagation-2-proposal-on-another-slice');
      await goToImage(page, stack.demo.ct, truth.z0);
      await screenshot(page, 'propagation-3-proposal-done');

      // Enter: all of it becomes the segment, as one step of the undo history.
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => (window.glmedsa!.status() as unknown as { propagation: unknown }).propagation === null, null, { timeout: 10_000 });
      const accepted = await seriesMasks(page, 1);
      assert.equal(totalArea(await seriesMasks(page, 255)), 0, 'nothing is left in the preview shade');
      assert.deepEqual(accepted.slices.map((s) => s.counts), proposal.slices.map((s) => s.counts), 'Enter keeps the proposal on every slice, pixel for pixel');
      const voxels = totalArea(accepted);

      // The panel: the volume (voxels x voxel volume) and the longest axial diameter.
      const vol = page.locator(`[data-glmedsa=volume][data-voxels="${voxels}"]`);
      await vol.waitFor({ timeout: 20_000 });
      const ml = Number(await vol.getAttribute('data-ml'));
      const mm = Number(await vol.getAttribute('data-mm'));
      log(`panel: "${await vol.textContent()}"; truth ${(truth.object.voxels * truth.voxelMl).toFixed(2)} mL`);
      assert.ok(Math.abs(ml - voxels * truth.voxelMl) < 1e-9, `the volume is the voxels times the voxel volume: ${ml} mL for ${voxels} voxels of ${truth.voxelMl * 1000} mm3`);
      // The diameter lies between the widest slice's longest side and its box's diagonal (mm), on
      // each slice's largest connected piece (islands beside the lesion do not count).
      const [ps] = truth.pixelSpacing;
      let lower = 0;
      let upper = 0;
      for (const s of accepted.slices) {
        if (!s.area) continue;
        const mask = decodeMask(s.counts, accepted.width, accepted.height);
        const { labels, sizes } = components3d(accepted.width, accepted.height, 1, (i) => mask[i] === 1);
        const largest = sizes.indexOf(Math.max(...sizes.slice(1)));
        let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1;
        labels.forEach((v, i) => {
          if (v !== largest) return;
          const x = i % accepted.width;
          const y = (i - x) / accepted.width;
          x1 = Math.min(x1, x); x2 = Math.max(x2, x); y1 = Math.min(y1, y); y2 = Math.max(y2, y);
        });
        lower = Math.max(lower, (Math.max(x2 - x1, y2 - y1) + 1) * ps - ps);
        upper = Math.max(upper, Math.hypot(x2 - x1 + 1, y2 - y1 + 1) * ps);
      }
      assert.ok(mm >= lower && mm <= upper, `longest axial diameter ${mm} mm within [${lower.toFixed(1)}, ${upper.toFixed(1)}]`);
      await screenshot(page, 'propagation-4-accepted-volume');

      // Ctrl+Z takes the whole propagation back in one step; Ctrl+Y gives it back.
      const undone = await pressUntilTotalChanges(page, 'Control+z', voxels, 1);
      assert.equal(totalArea(undone), 0, 'one Ctrl+Z leaves no slice with the mask');
      await screenshot(page, 'propagation-5-ctrl-z');
      const redone = await pressUntilTotalChanges(page, 'Control+y', 0, 1);
      assert.deepEqual(redone.slices.map((s) => s.counts), accepted.slices.map((s) => s.counts), 'Ctrl+Y gives every slice back');

      // MPR: the series in three planes, the segmentation in each (a screenshot with it against one after Ctrl+Z).
      await page.locator('[data-cy=GLMedSAMPR]').first().click();
      await page.waitForFunction(() => document.querySelectorAll('[data-viewportid]').length >= 3, null, { timeout: 120_000, polling: 500 });
      await page.waitForFunction(() => (window.glmedsa as unknown as { segmentationViewports(): number }).segmentationViewports() >= 3, null, { timeout: 60_000, polling: 500 });
      // the three planes through the middle of the accepted mask's largest slice
      const largest = accepted.slices.reduce((a, b) => (b.area > a.area ? b : a));
      const largestZ = truth.bySop.get(largest.sopInstanceUID)!.z;
      const inside = regionCentre(decodeMask(largest.counts, accepted.width, accepted.height), accepted.width, accepted.height)!;
      await lookAt(page, worldOf(truth, largestZ, inside.x, inside.y));
      await screenshot(page, 'propagation-6-mpr');
      const withSeg = await viewportShots(page);
      await pressUntilTotalChanges(page, 'Control+z', voxels, 1);
      await page.mouse.move(5, 790);
      await page.waitForTimeout(1500);
      const withoutSeg = await viewportShots(page);
      const changed = withSeg.map((a, i) => changedPixels(a, withoutSeg[i]!));
      log(`MPR: pixels showing the segmentation in each viewport: ${changed.join(', ')}`);
      assert.ok(changed.length >= 3 && changed.slice(0, 3).every((n) => n > 30), `the segmentation shows in all three planes (${changed.join(', ')} pixels)`);
      await pressUntilTotalChanges(page, 'Control+y', 0, 1);
      // A click in the axial view proposes a mask there; Esc drops it.
      const axial = await page.evaluate(() => window.glmedsa!.image());
      assert.ok(axial, 'the axial view shows a slice of the series');
      const onShow = truth.bySop.get(axial.ref.sopInstanceUID);
      const target = onShow && area(onShow.mask) ? stack.demo.ct.instances[onShow.z]!.lesion! : { x: Math.round(axial.width / 2), y: Math.round(axial.height / 2) };
      const before = area(await labelmap(page));
      await clickImage(page, target.x, target.y);
      const afterClick = await labelmap(page, 255);
      log(`MPR axial click at (${target.x}, ${target.y}) on demo slice ${onShow?.z}: proposal of ${area(afterClick)} pixels`);
      await screenshot(page, 'propagation-7-mpr-axial-click');
      assert.ok(area(afterClick) > 0 || area(await labelmap(page)) > before, 'the click in the axial view proposes a mask');
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      await page.locator('[data-cy=GLMedSAMPR]').first().click();
      await page.waitForFunction(() => document.querySelectorAll('[data-viewportid]').length === 1, null, { timeout: 60_000, polling: 500 });
      await showOurPanel(page);
      await waitForViewer(page);

      // Save as SEG: one SEG whose frames are exactly the accepted slices.
      const studyUid = seedSlice.studyInstanceUID;
      const segsBefore = await segSeries(stack, studyUid);
      await saveSeg(page, 'GLMed-SA propagation e2e');
      let segsAfter: string[] = [];
      for (let i = 0; i < 120 && segsAfter.length <= segsBefore.length; i++) {
        await new Promise((r) => setTimeout(r, 500));
        segsAfter = await segSeries(stack, studyUid);
      }
      const segUid = segsAfter.find((u) => !segsBefore.includes(u));
      assert.ok(segUid, 'a new SEG series is in Orthanc');
      const files = await seriesFiles(stack, segUid);
      assert.equal(files.length, 1, 'one SEG instance');
      const seg = readSegObject(files[0]!);
      const holding = accepted.slices.filter((s) => s.area > 0);
      log(`SEG ${seg.sopInstanceUID}: ${seg.frames.length} frames, ${holding.length} slices accepted`);
      assert.equal(seg.frames.length, holding.length, 'one frame per slice holding the mask');
      for (const [k, f] of seg.frames.entries()) {
        const slice = holding.find((s) => s.sopInstanceUID === f.source?.sopInstanceUID);
        assert.ok(slice, `SEG frame ${k + 1} refers to an accepted slice`);
        const px = seg.framePixels(k);
        const want = decodeMask(slice.counts, accepted.width, accepted.height);
        assert.ok(px.every((v, i) => (v ? 1 : 0) === want[i]), `SEG frame ${k + 1} is that slice's mask pixel for pixel`);
      }

      // Reload: the SEG over every slice, and in MPR.
      await page.reload();
      await waitForViewer(page);
      const thumb = page.locator('[data-cy=study-browser-thumbnail], [data-cy^=study-browser-thumbnail]').filter({ hasText: 'SEG' }).first();
      await thumb.waitFor({ timeout: 60_000 });
      await thumb.dblclick();
      // OHIF asks whether to open the segmentation (for editing) over the series: yes.
      const yes = page.getByRole('button', { name: 'Yes' });
      if (await yes.waitFor({ timeout: 20_000 }).then(() => true).catch(() => false)) await yes.click();
      await page.waitForFunction(
        () => {
          try {
            const m = (window.glmedsa as unknown as { seriesLabelmap(): SliceMasks | null }).seriesLabelmap();
            return !!m && m.slices.some((s) => s.area > 0);
          } catch {
            return false;
          }
        },
        null,
        { timeout: 120_000, polling: 500 },
      );
      await page.waitForTimeout(1000);
      const reloaded = await seriesMasks(page);
      assert.deepEqual(reloaded.slices.map((s) => s.counts), accepted.slices.map((s) => s.counts), 'the reloaded SEG is the accepted mask on every slice');
      await goToImage(page, stack.demo.ct, truth.z0);
      await screenshot(page, 'propagation-8-reloaded-seg');
      await page.locator('[data-cy=GLMedSAMPR]').first().click();
      await page.waitForFunction(() => document.querySelectorAll('[data-viewportid]').length >= 3, null, { timeout: 120_000, polling: 500 });
      await page.waitForFunction(() => (window.glmedsa as unknown as { segmentationViewports(): number }).segmentationViewports() >= 3, null, { timeout: 60_000, polling: 500 });
      await lookAt(page, worldOf(truth, largestZ, inside.x, inside.y));
      await screenshot(page, 'propagation-9-reloaded-seg-mpr');
    }));

  test('the quality of one click propagated, against the ground truth', () => {
    assert.ok(measured, 'the first test measured the proposal');
    log(`3D Dice ${measured.dice.toFixed(3)}, slices ${measured.first}-${measured.last}, farthest beyond the lesion ${measured.farthest}`);
    assert.ok(measured.dice > DICE_3D, `3D Dice ${measured.dice.toFixed(3)} above ${DICE_3D}`);
    assert.ok(measured.farthest <= FAR, `no slice more than ${FAR} beyond the lesion (${measured.farthest})`);
  });

  test('Esc during a propagation stops it on the server and drops what arrived', () =>
    step('esc', async () => {
      const { stack, page } = session;
      const truth = lesionTruth(stack);
      await page.goto(stack.modeUrl(stack.demo.ct));
      await waitForViewer(page);
      await goToImage(page, stack.demo.ct, truth.z0);
      // The liver window (OHIF's preset 3): the server has no embeddings for it yet, so each slice is
      // read from the PACS and encoded afresh; the PACS answers each frame 2 s late (below), so the
      // propagation takes seconds however fast the model is and however few slices the object spans
      // (the server reads a few frames ahead in each direction at once).
      await page.keyboard.press('3');
      await page.waitForFunction(() => window.glmedsa!.properties()?.voiRange?.upper !== 240, null, { timeout: 10_000 });
      // The liver around the lesion: a large organ over many slices, a long propagation.
      const liver = truth.v.objects.find((o) => o.name === 'liver')!;
      const liverMask = sliceMask(truth.v, truth.z0, [liver.id]);
      const w = truth.v.columns;
      let at = { x: 0, y: 0 };
      let best = -1;
      liverMask.forEach((v, i) => {
        if (!v) return;
        const x = i % w;
        const y = (i - x) / w;
        let depth = 0;
        while (depth < 40 && liverMask[y * w + Math.min(w - 1, x + depth)] && liverMask[y * w + Math.max(0, x - depth)] && liverMask[Math.min(w - 1, y + depth) * w + x] && liverMask[Math.max(0, y - depth) * w + x]) depth++;
        if (depth > best) (best = depth), (at = { x, y });
      });
      await clickImage(page, at.x, at.y);
      pacs.hold(/\/frames\//, 2000);
      try {
      const posted = page.waitForResponse((r) => r.url().endsWith('/v1/propagations') && r.request().method() === 'POST', { timeout: 60_000 });
      await page.keyboard.press('p');
      const id = String(((await (await posted).json()) as { id: string }).id);
      const record = async () => (await (await fetch(`${stack.viewerUrl}v1/propagations/${id}`)).json()) as { state: string; slices: unknown[]; progress: { done: number } };
      // Esc once the server has found a few slices (watched from here: the page may be busy drawing).
      let serverBefore = await record();
      for (let i = 0; i < 2400 && serverBefore.state !== 'succeeded' && serverBefore.slices.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 25));
        serverBefore = await record();
      }
      // From here the PACS sends no frame until the server has the cancel: the frames the server still
      // waits for keep it running however few are left (on a fast machine the rest could otherwise
      // arrive and be decided between this look and the key press).
      pacs.freeze();
      await new Promise((r) => setTimeout(r, 500));
      serverBefore = await record();
      await screenshot(page, 'propagation-10-running-before-esc');
      const cancelled = page.waitForResponse((r) => r.url().endsWith(`/v1/propagations/${id}/cancel`) && r.request().method() === 'POST', { timeout: 10_000 });
      await page.keyboard.press('Escape');
      log(`the server answered the cancel with ${(await cancelled).status()}`);
      pacs.hold(null);
      await page.waitForFunction(() => (window.glmedsa!.status() as unknown as { propagation: unknown }).propagation === null, null, { timeout: 10_000 });
      const right = await seriesMasks(page);
      assert.equal(totalArea(right), 0, 'Esc drops every slice of the proposal');
      await page.waitForTimeout(2000);
      assert.equal(totalArea(await seriesMasks(page)), 0, 'and no slice arrives after it');
      const after = await record();
      log(`Esc when the server had ${serverBefore.slices.length} slices (${serverBefore.state}): the server's propagation ${after.state} after ${after.progress.done} slices decided`);
      await screenshot(page, 'propagation-11-after-esc');
      assert.equal(serverBefore.state, 'running', 'Esc came while it ran');
      assert.equal(after.state, 'cancelled', 'the server stopped it');
      } finally {
        pacs.hold(null);
      }
    }));

  test('a click on a middle slice of the proposal corrects it there and re-propagates outward from it', () =>
    step('refine', async () => {
      const { stack, page } = session;
      const truth = lesionTruth(stack);
      const seedSlice = stack.demo.ct.instances[truth.z0]!;
      await page.goto(stack.modeUrl(stack.demo.ct));
      await waitForViewer(page);
      await goToImage(page, stack.demo.ct, truth.z0);
      await clickImage(page, seedSlice.lesion!.x, seedSlice.lesion!.y);
      await page.keyboard.press('p');
      await propagationEnded(page, 'propagate');
      const first = await seriesMasks(page, 255);
      const holding = first.slices.filter((s) => s.area > 0).map((s) => truth.bySop.get(s.sopInstanceUID)!.z);
      // A slice between the seed and the lesion's farther end, half way, that the truth holds.
      const lo = truth.object.firstSlice;
      const hi = truth.object.lastSlice;
      const towardHigh = hi - truth.z0 >= truth.z0 - lo;
      const m = towardHigh ? Math.min(hi - 1, truth.z0 + Math.max(2, Math.round((hi - truth.z0) / 2))) : Math.max(lo + 1, truth.z0 - Math.max(2, Math.round((truth.z0 - lo) / 2)));
      const mInst = stack.demo.ct.instances[m]!;
      const mTruth = truth.bySop.get(mInst.sopInstanceUID)!.mask;
      assert.ok(area(mTruth) > 0, `the truth holds slice ${m}`);
      log(`proposal on demo slices ${Math.min(...holding)}-${Math.max(...holding)}; correcting slice ${m} (seed ${truth.z0}, lesion ${lo}-${hi})`);
      await goToImage(page, stack.demo.ct, m);
      const c = mInst.lesion ?? stack.demo.ct.instances[truth.z0]!.lesion!;
      await clickImage(page, c.x, c.y);
      const corrected = await labelmap(page, 255);
      log(`slice ${m} after the click: Dice ${overlap(corrected, mTruth).dice.toFixed(3)} (before: ${overlap(decodeMask(first.slices.find((s) => s.sopInstanceUID === mInst.sopInstanceUID)!.counts, first.width, first.height), mTruth).dice.toFixed(3)})`);
      const refined = await propagationEnded(page, 'refine');
      assert.equal(refined.state, 'done', `the re-propagation ended: ${refined.reason}`);
      const second = await seriesMasks(page, 255);
      const zOf = (s: { sopInstanceUID: string }) => truth.bySop.get(s.sopInstanceUID)!.z;
      const seedSide = (z: number) => (towardHigh ? z < m : z > m);
      const beyond = (z: number) => (towardHigh ? z > m : z < m);
      for (const [k, s] of second.slices.entries()) {
        if (seedSide(zOf(s))) assert.deepEqual(s.counts, first.slices[k]!.counts, `slice ${zOf(s)}, on the seed's side of the click, is as it was`);
      }
      const mAfter = decodeMask(second.slices.find((s) => s.sopInstanceUID === mInst.sopInstanceUID)!.counts, second.width, second.height);
      assert.deepEqual(mAfter, corrected, 'the clicked slice shows the click\'s mask');
      const timings = (await page.evaluate(() => (window.glmedsa as unknown as { propagations(): { kind: string; slicesDrawn: number; state: string }[] }).propagations())).filter((t) => t.kind === 'refine');
      log(`re-propagation: ${JSON.stringify(timings)}; beyond the click now ${second.slices.filter((s) => s.area && beyond(zOf(s))).length} slices, before ${first.slices.filter((s) => s.area && beyond(zOf(s))).length}`);
      assert.ok(timings.length >= 1, 'a propagation outward from the clicked slice ran');
      const got = compare(second, truth);
      log(`after the correction: 3D Dice ${got.dice.toFixed(3)}, slices ${got.first}-${got.last}; per slice ${got.perSlice}`);
      await screenshot(page, 'propagation-12-refined');
      // Enter, Ctrl+Z: the corrected proposal is one step too.
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      const total = totalArea(await seriesMasks(page, 1));
      assert.equal(total, totalArea(second));
      assert.equal(totalArea(await pressUntilTotalChanges(page, 'Control+z', total, 1)), 0, 'one Ctrl+Z takes the corrected propagation back');
    }));

  test('Fill between: two accepted slices with empty slices between them, filled from both ends', () =>
    step('fill', async () => {
      const { stack, page } = session;
      const truth = lesionTruth(stack);
      await page.goto(stack.modeUrl(stack.demo.ct));
      await waitForViewer(page);
      const lo = truth.object.firstSlice;
      const hi = truth.object.lastSlice;
      const a = Math.max(lo + 1, truth.z0 - 3);
      const b = Math.min(hi - 1, truth.z0 + 3);
      for (const z of [a, b]) {
        const inst = stack.demo.ct.instances[z]!;
        const at = inst.lesion ?? stack.demo.ct.instances[truth.z0]!.lesion!;
        await goToImage(page, stack.demo.ct, z);
        await clickImage(page, at.x, at.y);
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => window.glmedsa!.status().prompts === 0, null, { timeout: 10_000 });
      }
      const ends = await seriesMasks(page, 1);
      assert.equal(ends.slices.filter((s) => s.area > 0).length, 2, 'two accepted slices');
      await goToImage(page, stack.demo.ct, truth.z0);
      await page.keyboard.press('f');
      const filled = await propagationEnded(page, 'fill');
      assert.equal(filled.state, 'done', `the fill ended: ${filled.reason}`);
      const gap = await seriesMasks(page, 255);
      const zs = gap.slices.filter((s) => s.area > 0).map((s) => truth.bySop.get(s.sopInstanceUID)!.z).sort((x, y) => x - y);
      log(`Fill between demo slices ${a} and ${b}: proposal on ${zs.join(', ')}`);
      await screenshot(page, 'propagation-13-fill-between');
      assert.ok(zs.every((z) => z > Math.min(a, b) && z < Math.max(a, b)), 'only the gap is filled');
      assert.ok(zs.length >= 1, 'the gap holds a proposal');
      const withEnds = await seriesMasks(page);
      log(`with the two ends: ${JSON.stringify(compare(withEnds, truth))}`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => (window.glmedsa!.status() as unknown as { propagation: unknown }).propagation === null, null, { timeout: 10_000 });
      assert.equal(totalArea(await seriesMasks(page, 1)), totalArea(withEnds), 'Enter keeps the filled slices');
    }));
});
