/**
 * @glmedsa/ohif-extension: the GLMed-SA click tool, its commands and panels, for OHIF 3
 * (loaded by the viewer at run time from `window.config.extensions`; configured by
 * `window.config.glmedsa`, see config.ts). A manifest of OHIF's module getters, each in its own
 * file, as OHIF's own extensions are laid out.
 */
import { getCommandsModule } from './commands-module.js';
import { EXTENSION_ID } from './extension-id.js';
import { onModeEnter, onModeExit } from './mode-lifecycle.js';
import { getPanelModule } from './panel-module.js';
import { preRegistration } from './pre-registration.js';

const extension = {
  id: EXTENSION_ID,
  preRegistration,
  onModeEnter,
  onModeExit,
  getPanelModule,
  getCommandsModule,
};

export default extension;
