/**
 * @glmedsa/ohif-mode: "GLMed-SA Segmentation", route `glmedsa`. Built on the viewer's own
 * segmentation mode (its tool groups, toolbar packs, layout and SOP class handlers, taken at run
 * time through the mode factory's loadModules), with the GLMed-SA panel first on the right and
 * the GLMed-SA fine-tuning panel last, the GLMed-SA click tool active on the primary button, and
 * its hotkeys.
 */

export const MODE_ID = '@glmedsa/ohif-mode';
const EXTENSION_ID = '@glmedsa/ohif-extension';
const PANEL_ID = `${EXTENSION_ID}.panelModule.glmedsa`;
const ADMIN_PANEL_ID = `${EXTENSION_ID}.panelModule.glmedsa-admin`;
const TOOL = 'GLMedSAClick';
/** The extension is keyed by its URL (next to this module), which is how the viewer imports it. */
const EXTENSION_URL = new URL('./glmedsa-extension.mjs', import.meta.url).href;

type Any = any;

interface ModeContext {
  servicesManager: { services: Any };
  extensionManager: { getModuleEntry(id: string): { exports: Any } | undefined };
  commandsManager: { runCommand(name: string, o?: Record<string, unknown>, ctx?: string): unknown };
}

/**
 * Our keys beside OHIF 3.13's defaults (Enter accept, Esc cancel, Ctrl+Z/Ctrl+Y undo/redo, [ ]
 * brush size, B brush, E eraser, A new segment, C cine, ...), which stay as they are. N is OHIF's
 * "next slice" of its marker-guided labelmap tool: our N takes that binding's place (one entry in
 * OHIF's hotkey list) and hands over to OHIF's command when GLMed-SA has no prompts on show.
 */
export const hotkeys = [
  { commandName: 'glmedsaUndoPrompt', label: 'GLMed-SA: remove last prompt', keys: ['u'], isEditable: true },
  { commandName: 'glmedsaCycleCandidates', label: 'GLMed-SA: next candidate mask', keys: ['m'], isEditable: true },
  { commandName: 'glmedsaNextSlice', label: 'Next slice, same prompts (GLMed-SA or marker labelmap)', keys: ['n'], isEditable: true },
];

/** The OHIF default binding our N replaces (and falls back to). */
export const REPLACED_COMMANDS = ['interpolateScrollForMarkerLabelmap'];

type Binding = { commandName?: string; keys?: string[] };

/** OHIF's bindings without those ours replace, then ours. */
export function withOurHotkeys(list: Binding[] | undefined): Binding[] {
  return [...(list ?? []).filter((b) => !REPLACED_COMMANDS.includes(b.commandName ?? '')), ...hotkeys];
}

function toolButton() {
  return {
    id: TOOL,
    uiType: 'ohif.toolButton',
    props: {
      icon: 'icon-tool-click-segment',
      label: 'GLMed-SA',
      tooltip: 'GLMed-SA: click to include, Shift+click to exclude, drag for a box; Enter accepts, Esc rejects',
      commands: { commandName: 'setToolActiveToolbar', commandOptions: { toolName: TOOL } },
      evaluate: 'evaluate.cornerstoneTool',
    },
  };
}

async function modeFactory(this: unknown, { loadModules }: { modeConfiguration?: unknown; loadModules: (names: string[]) => Promise<Any[]> }) {
  const [segmentationMode, basicMode] = await loadModules(['@ohif/mode-segmentation', '@ohif/mode-basic']);
  const seg = segmentationMode.modeInstance;
  const basic = basicMode.modeInstance;
  const segRoute = seg.routes[0];
  const props = segRoute.layoutInstance.props;
  const layoutInstance = {
    ...segRoute.layoutInstance,
    props: { ...props, rightPanels: [PANEL_ID, ...props.rightPanels, ADMIN_PANEL_ID], rightPanelClosed: false },
  };
  return {
    ...seg,
    id: MODE_ID,
    routeName: 'glmedsa',
    displayName: 'GLMed-SA Segmentation',
    hide: false,
    extensions: { ...seg.extensions, [EXTENSION_URL]: '^0.1.0' },
    routes: [{ ...segRoute, path: 'glmedsa', layoutInstance }],
    // The segmentation mode's panel auto-switching would hide our panel on the first mask: use the basic enter.
    activatePanelTriggers: [],
    initToolGroups(opts: Any) {
      seg.initToolGroups(opts);
      const tools = opts.extensionManager.getModuleEntry('@ohif/extension-cornerstone.utilityModule.tools').exports;
      const group = opts.toolGroupService.getToolGroup('default');
      if (!group) return;
      group.addTool(TOOL);
      group.setToolPassive?.('WindowLevel');
      group.setToolActive(TOOL, {
        bindings: [{ mouseButton: tools.Enums.MouseBindings.Primary }, { mouseButton: tools.Enums.MouseBindings.Primary, modifierKey: tools.Enums.KeyboardBindings.Shift }],
      });
    },
    onModeEnter(this: Any, ctx: ModeContext) {
      const { customizationService, toolbarService } = ctx.servicesManager.services;
      try {
        customizationService.setCustomizations({ 'ohif.hotkeyBindings': { $apply: withOurHotkeys } }, customizationService.Scope?.Mode ?? 'mode');
      } catch (err) {
        console.warn('GLMed-SA: hotkeys not added', err);
      }
      basic.onModeEnter.call(this, ctx);
      toolbarService.register([toolButton()]);
      toolbarService.updateSection('primary', [TOOL]);
      try {
        ctx.commandsManager.runCommand('setToolActiveToolbar', { toolName: TOOL, toolGroupIds: ['default'] });
      } catch {
        // The tool group already has it active on the primary button.
      }
    },
    onModeExit: seg.onModeExit,
  };
}

const mode = {
  id: MODE_ID,
  modeFactory,
  modeInstance: { id: MODE_ID, routeName: 'glmedsa', displayName: 'GLMed-SA Segmentation' },
  extensionDependencies: { [EXTENSION_URL]: '^0.1.0' },
};

export default mode;
