/**
 * OHIF's preRegistration of the extension: takes Cornerstone from the viewer, makes the click
 * tool's controller and the fine-tuning panel's, lends the configured API key to the viewer's own
 * requests, registers the click tool with Cornerstone, and publishes the read-only diagnostics.
 * It never throws: OHIF registers every extension before it shows anything, so a throw here would
 * leave a black page on every route. Where it cannot work, the panel says why (unavailableReason).
 */
import { createAdmin } from './admin/index.js';
import { createClickTool } from './click-tool.js';
import type { GlmedsaConfig } from './config.js';
import { Controller } from './controller.js';
import { diagnostics } from './diagnostics.js';
import { setRegistered, setUnavailable } from './extension-state.js';
import { lendKeyToViewer } from './lend-key.js';
import { loadPeers } from './peers.js';
import type { CommandsManager, ExtensionManager, ServicesManager } from './viewer-types.js';

interface RegistrationContext {
  servicesManager: ServicesManager;
  extensionManager: ExtensionManager;
  commandsManager: CommandsManager;
  appConfig: { glmedsa?: GlmedsaConfig };
}

export function preRegistration(ctx: RegistrationContext): void {
  try {
    register(ctx);
  } catch (err) {
    const sentence = `GLMed-SA cannot run in this viewer: ${((err as Error)?.message ?? String(err)).replace(/[.\s]+$/, '')}. The rest of the viewer works as before.`;
    console.error(sentence, err);
    setUnavailable(sentence);
  }
}

function register({ servicesManager, extensionManager, commandsManager, appConfig }: RegistrationContext): void {
  const peers = loadPeers(extensionManager);
  const services = servicesManager.services;
  const config = appConfig.glmedsa ?? {};
  const controller = new Controller(config, services, peers);
  const admin = createAdmin(config, () => controller.authorization(), () => void controller.refreshServer(), () => controller.status.get().model);
  setRegistered({ controller, admin, services, commands: commandsManager });
  lendKeyToViewer(services, config);
  peers.cornerstoneTools.addTool(createClickTool(controller));
  (globalThis as unknown as Record<string, unknown>)['glmedsa'] = diagnostics(controller, services);
}
