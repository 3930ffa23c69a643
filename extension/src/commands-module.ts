/**
 * OHIF's commands module of the extension: what the mode's hotkeys and the panel's buttons run.
 * N is also OHIF's marker-guided labelmap tool's key: it is that tool's when ours is not the one in use.
 */
import { CLICK_TOOL_NAME } from './click-tool.js';
import { activeViewport } from './active-viewport.js';
import { registeredParts, unavailableReason } from './extension-state.js';
import { saveSegmentation } from './save-segmentation.js';
import type { OhifServices } from './viewer-types.js';

/** Whether our click tool is the active viewport's primary mouse tool (true when that cannot be told). */
function clickToolInUse(services: OhifServices): boolean {
  const vp = activeViewport(services);
  const group = vp && (services.toolGroupService.getToolGroupForViewport(vp.id) as { getActivePrimaryMouseButtonTool?(): string | undefined } | undefined);
  const active = group?.getActivePrimaryMouseButtonTool?.();
  return active === undefined || active === CLICK_TOOL_NAME;
}

export function getCommandsModule() {
  const parts = () => registeredParts();
  const actions: Record<string, () => void> = {
    glmedsaUndoPrompt: () => void parts().controller.undoPrompt(),
    glmedsaCycleCandidates: () => void parts().controller.cycleCandidates(),
    glmedsaNextSlice: () => {
      const { controller, services, commands } = parts();
      if (!clickToolInUse(services)) {
        commands.runCommand('interpolateScrollForMarkerLabelmap');
        return;
      }
      void controller.nextSlice();
    },
    glmedsaAccept: () => parts().controller.accept(),
    glmedsaPropagate: () => void parts().controller.propagate(),
    glmedsaFillBetween: () => void parts().controller.fillBetween(),
    glmedsaReject: () => parts().controller.reject(),
    glmedsaSaveSegmentation: () => {
      const { controller, services, commands } = parts();
      saveSegmentation(controller, services, commands);
    },
  };
  // Where the extension could not register, the commands do nothing (the panel says why).
  const guarded = (fn: () => void) => () => (unavailableReason() ? undefined : fn());
  return {
    actions,
    definitions: Object.fromEntries(Object.entries(actions).map(([name, fn]) => [name, { commandFn: guarded(fn) }])),
    defaultContext: 'VIEWER',
  };
}
