/**
 * The GLMed-SA click tool, a subclass of the viewer's own LabelmapBaseTool (so OHIF's Enter and
 * Esc, which look for labelmap tools with previews, reach it): click = positive point,
 * Shift+click = negative point, drag = box. The class is made at run time from the viewer's
 * Cornerstone, since its base class exists only there.
 */
import type { Controller } from './controller.js';
import type { Point2, Point3, StackViewport, ToolEvent } from './viewer-types.js';

export const CLICK_TOOL_NAME = 'GLMedSAClick';

const NOT_A_SLICE = 'This view is not in the plane the series was acquired in: click in that view (the axial one, for an axial CT).';

/** A drag shorter than this (canvas pixels) is a click. */
const DRAG_THRESHOLD_PX = 4;

export function createClickTool(controller: Controller): new (toolProps?: Record<string, unknown>) => object {
  const { cornerstone: cs, cornerstoneTools: cst } = controller.peers;
  const Base = cst.LabelmapBaseTool;
  const events = cst.Enums.Events;

  class GLMedSAClickTool extends Base {
    static toolName = CLICK_TOOL_NAME;

    constructor(toolProps: Record<string, unknown> = {}) {
      super(toolProps, { supportedInteractionTypes: ['Mouse'], configuration: {} });
    }

    preMouseDownCallback = (evt: ToolEvent): boolean => {
      const { element, currentPoints } = evt.detail;
      const viewport = cs.getEnabledElement(element)?.viewport;
      if (!viewport) return false;
      const at = performance.now();
      const negative = !!evt.detail.event?.shiftKey;
      const startCanvas: Point2 = [...currentPoints.canvas];
      const startWorld: Point3 = [...currentPoints.world];
      let lastCanvas: Point2 = startCanvas;
      let lastWorld: Point3 = startWorld;
      let dragged = false;
      const markersDrag = controller.markers;
      markersDrag.attach(viewport);
      const onDrag = (e: Event) => {
        const d = (e as ToolEvent).detail;
        lastCanvas = [...d.currentPoints.canvas];
        lastWorld = [...d.currentPoints.world];
        if (Math.hypot(lastCanvas[0] - startCanvas[0], lastCanvas[1] - startCanvas[1]) > DRAG_THRESHOLD_PX) dragged = true;
        if (dragged) markersDrag.setDragBox([startCanvas, lastCanvas]);
      };
      const onUp = (e: Event) => {
        element.removeEventListener(events['MOUSE_DRAG']!, onDrag);
        element.removeEventListener(events['MOUSE_UP']!, onUp);
        element.removeEventListener(events['MOUSE_CLICK']!, onUp);
        const d = (e as ToolEvent).detail;
        if (d?.currentPoints) {
          lastWorld = [...d.currentPoints.world];
          lastCanvas = [...d.currentPoints.canvas];
        }
        markersDrag.setDragBox(null);
        void this.finish(viewport, negative, startWorld, lastWorld, dragged, at);
      };
      element.addEventListener(events['MOUSE_DRAG']!, onDrag);
      element.addEventListener(events['MOUSE_UP']!, onUp);
      element.addEventListener(events['MOUSE_CLICK']!, onUp);
      return true;
    };

    private async finish(viewport: StackViewport, negative: boolean, a: Point3, b: Point3, dragged: boolean, at: number): Promise<void> {
      const imageId = viewport.getCurrentImageId();
      if (!imageId) {
        // An oblique, sagittal or coronal view of the MPR layout: no slice of the series is on show.
        controller.status.set({ error: NOT_A_SLICE, errorKind: 'outside' });
        return;
      }
      const p = cs.utilities.worldToImageCoords(imageId, a);
      if (!p) return;
      if (!dragged) {
        await controller.prompt(viewport, { kind: 'point', point: { x: round(p[0]), y: round(p[1]), label: negative ? 0 : 1 } }, at);
        return;
      }
      const q = cs.utilities.worldToImageCoords(imageId, b);
      if (!q) return;
      await controller.prompt(
        viewport,
        { kind: 'box', box: { x1: round(Math.min(p[0], q[0])), y1: round(Math.min(p[1], q[1])), x2: round(Math.max(p[0], q[0])), y2: round(Math.max(p[1], q[1])) } },
        at,
      );
    }

    /** Enter (OHIF's acceptPreview command). */
    acceptPreview(): void {
      controller.accept();
    }

    /** Esc (OHIF's rejectPreview / cancelActiveOperation commands). */
    rejectPreview(): void {
      controller.reject();
    }
  }
  return GLMedSAClickTool as unknown as new (toolProps?: Record<string, unknown>) => object;
}

const round = (v: number) => Math.round(v * 100) / 100;
