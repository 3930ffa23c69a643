/** The viewer's active viewport, from OHIF's services alone (no module state). */
import type { OhifServices, StackViewport } from './viewer-types.js';

/** The Cornerstone viewport of the viewer's active viewport, if any. */
export function activeViewport(services: OhifServices): StackViewport | undefined {
  const id = services.viewportGridService.getActiveViewportId();
  return services.cornerstoneViewportService.getCornerstoneViewport(id);
}
