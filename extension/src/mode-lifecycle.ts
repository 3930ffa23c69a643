/**
 * The extension's part of entering and leaving a mode that uses it: health polling of the server,
 * warm-up of the embeddings of the image on show whenever the viewport shows another one
 * (debounced, so scrolling through a stack warms where the user stops), and the lesion's figures
 * recomputed whenever a labelmap or the active viewport changes.
 */
import { activeViewport } from './active-viewport.js';
import { registeredParts, unavailableReason } from './extension-state.js';

let unsubscribe: (() => void)[] = [];

export function onModeEnter(): void {
  if (unavailableReason()) return;
  const { controller: c, services: s } = registeredParts();
  c.start();
  const warmActive = () => {
    const vp = activeViewport(s);
    if (vp && typeof vp.getImageIds === 'function') void c.warm(vp);
  };
  const sub = s.cornerstoneViewportService.subscribe(s.cornerstoneViewportService.EVENTS['VIEWPORT_DATA_CHANGED']!, () => setTimeout(warmActive, 200));
  let timer: ReturnType<typeof setTimeout> | null = null;
  const onNewImage = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(warmActive, 400);
  };
  const ev = c.peers.cornerstone.Enums.Events['STACK_NEW_IMAGE']!;
  c.peers.cornerstone.eventTarget.addEventListener(ev, onNewImage);
  const measure = () => c.measures.schedule();
  const modified = c.peers.cornerstoneTools.Enums.Events['SEGMENTATION_DATA_MODIFIED'];
  if (modified) c.peers.cornerstone.eventTarget.addEventListener(modified, measure);
  const grid = s.viewportGridService.EVENTS['ACTIVE_VIEWPORT_ID_CHANGED'];
  const gridSub = grid ? s.viewportGridService.subscribe(grid, measure) : null;
  unsubscribe = [
    () => sub.unsubscribe(),
    () => c.peers.cornerstone.eventTarget.removeEventListener(ev, onNewImage),
    () => modified && c.peers.cornerstone.eventTarget.removeEventListener(modified, measure),
    () => gridSub?.unsubscribe(),
  ];
}

export function onModeExit(): void {
  unsubscribe.forEach((u) => u());
  unsubscribe = [];
  if (unavailableReason()) return;
  const { controller, admin } = registeredParts();
  controller.stop();
  admin.stop();
}
