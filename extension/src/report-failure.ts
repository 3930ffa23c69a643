/**
 * How a failure reaches the user: a ServerError's sentence (unreachable, not authorised, busy...)
 * or any other error as "GLMed-SA could not do that: ..." in the panel, and a not-authorised
 * answer once as a viewer notification too, since the panel may not be on show.
 */
import { ServerError } from './client.js';
import type { StatusStore } from './status.js';
import type { OhifServices } from './viewer-types.js';

export type ReportFailure = (err: unknown) => void;

export function failureReporter(status: StatusStore, services: Pick<OhifServices, 'uiNotificationService'>): ReportFailure {
  const notified = new Set<string>();
  return (err) => {
    if (err instanceof ServerError && err.kind === 'unauthorised' && !notified.has(err.kind)) {
      notified.add(err.kind);
      services.uiNotificationService?.show({ title: 'GLMed-SA', message: err.message, type: 'error', duration: 8000 });
    }
    if (err instanceof ServerError) {
      status.set({ error: err.message, errorKind: err.kind, ...(err.kind === 'unreachable' ? { server: 'down' } : {}) });
    } else {
      status.set({ error: `GLMed-SA could not do that: ${(err as Error)?.message ?? String(err)}.`, errorKind: 'viewer' });
    }
  };
}
