/** What the panel shows, as one small observable store (the tool writes, the panel reads). */

interface LatencySplit {
  networkMs: number;
  fetchMs: number;
  encodeMs: number;
  decodeMs: number;
  totalMs: number;
  cached: boolean;
}

export interface PanelState {
  server: 'unknown' | 'up' | 'down';
  device: string | null;
  models: { id: string; name: string; provider: string; activeAdapter: string | null; default: boolean }[];
  model: string | null;
  busy: boolean;
  /** A plain sentence, or null. */
  error: string | null;
  errorKind: string | null;
  notice: string | null;
  last: LatencySplit | null;
  prompts: number;
  candidates: { index: number; count: number } | null;
  /** Where clicks are decoded, on which backend, and why on the server when it fell back. */
  decode: { path: 'browser' | 'server'; backend: string | null; reason: string | null } | null;
}

/**
 * What both panels call a model: the display name GET /v1/models gives (e.g. 'glmedsa-starter'),
 * or the id (e.g. 'starter', what the API's paths take) when the name is empty.
 */
export function modelLabel(m: { id: string; name: string }): string {
  return m.name || m.id;
}

type Listener = (s: PanelState) => void;

export class StatusStore {
  private state: PanelState = {
    server: 'unknown',
    device: null,
    models: [],
    model: null,
    busy: false,
    error: null,
    errorKind: null,
    notice: null,
    last: null,
    prompts: 0,
    candidates: null,
    decode: null,
  };
  private readonly listeners = new Set<Listener>();

  get(): PanelState {
    return this.state;
  }

  set(patch: Partial<PanelState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l(this.state);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
