/**
 * With an API key and no signed-in user, OHIF's own requests (the DICOMweb data source on the
 * server's authorising /dicom-web proxy) carry the key too: it becomes the user authentication
 * service's header until a real sign-in replaces the implementation.
 */
import type { GlmedsaConfig } from './config.js';
import type { OhifServices } from './viewer-types.js';

export function lendKeyToViewer(s: OhifServices, config: GlmedsaConfig): void {
  const auth = s.userAuthenticationService as (OhifServices['userAuthenticationService'] & { setServiceImplementation?(impl: Record<string, unknown>): void }) | undefined;
  if (!config.apiKey || !auth?.setServiceImplementation) return;
  if (auth.getAuthorizationHeader?.()?.Authorization) return;
  const header = { Authorization: `ApiKey ${config.apiKey}` };
  auth.setServiceImplementation({ getAuthorizationHeader: () => header });
}
