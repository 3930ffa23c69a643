/**
 * What the running viewer lends us: Cornerstone, from OHIF's cornerstone extension's utility
 * module (the same instances the viewer renders with; its tool classes are the ones OHIF's commands
 * test with instanceof). Nothing from OHIF, React or Cornerstone is imported by name at run time;
 * our panels need no React of the host's (host-panel.ts).
 */
import type { CornerstoneCore, CornerstoneTools, ExtensionManager } from './viewer-types.js';

export interface Peers {
  cornerstone: CornerstoneCore;
  cornerstoneTools: CornerstoneTools;
}

let peers: Peers | null = null;

export function loadPeers(extensionManager: ExtensionManager): Peers {
  if (peers) return peers;
  const entry = extensionManager.getModuleEntry('@ohif/extension-cornerstone.utilityModule.common');
  const libs = entry?.exports?.getCornerstoneLibraries?.();
  if (!libs?.cornerstone || !libs?.cornerstoneTools) {
    throw new Error('GLMed-SA needs the OHIF cornerstone extension (@ohif/extension-cornerstone), which is not registered in this viewer');
  }
  peers = { cornerstone: libs.cornerstone, cornerstoneTools: libs.cornerstoneTools };
  return peers;
}
