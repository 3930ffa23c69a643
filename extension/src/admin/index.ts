/** The fine-tuning panel's parts, put together for the extension (same server, same authorisation as the click tool). */
import { AdminClient } from './admin-client.js';
import { AdminController } from './admin-controller.js';

export { makeAdminPanel } from './admin-panel.js';
export { AdminController } from './admin-controller.js';

export function createAdmin(
  config: { serverUrl?: string; model?: string },
  authorization: () => string | null,
  onSwitched?: () => void,
  /** The model the main panel segments with now (the user may pick another). */
  currentModel: () => string | null = () => null,
): AdminController {
  return new AdminController(new AdminClient({ baseUrl: config.serverUrl ?? '', authorization }), () => currentModel() ?? config.model ?? null, onSwitched);
}
