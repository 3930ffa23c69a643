/** OHIF's panel module of the extension: the GLMed-SA panel and the fine-tuning panel. */
import { makeAdminPanel } from './admin/index.js';
import { ADMIN_PANEL_NAME, PANEL_NAME } from './extension-id.js';
import { registeredParts, unavailableReason } from './extension-state.js';
import { makePanel, makeUnavailablePanel } from './panel.js';
import { saveSegmentation } from './save-segmentation.js';

export function getPanelModule() {
  const reason = unavailableReason();
  if (reason) return [{ name: PANEL_NAME, iconName: 'tab-segmentation', iconLabel: 'GLMed-SA', label: 'GLMed-SA', component: makeUnavailablePanel(reason) }];
  const { controller, admin, services, commands } = registeredParts();
  return [
    {
      name: PANEL_NAME,
      iconName: 'tab-segmentation',
      iconLabel: 'GLMed-SA',
      label: 'GLMed-SA',
      component: makePanel(controller, { saveSeg: () => saveSegmentation(controller, services, commands) }),
    },
    {
      name: ADMIN_PANEL_NAME,
      iconName: 'tab-roi-threshold',
      iconLabel: 'Fine-tuning',
      label: 'GLMed-SA fine-tuning',
      component: makeAdminPanel(admin),
    },
  ];
}
