/**
 * The extension's module state: what preRegistration made (the controller of the click tool, the
 * fine-tuning panel's controller) and the viewer's services and commands, for the module getters and
 * the mode lifecycle that OHIF calls later; or, in a viewer it cannot work in, why not.
 */
import type { AdminController } from './admin/index.js';
import type { Controller } from './controller.js';
import type { CommandsManager, OhifServices } from './viewer-types.js';

interface Registered {
  controller: Controller;
  admin: AdminController;
  services: OhifServices;
  commands: CommandsManager;
}

let registered: Registered | null = null;
/** Why the extension could not register in this viewer (a sentence), or null. */
let unavailable: string | null = null;

export function setRegistered(r: Registered): void {
  registered = r;
  unavailable = null;
}

export function setUnavailable(sentence: string): void {
  registered = null;
  unavailable = sentence;
}

/** The sentence the panel shows instead of the tool when the extension could not register here. */
export function unavailableReason(): string | null {
  return registered ? null : unavailable ?? 'GLMed-SA was not registered by this viewer.';
}

/** What preRegistration made; throws when OHIF calls a getter before it (it never should). */
export function registeredParts(): Registered {
  if (!registered) throw new Error('the GLMed-SA extension is not registered');
  return registered;
}
