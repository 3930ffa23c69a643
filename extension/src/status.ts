/** What the panel shows, as one small observable store (the tool writes, the panel reads). */

interface LatencySplit {
  networkMs: number;
  fetchMs: number;
  encodeMs: number;
  decodeMs: number;
  totalMs: number;
  cached: boolean;
}

export type PropagationKind = 'propagate' | 'refine' | 'fill';

/** A propagation through the series, as the panel's progress bar shows it. */
export interface PropagationView {
  kind: PropagationKind;
  state: 'starting' | 'queued' | 'running' | 'done' | 'cancelled' | 'failed';
  /** Slices decided so far, of at most `total` (the object usually ends sooner). */
  done: number;
  total: number;
  /** The image (1-based, in the viewer's order) decided last. */
  current: number | null;
  /** Images in the series. */
  images: number;
  /** At most this many seconds left. */
  etaSeconds: number | null;
  slicesPerSecond: number | null;
  /** Slices the proposal is on, and the first and last of them (1-based, the viewer's order). */
  slices: number;
  first: number | null;
  last: number | null;
  /** Why it failed, or why it waits (busy), as a sentence. */
  reason: string | null;
}

/** A lesion's figures: volume, longest axial diameter and the image it is on (1-based), slices it spans. */
export interface LesionFigures {
  volumeMl: number;
  voxels: number;
  longestAxialMm: number | null;
  longestOnImage: number | null;
  slices: number;
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
  /** The propagation on show (running or finished, until its proposal is accepted or rejected). */
  propagation: PropagationView | null;
  /** The active segment's figures over the series: as accepted, and with the proposal on show added. */
  measures: { segment: LesionFigures | null; withProposal: LesionFigures | null; segmentLabel: string } | null;
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
    propagation: null,
    measures: null,
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
