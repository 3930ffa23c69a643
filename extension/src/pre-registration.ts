/**
 * OHIF's preRegistration of the extension: takes Cornerstone from the viewer, makes the click
 * tool's controller and the fine-tuning panel's, lends the configured API key to the viewer's own
 * requests, registers the click tool with Cornerstone, and publishes the read-only diagnostics.
 */
import { createAdmin } from './admin/index.js';
import { createClickTool } from './click-tool.js';
import type { GlmedsaConfig } from './config.js';
import { Controller } from './controller.js';
import { diagnostics } from './diagnostics.js';
import { setRegistered } from './extension-state.js';
import { lendKeyToViewer } from './lend-key.js';
import { loadPeers } from './peers.js';
import type { CommandsManager, ExtensionManager, ServicesManager } from './viewer-types.js';

interface RegistrationContext {
  servicesManager: ServicesManager;
  extensionManager: ExtensionManager;
  commandsManager: CommandsManager;
  appConfig: { glmedsa?: GlmedsaConfig };
}

export function preRegistration({ servicesManager, extensionManager, commandsManager, appConfig }: RegistrationContext): void {
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
