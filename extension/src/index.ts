/**
 * @glmedsa/ohif-extension: the GLMed-SA click tool, its commands and panel, for OHIF 3.13
 * (loaded by the viewer at run time from `window.config.extensions`; configured by
 * `window.config.glmedsa`, see GlmedsaConfig).
 */
import { ADMIN_PANEL_NAME, type AdminController, createAdmin, makeAdminPanel } from './admin/index.js';
import { CLICK_TOOL_NAME, createClickTool } from './click-tool.js';
import { Controller, type GlmedsaConfig } from './controller.js';
import { loadPeers } from './peers.js';
import { makePanel } from './panel.js';
import type { CommandsManager, ExtensionManager, ServicesManager, StackViewport } from './viewer-types.js';

export const EXTENSION_ID = '@glmedsa/ohif-extension';
export const PANEL_ID = `${EXTENSION_ID}.panelModule.glmedsa`;
export const ADMIN_PANEL_ID = `${EXTENSION_ID}.panelModule.${ADMIN_PANEL_NAME}`;
export { CLICK_TOOL_NAME };

let controller: Controller | null = null;
let admin: AdminController | null = null;
let commands: CommandsManager | null = null;
let services: ServicesManager['services'] | null = null;
let unsubscribe: (() => void)[] = [];

function need(): Controller {
  if (!controller) throw new Error('the GLMed-SA extension is not registered');
  return controller;
}

function activeViewport(): StackViewport | undefined {
  if (!services) return undefined;
  const id = services.viewportGridService.getActiveViewportId();
  return services.cornerstoneViewportService.getCornerstoneViewport(id);
}

/** Whether our click tool is the active viewport's primary mouse tool (true when that cannot be told). */
function clickToolInUse(): boolean {
  const vp = activeViewport();
  const group = vp && (services?.toolGroupService.getToolGroupForViewport(vp.id) as { getActivePrimaryMouseButtonTool?(): string | undefined } | undefined);
  const active = group?.getActivePrimaryMouseButtonTool?.();
  return active === undefined || active === CLICK_TOOL_NAME;
}

function saveSeg(): void {
  const c = need();
  c.accept();
  const vp = activeViewport();
  const seg = vp && services?.segmentationService.getActiveSegmentation(vp.id);
  if (!seg) {
    c.status.set({ error: 'There is no segmentation to save yet: click on the image first.', errorKind: 'viewer' });
    return;
  }
  const run = commands as unknown as { run(o: { commandName: string; commandOptions: Record<string, unknown>; context?: string }): unknown };
  Promise.resolve(run.run({ commandName: 'storeSegmentation', commandOptions: { segmentationId: seg.segmentationId, modality: 'SEG' }, context: 'CORNERSTONE' })).catch(
    (err: unknown) => c.status.set({ error: `The segmentation could not be saved to the PACS: ${(err as Error)?.message ?? err}.`, errorKind: 'pacs' }),
  );
}

/**
 * With an API key and no signed-in user, OHIF's own requests (the DICOMweb data source on the
 * server's authorising /dicom-web proxy) carry the key too: it becomes the user authentication
 * service's header until a real sign-in replaces the implementation.
 */
function lendKeyToViewer(s: ServicesManager['services'], config: GlmedsaConfig): void {
  const auth = s.userAuthenticationService as (ServicesManager['services']['userAuthenticationService'] & { setServiceImplementation?(impl: Record<string, unknown>): void }) | undefined;
  if (!config.apiKey || !auth?.setServiceImplementation) return;
  if (auth.getAuthorizationHeader?.()?.Authorization) return;
  const header = { Authorization: `ApiKey ${config.apiKey}` };
  auth.setServiceImplementation({ getAuthorizationHeader: () => header });
}

/** For tests and the benchmark: what is on show, read from the viewer (no control over it). */
function diagnostics() {
  return {
    status: () => need().status.get(),
    timeline: () => need().timeline.map((t) => ({ ...t })),
    /** Where image pixel (x, y) of the image on show is on the page (CSS pixels), to aim clicks. */
    pagePoint(x: number, y: number): { x: number; y: number } | null {
      const c = need();
      const vp = activeViewport();
      if (!vp) return null;
      const world = c.peers.cornerstone.utilities.imageToWorldCoords(vp.getCurrentImageId(), [x, y]);
      if (!world) return null;
      const [cx, cy] = vp.worldToCanvas(world);
      const r = vp.element.getBoundingClientRect();
      return { x: r.left + cx, y: r.top + cy };
    },
    /** The viewport's display properties (window/level as voiRange). */
    properties: () => activeViewport()?.getProperties?.() ?? null,
    /** The image on show: its reference and size. */
    image: () => {
      const vp = activeViewport();
      return vp ? need().imageInfo(vp) : null;
    },
    /** The labelmap of the active segmentation for the image on show, as 0/1 per pixel of `segmentIndex` (any segment when absent). */
    labelmap(segmentIndex?: number): { width: number; height: number; data: number[] } | null {
      const c = need();
      const vp = activeViewport();
      if (!vp || !services) return null;
      const seg = services.segmentationService.getActiveSegmentation(vp.id);
      if (!seg) return null;
      const imageId = vp.getCurrentImageId();
      const ids = c.peers.cornerstoneTools.segmentation.getLabelmapImageIdsForImageId?.(imageId, seg.segmentationId);
      const lid = Array.isArray(ids) ? ids[0] : ids;
      const img = lid ? (c.peers.cornerstone.cache.getImage(lid) as unknown as { rows: number; columns: number; voxelManager?: { getScalarData?: () => ArrayLike<number> }; getPixelData?: () => ArrayLike<number> }) : undefined;
      const px = img?.voxelManager?.getScalarData?.() ?? img?.getPixelData?.();
      if (!img || !px) return null;
      const data = Array.from(px, (v) => (segmentIndex === undefined ? (v ? 1 : 0) : v === segmentIndex ? 1 : 0));
      return { width: img.columns, height: img.rows, data };
    },
  };
}

const extension = {
  id: EXTENSION_ID,

  preRegistration({ servicesManager, extensionManager, commandsManager, appConfig }: { servicesManager: ServicesManager; extensionManager: ExtensionManager; commandsManager: CommandsManager; appConfig: { glmedsa?: GlmedsaConfig } }) {
    const peers = loadPeers(extensionManager);
    services = servicesManager.services;
    commands = commandsManager;
    const config = appConfig.glmedsa ?? {};
    controller = new Controller(config, servicesManager.services, peers);
    const c = controller;
    admin = createAdmin(config, () => c.authorization(), () => void c.refreshServer(), () => c.status.get().model);
    lendKeyToViewer(servicesManager.services, config);
    peers.cornerstoneTools.addTool(createClickTool(controller));
    (globalThis as unknown as Record<string, unknown>)['glmedsa'] = diagnostics();
  },

  onModeEnter() {
    const c = need();
    c.start();
    const s = services!;
    const warmActive = () => {
      const vp = activeViewport();
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
    unsubscribe = [() => sub.unsubscribe(), () => c.peers.cornerstone.eventTarget.removeEventListener(ev, onNewImage)];
  },

  onModeExit() {
    unsubscribe.forEach((u) => u());
    unsubscribe = [];
    controller?.stop();
    admin?.stop();
  },

  getPanelModule() {
    return [
      {
        name: 'glmedsa',
        iconName: 'tab-segmentation',
        iconLabel: 'GLMed-SA',
        label: 'GLMed-SA',
        component: makePanel(need(), { saveSeg }),
      },
      {
        name: ADMIN_PANEL_NAME,
        iconName: 'tab-roi-threshold',
        iconLabel: 'Fine-tuning',
        label: 'GLMed-SA fine-tuning',
        component: makeAdminPanel(admin!),
      },
    ];
  },

  getCommandsModule() {
    const actions = {
      glmedsaUndoPrompt: () => void need().undoPrompt(),
      glmedsaCycleCandidates: () => void need().cycleCandidates(),
      glmedsaNextSlice: () => {
        // N is also OHIF's marker-guided labelmap tool's key: it is that tool's when ours is not the one in use.
        if (!clickToolInUse() && commands) {
          commands.runCommand('interpolateScrollForMarkerLabelmap');
          return;
        }
        void need().nextSlice();
      },
      glmedsaAccept: () => need().accept(),
      glmedsaReject: () => need().reject(),
      glmedsaSaveSegmentation: () => saveSeg(),
    };
    return {
      actions,
      definitions: Object.fromEntries(Object.entries(actions).map(([name, fn]) => [name, { commandFn: fn }])),
      defaultContext: 'VIEWER',
    };
  },
};

export default extension;
