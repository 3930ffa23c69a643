/**
 * What the running viewer lends us: Cornerstone (from OHIF's cornerstone extension's utility
 * module) and React (from the viewer's own module registry; the 3.13.2 dist exposes no global
 * React). Nothing from OHIF, React or Cornerstone is imported by name at run time.
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

type ReactLike = typeof import('react');
type WebpackRequire = ((id: string | number) => unknown) & { m: Record<string, (...a: unknown[]) => void> };

let react: ReactLike | null = null;

/**
 * The viewer's React: from a global when the host exposes one, otherwise found in the bundler's
 * module registry (rspack/webpack chunk array) by its exports' shape, so it is the very instance
 * that renders our panel (hooks only work with the renderer's own copy).
 */
export function hostReact(): ReactLike {
  if (react) return react;
  const g = globalThis as unknown as Record<string, unknown>;
  const global = g['React'] as ReactLike | undefined;
  if (typeof global?.createElement === "function" && typeof global.useState === "function") return (react = global);
  for (const name of ['rspackChunk', 'webpackChunk', 'webpackChunkohif_viewer']) {
    const chunks = g[name] as unknown[] | undefined;
    if (!Array.isArray(chunks)) continue;
    let req: WebpackRequire | null = null;
    chunks.push([[`glmedsa-react-probe-${chunks.length}`], {}, (r: WebpackRequire) => { req = r; }]);
    const found = req as WebpackRequire | null;
    if (!found?.m) continue;
    for (const id of Object.keys(found.m)) {
      const src = Function.prototype.toString.call(found.m[id]);
      if (!/exports\.useState\s*=/.test(src) || !/exports\.createElement\s*=/.test(src) || !/exports\.version\s*=\s*"18\./.test(src)) continue;
      const candidate = found(id) as ReactLike;
      if (typeof candidate?.createElement === "function" && typeof candidate.useState === "function") return (react = candidate);
    }
  }
  throw new Error("GLMed-SA could not find the viewer's React");
}

/** JSX factory (tsconfig jsxFactory): React.createElement of the host's React. */
export function h(type: any, props: any, ...children: any[]): any {
  return hostReact().createElement(type, props, ...children);
}

export function Fragment(props: { children?: unknown }): any {
  return h(hostReact().Fragment, null, props.children);
}
