/**
 * The viewer part of the server: the bundled OHIF, its generated configuration, our modules under
 * /ext/, and the same-origin DICOMweb proxy to the PACS (the only part that needs authorisation).
 */
import { Router } from 'express';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema.js';
import type { Authenticator } from '../http/auth.js';
import { renderAppConfig } from './app-config.js';
import { hostCheckActive } from '../http/host-check.js';
import { dicomWebProxy } from './dicomweb-proxy.js';
import { publicHostFor } from './public-host.js';
import { DEFAULT_EXT_DIR, DEFAULT_OHIF_DIR, EXTENSION_MODULE, MODE_MODULE } from './ohif-package.js';
import { viewerStatic } from './static-routes.js';

export { ensureOhifDist, isOhifDistReady, ViewerSetupError, viewerDist } from './ohif-setup.js';
export { DEFAULT_EXT_DIR, DEFAULT_OHIF_DIR, EXTENSION_MODULE, MODE_MODULE, OHIF_RELEASES, OHIF_VERSION, type OhifVersion, isOhifVersion, ohifDirFor } from './ohif-package.js';

interface ViewerParts {
  config: ServerConfig;
  auth: Authenticator;
  log: Logger;
}

/** Paths the viewer's client-side routes never claim. */
const API_PREFIXES = ['/v1', '/dicom-web', '/ext', '/healthz', '/readyz', '/metrics'];

export function viewerRoutes(p: ViewerParts): Router {
  const v = p.config.viewer;
  const router = Router();
  if (v.proxyPacs) {
    const hostVetted = hostCheckActive({ allowedHosts: p.config.http.allowedHosts, authRequired: p.config.auth.mode === 'required' });
    if (!hostVetted && !p.config.http.publicUrl) {
      p.log.info('the DICOMweb proxy asks the PACS to write this machine\'s own names into its answers\' URLs only; behind a reverse proxy, set http.publicUrl (GLMEDSA_PUBLIC_URL)');
    }
    router.use('/dicom-web', dicomWebProxy({ pacs: p.config.pacs, auth: p.auth, log: p.log, publicHost: publicHostFor({ publicUrl: p.config.http.publicUrl, hostVetted }) }));
  }
  router.use(
    viewerStatic({
      ohifDir: v.ohifDir ?? DEFAULT_OHIF_DIR,
      extDir: v.extDir ?? DEFAULT_EXT_DIR,
      appConfigJs: renderAppConfig({ extensions: [EXTENSION_MODULE], modes: [MODE_MODULE], serverUrl: v.serverUrl, apiKey: v.apiKey, decodeIn: v.decodeIn, decodeBackend: v.decodeBackend, proxyPacs: v.proxyPacs }),
      corsOrigins: p.config.cors.origins,
      apiPrefixes: API_PREFIXES,
      sourceMaps: v.sourceMaps,
    }),
  );
  return router;
}
