/**
 * @glmedsa/ohif-mode: "GLMed-SA Segmentation", route `glmedsa`. Built on the viewer's own
 * segmentation mode (its tool groups, toolbar, layout and SOP class handlers, taken at run time
 * through the mode factory's loadModules), with the GLMed-SA panel first on the right and the
 * GLMed-SA fine-tuning panel last, the GLMed-SA click tool active on the primary button (in the
 * stack layout and in OHIF's MPR layout), an MPR button for series that are volumes, and its hotkeys. Works with OHIF 3.12's modes (a factory per mode) and 3.13's (mode instances); where it
 * cannot work, it says why in the study list and leaves the viewer as it was.
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
  { commandName: 'glmedsaPropagate', label: 'GLMed-SA: propagate the mask through the series', keys: ['p'], isEditable: true },
  { commandName: 'glmedsaFillBetween', label: 'GLMed-SA: fill between two accepted slices', keys: ['f'], isEditable: true },
];

/** The OHIF default binding our N replaces (and falls back to). */
export const REPLACED_COMMANDS = ['interpolateScrollForMarkerLabelmap'];

type Binding = { commandName?: string; keys?: string[] };

/** OHIF's bindings without those ours replace, then ours. */
export function withOurHotkeys(list: Binding[] | undefined): Binding[] {
  return [...(list ?? []).filter((b) => !REPLACED_COMMANDS.includes(b.commandName ?? '')), ...hotkeys];
}

const MPR_BUTTON = 'GLMedSAMPR';

/** OHIF's MPR layout (its 'mpr' hanging protocol), offered where the series is a volume. */
function mprButton() {
  return {
    id: MPR_BUTTON,
    uiType: 'ohif.toolButton',
    props: {
      icon: 'icon-mpr',
      label: 'MPR',
      tooltip: 'MPR: the series in three planes (axial, sagittal, coronal), with the segmentation; GLMed-SA clicks work in the axial view',
      commands: { commandName: 'toggleHangingProtocol', commandOptions: { protocolId: 'mpr' } },
      evaluate: 'evaluate.displaySetIsReconstructable',
    },
  };
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

/** Our panels around the segmentation mode's: ours first on the right, the fine-tuning panel last, the right side open. */
function withOurPanels(layout: Any): Any {
  const props = layout?.props;
  if (!props || !Array.isArray(props.rightPanels)) throw new Error("the segmentation mode's layout has no right panels");
  return { ...layout, props: { ...props, rightPanels: [PANEL_ID, ...props.rightPanels, ADMIN_PANEL_ID], rightPanelClosed: false } };
}

/**
 * A mode module's instance: OHIF 3.13 and later export it as `modeInstance` (their modeFactory
 * applies a configuration onto it); 3.12's modes have only a modeFactory that builds it.
 */
async function instanceOf(module: Any, loadModules: (names: string[]) => Promise<Any[]>): Promise<Any> {
  if (module?.modeInstance) return module.modeInstance;
  if (typeof module?.modeFactory === 'function') return module.modeFactory.call(module, { modeConfiguration: {}, loadModules });
  throw new Error('the viewer has no segmentation mode (@ohif/mode-segmentation)');
}

/**
 * Our click tool on the primary button (and Shift+primary for negative points) of a tool group. The
 * tools holding those buttons there go passive (window/level; in the MPR group, the crosshairs OHIF's
 * segmentation mode puts on Shift+primary): they stay one toolbar click away.
 */
function activateOurTool(group: Any, tools: Any): void {
  group.addTool(TOOL);
  group.setToolPassive?.('WindowLevel');
  if (group.id === 'mpr' && group.hasTool?.('Crosshairs') !== false) group.setToolPassive?.('Crosshairs');
  group.setToolActive(TOOL, {
    bindings: [{ mouseButton: tools.Enums.MouseBindings.Primary }, { mouseButton: tools.Enums.MouseBindings.Primary, modifierKey: tools.Enums.KeyboardBindings.Shift }],
  });
}

/** Our tool in the stack layout's tool group and in the MPR layout's ('default' and 'mpr', as OHIF's segmentation mode names them). */
function activateInGroups(toolGroupService: Any, extensionManager: ModeContext['extensionManager']): void {
  const tools = extensionManager.getModuleEntry('@ohif/extension-cornerstone.utilityModule.tools')?.exports;
  for (const id of ['default', 'mpr']) {
    const group = toolGroupService.getToolGroup(id);
    if (group && tools) activateOurTool(group, tools);
  }
}

/** What both generations of the mode do on entering, after the segmentation mode's own set-up: our keys, button and tool. */
function enterOurs(ctx: ModeContext): void {
  const { toolbarService } = ctx.servicesManager.services;
  toolbarService.register([toolButton(), mprButton()]);
  toolbarService.updateSection('primary', [TOOL, MPR_BUTTON]);
  try {
    ctx.commandsManager.runCommand('setToolActiveToolbar', { toolName: TOOL, toolGroupIds: ['default'] });
  } catch {
    // The tool group already has it active on the primary button.
  }
}

function addOurHotkeys(ctx: ModeContext): void {
  const { customizationService } = ctx.servicesManager.services;
  try {
    customizationService.setCustomizations({ 'ohif.hotkeyBindings': { $apply: withOurHotkeys } }, customizationService.Scope?.Mode ?? 'mode');
  } catch (err) {
    console.warn('GLMed-SA: hotkeys not added', err);
  }
}

/**
 * Runs `enter` with the segmentation service's new subscriptions dropped: OHIF 3.12's
 * segmentation mode subscribes there only to switch the right side to its own panel on the first
 * mask, which would hide ours (3.13's mode makes that switch optional, and ours turns it off).
 */
function withoutPanelSwitching(segmentationService: Any, enter: () => void): void {
  const subscribe = segmentationService.subscribe;
  const made: { unsubscribe(): void }[] = [];
  segmentationService.subscribe = (...args: unknown[]) => {
    const s = subscribe.apply(segmentationService, args);
    made.push(s);
    return s;
  };
  try {
    enter();
  } finally {
    segmentationService.subscribe = subscribe;
  }
  made.forEach((s) => s?.unsubscribe?.());
}

async function glmedsaMode(loadModules: (names: string[]) => Promise<Any[]>): Promise<Any> {
  const [segmentationMode, basicMode] = await loadModules(['@ohif/mode-segmentation', '@ohif/mode-basic']);
  const seg = await instanceOf(segmentationMode, loadModules);
  const segRoute = seg?.routes?.[0];
  if (typeof segRoute?.layoutTemplate !== 'function') throw new Error('the segmentation mode has no route layout');
  const route = {
    ...segRoute,
    path: 'glmedsa',
    // OHIF calls it as route.layoutTemplate(...): 3.13's reads this.layoutInstance, 3.12's builds the layout itself.
    async layoutTemplate(this: Any, args: Any) {
      return withOurPanels(await segRoute.layoutTemplate.call(this, args));
    },
  };
  const common = {
    ...seg,
    id: MODE_ID,
    routeName: 'glmedsa',
    displayName: 'GLMed-SA Segmentation',
    hide: false,
    extensions: { ...seg.extensions, [EXTENSION_URL]: '^0.1.0' },
    routes: [route],
    onModeExit: seg.onModeExit,
  };
  const basic = basicMode?.modeInstance;
  if (typeof seg.initToolGroups === 'function' && typeof basic?.onModeEnter === 'function') {
    // OHIF 3.13 and later: the basic mode's enter runs the mode instance's initToolGroups, toolbar
    // and customizations; the segmentation mode's own enter only adds the panel switching that would
    // hide our panel on the first mask.
    return {
      ...common,
      activatePanelTriggers: [],
      initToolGroups(opts: Any) {
        seg.initToolGroups(opts);
        activateInGroups(opts.toolGroupService, opts.extensionManager);
      },
      onModeEnter(this: Any, ctx: ModeContext) {
        addOurHotkeys(ctx);
        basic.onModeEnter.call(this, ctx);
        enterOurs(ctx);
      },
    };
  }
  if (typeof seg.onModeEnter !== 'function') throw new Error('the segmentation mode has no onModeEnter');
  // OHIF 3.12: the segmentation mode's enter makes its tool groups and toolbar itself.
  return {
    ...common,
    onModeEnter(this: Any, ctx: ModeContext) {
      addOurHotkeys(ctx);
      withoutPanelSwitching(ctx.servicesManager.services.segmentationService, () => seg.onModeEnter.call(seg, ctx));
      activateInGroups(ctx.servicesManager.services.toolGroupService, ctx.extensionManager);
      enterOurs(ctx);
    },
  };
}

/** The sentence the viewer shows where our mode cannot run. */
function unavailableSentence(reason: string): string {
  return `GLMed-SA cannot run in this version of the OHIF viewer (${reason.replace(/[.\s]+$/, '')}); the rest of the viewer works as before.`;
}

/**
 * Whatever happens, the viewer keeps working: OHIF builds every mode before it shows anything, so a
 * mode factory that throws leaves a black page on every route. A viewer our mode does not fit gets
 * it listed, disabled, with the reason as its description.
 */
async function modeFactory(this: unknown, { loadModules }: { modeConfiguration?: unknown; loadModules: (names: string[]) => Promise<Any[]> }) {
  try {
    return await glmedsaMode(loadModules);
  } catch (err) {
    const sentence = unavailableSentence((err as Error)?.message ?? String(err));
    console.error(`GLMed-SA: ${sentence}`, err);
    return {
      id: MODE_ID,
      routeName: 'glmedsa',
      displayName: 'GLMed-SA Segmentation (unavailable)',
      hide: false,
      isValidMode: () => ({ valid: false, description: sentence }),
      routes: [],
      extensions: {},
      sopClassHandlers: [],
      hangingProtocol: [],
    };
  }
}

const mode = {
  id: MODE_ID,
  modeFactory,
  modeInstance: { id: MODE_ID, routeName: 'glmedsa', displayName: 'GLMed-SA Segmentation' },
  extensionDependencies: { [EXTENSION_URL]: '^0.1.0' },
};

export default mode;
