/**
 * Saving the active segmentation to the PACS as DICOM SEG through OHIF's own store command (its
 * dialog names the series): the proposal on show is accepted first, and a failure is a sentence in
 * the panel.
 */
import type { Controller } from './controller.js';
import { activeViewport } from './extension-state.js';
import type { CommandsManager, OhifServices } from './viewer-types.js';

export function saveSegmentation(c: Controller, services: OhifServices, commands: CommandsManager): void {
  c.accept();
  const vp = activeViewport(services);
  const seg = vp && services.segmentationService.getActiveSegmentation(vp.id);
  if (!seg) {
    c.status.set({ error: 'There is no segmentation to save yet: click on the image first.', errorKind: 'viewer' });
    return;
  }
  const run = commands as unknown as { run(o: { commandName: string; commandOptions: Record<string, unknown>; context?: string }): unknown };
  Promise.resolve(run.run({ commandName: 'storeSegmentation', commandOptions: { segmentationId: seg.segmentationId, modality: 'SEG' }, context: 'CORNERSTONE' })).catch(
    (err: unknown) => c.status.set({ error: `The segmentation could not be saved to the PACS: ${(err as Error)?.message ?? err}.`, errorKind: 'pacs' }),
  );
}
