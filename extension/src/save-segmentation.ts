/**
 * Saving the active segmentation to the PACS as DICOM SEG through OHIF's own store command (its
 * dialog names the series): the proposal on show is accepted first, every image of the series is
 * loaded into Cornerstone's cache (OHIF's export refuses a frame whose source image is not there,
 * and a propagation writes slices the user never scrolled to), and a failure is a sentence in the
 * panel.
 */
import type { Controller } from './controller.js';
import { activeViewport } from './active-viewport.js';
import type { Peers } from './peers.js';
import { displaySetOf } from './propagation/viewer-series.js';
import type { CommandsManager, OhifServices } from './viewer-types.js';

/** Images loaded at once while the series is loaded before saving. */
const LOAD_AT_ONCE = 8;

/** Loads every image of `imageIds` that is not in Cornerstone's cache yet, a few at a time. */
async function loadSeries(peers: Peers, imageIds: readonly string[], progress: (loaded: number, of: number) => void): Promise<void> {
  const { cache, imageLoader } = peers.cornerstone;
  if (!imageLoader) throw new Error('this viewer cannot load images on request');
  const missing = imageIds.filter((id) => !cache.getImage(id));
  let loaded = 0;
  for (let i = 0; i < missing.length; i += LOAD_AT_ONCE) {
    await Promise.all(missing.slice(i, i + LOAD_AT_ONCE).map((id) => imageLoader.loadAndCacheImage(id, { priority: 0, requestType: 'prefetch' })));
    loaded = Math.min(missing.length, i + LOAD_AT_ONCE);
    progress(loaded, missing.length);
  }
}

export function saveSegmentation(c: Controller, services: OhifServices, commands: CommandsManager): void {
  c.accept();
  const vp = activeViewport(services);
  const seg = vp && services.segmentationService.getActiveSegmentation(vp.id);
  if (!vp || !seg) {
    c.status.set({ error: 'There is no segmentation to save yet: click on the image first.', errorKind: 'viewer' });
    return;
  }
  const imageIds = displaySetOf(services, vp.id)?.imageIds ?? [];
  const run = commands as unknown as { run(o: { commandName: string; commandOptions: Record<string, unknown>; context?: string }): unknown };
  const save = async () => {
    await loadSeries(c.peers, imageIds, (loaded, of) => c.status.set({ notice: `Loading the series before saving: ${loaded} of ${of} images.` }));
    c.status.set({ notice: null });
    await run.run({ commandName: 'storeSegmentation', commandOptions: { segmentationId: seg.segmentationId, modality: 'SEG' }, context: 'CORNERSTONE' });
  };
  save().catch((err: unknown) => c.status.set({ error: `The segmentation could not be saved to the PACS: ${((err as Error)?.message ?? String(err)).replace(/[.\s]+$/, '')}.`, errorKind: 'pacs' }));
}
