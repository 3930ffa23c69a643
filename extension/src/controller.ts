/**
 * The prompts on the image being segmented: the server client, the prompt session of that image,
 * its labelmap preview and markers, and the panel's store; the server's status, the warm-up of
 * embeddings, the proposal through the series (propagation/propagator.ts) and the lesion's figures
 * (measure/) are parts of their own. The click tool and the commands call into it; it never blocks
 * the UI (requests are async, a newer prompt makes older answers stale).
 */
import { decodeMask } from '@glmedsa/server/api';
import { GlmedsaClient, ServerError } from './client.js';
import type { GlmedsaConfig } from './config.js';
import { LabelmapPreview } from './labelmap.js';
import { MarkerLayer } from './markers.js';
import { SegmentMeasures } from './measure/segment-measures.js';
import { PropagationClient } from './propagation/propagation-client.js';
import { Propagator } from './propagation/propagator.js';
import { type ReportFailure, failureReporter } from './report-failure.js';
import { BrowserSegmenter, type BrowserSegmenterOptions } from './segmenter/browser-segmenter.js';
import { DecodeRouter, decodeInOf } from './segmenter/decode-router.js';
import { decodeBackendOf } from './segmenter/ort-backend.js';
import { ServerSegmenter } from './segmenter/segmenter.js';
import type { Peers } from './peers.js';
import { type Prompt, PromptSession } from './prompts.js';
import { StatusStore } from './status.js';
import { ServerStatus } from './server-status.js';
import { type ClickTiming, mark, newTiming } from './timeline.js';
import { type ImageInfo, imageInfo } from './viewer-image.js';
import type { OhifServices, StackViewport } from './viewer-types.js';
import { EmbeddingWarmUp } from './warm-up.js';

export class Controller {
  readonly status = new StatusStore();
  readonly client: GlmedsaClient;
  private readonly preview: LabelmapPreview;
  readonly markers: MarkerLayer;
  private session: PromptSession | null = null;
  private viewport: StackViewport | null = null;
  /** For the benchmark and tests: the time from a prompt's mouse event to its mask on screen. */
  readonly timeline: ClickTiming[] = [];
  readonly decoding: DecodeRouter;
  private readonly server: ServerStatus;
  private readonly warmUp: EmbeddingWarmUp;
  private readonly fail: ReportFailure;
  /** P, Fill between, and clicks on a proposal through the series. */
  readonly propagator: Propagator;
  /** The active segment's volume and diameter for the panel. */
  readonly measures: SegmentMeasures;

  constructor(
    readonly config: GlmedsaConfig,
    private readonly services: OhifServices,
    readonly peers: Peers,
    /** How the browser path makes its decoder sessions (default: ort-backend's, for the page; the Node tests pass onnxruntime-web's wasm backend). */
    createSession?: BrowserSegmenterOptions['createSession'],
  ) {
    this.client = new GlmedsaClient({ baseUrl: config.serverUrl ?? '', authorization: () => this.authorization() });
    this.preview = new LabelmapPreview(peers, services);
    this.preview.onDiscarded = () => {
      this.propagator.end();
      this.endSession();
    };
    this.markers = new MarkerLayer(peers);
    if (config.model) this.status.set({ model: config.model });
    const browser = new BrowserSegmenter({ baseUrl: config.serverUrl ?? '', headers: () => this.authHeaders(), createSession, backend: decodeBackendOf(config.decodeBackend) });
    this.decoding = new DecodeRouter(decodeInOf(config.decodeIn), new ServerSegmenter(this.client), browser, this.status);
    this.fail = failureReporter(this.status, services);
    this.propagator = new Propagator({
      peers,
      services,
      preview: this.preview,
      client: new PropagationClient({ baseUrl: config.serverUrl ?? '', authorization: () => this.authorization() }),
      status: this.status,
      fail: this.fail,
      model: () => this.status.get().model ?? undefined,
    });
    this.measures = new SegmentMeasures(peers, services, this.status);
    this.server = new ServerStatus({ client: this.client, status: this.status, decoding: this.decoding, fail: this.fail, ...(config.healthIntervalSeconds !== undefined ? { intervalSeconds: config.healthIntervalSeconds } : {}) });
    this.warmUp = new EmbeddingWarmUp({ peers, client: this.client, decoding: this.decoding, fail: this.fail, ...(config.warmNeighbours !== undefined ? { neighbours: config.warmNeighbours } : {}) });
  }

  private authHeaders(): Record<string, string> {
    const a = this.authorization();
    return a ? { Authorization: a } : {};
  }

  /** OHIF's signed-in user's header first, else the configured key, else none. */
  authorization(): string | null {
    const header = this.services.userAuthenticationService?.getAuthorizationHeader?.();
    if (header?.Authorization) return header.Authorization;
    if (this.config.apiKey) return `ApiKey ${this.config.apiKey}`;
    return null;
  }

  /** Starts polling the server's health (on entering the mode). */
  start(): void {
    this.server.start();
  }

  stop(): void {
    this.server.stop();
    this.reject();
    this.measures.stop();
    this.markers.detach();
  }

  /** Server status, device and models for the panel. */
  refreshServer(): Promise<void> {
    return this.server.refresh();
  }

  selectModel(id: string): void {
    const m = this.status.get().models.find((x) => x.id === id);
    if (!m) return;
    this.reject();
    this.status.set({ model: id, device: m.provider.toUpperCase() });
    void this.decoding.prepare(id);
  }

  /** The image on show in a viewport, as the server references it. */
  private imageInfo(viewport: StackViewport): ImageInfo {
    return imageInfo(this.peers.cornerstone, viewport);
  }

  /** As imageInfo, or null after saying in the panel why the image cannot be segmented. */
  private imageInfoOrFail(viewport: StackViewport): ImageInfo | null {
    try {
      return this.imageInfo(viewport);
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  private sessionFor(viewport: StackViewport, info: ImageInfo): PromptSession {
    const key = `${info.imageId}|${this.status.get().model ?? ''}`;
    if (this.viewport !== viewport || this.session?.imageKey !== key) {
      // A proposal belongs to its image, and leaving it rejects it; but a click on another slice of
      // a proposal through the series refines that slice of it.
      if (!this.propagator.covers(viewport, info.imageId)) this.reject();
      this.viewport = viewport;
      this.session = new PromptSession(key, info.ref);
    }
    this.markers.attach(viewport);
    return this.session;
  }

  /** A click (label 1 or 0) or a box, in image pixel coordinates. */
  async prompt(viewport: StackViewport, prompt: Prompt, at = performance.now()): Promise<void> {
    const info = this.imageInfoOrFail(viewport);
    if (!info) return;
    if (prompt.kind === 'point') {
      const { x, y } = prompt.point;
      if (!(x >= 0 && y >= 0 && x < info.width && y < info.height)) {
        this.status.set({ error: 'That click is outside the image: click on the image itself.', errorKind: 'outside' });
        return;
      }
    } else {
      const b = prompt.box;
      const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi - 1, v));
      prompt = { kind: 'box', box: { x1: clamp(b.x1, info.width), y1: clamp(b.y1, info.height), x2: clamp(b.x2, info.width), y2: clamp(b.y2, info.height) } };
      if (prompt.box.x2 - prompt.box.x1 < 1 || prompt.box.y2 - prompt.box.y1 < 1) {
        this.status.set({ error: 'That box is outside the image: drag across the image itself.', errorKind: 'outside' });
        return;
      }
    }
    const session = this.sessionFor(viewport, info);
    const model = this.status.get().model ?? undefined;
    if (session.prompts.length === 0 && prompt.kind === 'point' && prompt.point.label === 0) {
      // A first Shift+click on a slice of a proposal through the series excludes from that slice's
      // mask: the mask's box (drawn with the markers) says what the point is excluded from.
      const box = this.propagator.proposalBox(viewport, info);
      if (box) session.add({ kind: 'box', box }, info.voi, model);
    }
    const { ticket, request } = session.add(prompt, info.voi, model);
    this.markers.set(info.imageId, session.prompts);
    const entry = newTiming(at);
    this.timeline.push(entry);
    if (this.timeline.length > 200) this.timeline.shift();
    await this.send(viewport, info, session, ticket, request, entry);
  }

  private async send(
    viewport: StackViewport,
    info: ImageInfo,
    session: PromptSession,
    ticket: number,
    request: ReturnType<PromptSession['request']>,
    entry?: ClickTiming,
  ): Promise<void> {
    this.status.set({ busy: true, prompts: session.prompts.length });
    let attempt = 0;
    let req = request;
    for (;;) {
      const sentAt = performance.now();
      mark(entry, 'sentAt');
      try {
        const res = await this.decoding.segment({ ...req, ...(req.model ? {} : this.status.get().model ? { model: this.status.get().model! } : {}) });
        mark(entry, 'answeredAt');
        if (this.session !== session || !session.accept(ticket, res, this.decoding.lastPath === 'server')) return; // stale: a newer prompt is on its way
        const networkMs = performance.now() - sentAt - res.timings.totalMs;
        this.status.set({
          last: { networkMs: round(Math.max(0, networkMs)), fetchMs: res.timings.fetchMs, encodeMs: res.timings.embedMs, decodeMs: res.timings.decodeMs, totalMs: round(performance.now() - sentAt), cached: res.cached },
          error: null,
          errorKind: null,
          server: 'up',
        });
        if (entry) {
          entry.server = res.timings;
          entry.answer = { path: this.decoding.lastPath, best: res.best, scores: res.masks.map((m) => m.score) };
        }
        await this.draw(viewport, info, session, entry);
        if (session.isCurrent(ticket)) this.status.set({ busy: false });
        return;
      } catch (err) {
        if (this.session !== session || !session.isCurrent(ticket)) return;
        if (err instanceof ServerError && err.kind === 'busy' && attempt < 5) {
          attempt++;
          this.status.set({ error: err.message, errorKind: 'busy' });
          await new Promise((r) => setTimeout(r, (err.retryAfterSeconds ?? 1) * 1000));
          if (this.session !== session || !session.isCurrent(ticket)) return;
          continue;
        }
        if (err instanceof ServerError && err.status === 404 && req.maskId) {
          // The previous mask expired on the server: send the prompts again without it.
          req = session.request(info.voi, req.model, false);
          continue;
        }
        this.fail(err);
        this.status.set({ busy: false });
        return;
      }
    }
  }

  private async draw(viewport: StackViewport, info: ImageInfo, session: PromptSession, entry?: ClickTiming): Promise<void> {
    const cur = session.current();
    this.status.set({ candidates: cur && cur.candidates > 1 ? { index: cur.candidate, count: cur.candidates } : null, prompts: session.prompts.length });
    this.markers.set(info.imageId, session.prompts);
    try {
      const target = await this.preview.target(viewport.id, info.imageId);
      const inVolume = this.propagator.covers(viewport, info.imageId);
      if (!cur) {
        if (inVolume) this.propagator.unrefine(info);
        else this.preview.clear(target.labelmapImageId);
        return;
      }
      if (cur.width !== info.width || cur.height !== info.height) throw new Error(`the server's mask is ${cur.width}x${cur.height} but the image is ${info.width}x${info.height}`);
      const mask = decodeMask(cur.mask.counts, cur.width, cur.height);
      mark(entry, 'decodedAt');
      if (entry) {
        const rendered = this.peers.cornerstone.Enums.Events['IMAGE_RENDERED']!;
        const onRendered = () => {
          mark(entry, 'drawnAt');
          viewport.element.removeEventListener(rendered, onRendered);
        };
        viewport.element.addEventListener(rendered, onRendered);
      }
      if (inVolume) this.propagator.refine(info, session, mask);
      else this.preview.show(target, mask);
      mark(entry, 'writtenAt');
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Enter: keeps the proposal in the labelmap, on every slice it is on, as one undo step; a
   * propagation still running stops where it is.
   */
  accept(): boolean {
    const through = this.propagator.volume !== null;
    this.propagator.stop();
    const slices = this.preview.slices().length;
    const had = this.preview.accept();
    this.propagator.end();
    this.endSession();
    if (had) this.status.set({ notice: through && slices > 1 ? `Mask accepted on ${slices} slices (one undo step: Ctrl+Z takes it all back).` : 'Mask accepted.' });
    this.measures.schedule();
    return had;
  }

  /** Esc: removes the proposal (from every slice), stopping a propagation that is running, as OHIF's preview reject does. */
  reject(): boolean {
    const running = this.propagator.volume?.running ?? false;
    this.propagator.stop();
    const had = this.preview.reject();
    this.propagator.end();
    this.endSession();
    if (running) this.status.set({ notice: 'Propagation stopped; its proposal was dropped.' });
    if (had) this.measures.schedule();
    return had;
  }

  /** P: the proposal (or the accepted mask) on the slice on show, propagated through the series. */
  async propagate(): Promise<boolean> {
    const viewport = this.activeViewport();
    if (!viewport) return false;
    const info = this.imageInfoOrFail(viewport);
    if (!info) return false;
    if (this.status.get().busy) {
      this.status.set({ notice: 'Wait for the mask on show, then press P.' });
      return false;
    }
    // A proposal left on another image (the user scrolled away from it) is not what P carries: it goes.
    const onShow = this.session && this.session.image.sopInstanceUID === info.ref.sopInstanceUID && this.session.image.frame === info.ref.frame;
    if (this.session && !onShow && !this.propagator.volume) this.reject();
    this.markers.attach(viewport);
    return this.propagator.propagate(viewport, info, onShow ? this.session : null);
  }

  /**
   * Fill between: the empty slices between two slices with an accepted mask, propagated from both
   * toward each other (a proposal on show is accepted first).
   */
  async fillBetween(): Promise<boolean> {
    const viewport = this.activeViewport();
    if (!viewport) return false;
    const info = this.imageInfoOrFail(viewport);
    if (!info) return false;
    if (this.preview.active) this.accept();
    return this.propagator.fillBetween(viewport, info);
  }

  private activeViewport(): StackViewport | null {
    const id = this.services.viewportGridService.getActiveViewportId();
    return this.services.cornerstoneViewportService.getCornerstoneViewport(id) ?? null;
  }

  private endSession(): void {
    this.session = null;
    this.markers.set(null, []);
    this.status.set({ prompts: 0, candidates: null, busy: false });
  }

  /**
   * N, as in OHIF's marker-guided labelmap tool: keeps the proposal on this slice (accepted), goes
   * to the next image of the stack and sends the same prompts for it, markers kept.
   */
  async nextSlice(): Promise<boolean> {
    const session = this.session;
    const viewport = this.viewport as (StackViewport & { setImageIdIndex?(index: number): Promise<unknown> }) | null;
    if (!session || !viewport || session.prompts.length === 0) {
      this.status.set({ notice: 'Click on the image first: N carries the prompts to the next slice.' });
      return false;
    }
    const next = viewport.getCurrentImageIdIndex() + 1;
    if (next >= viewport.getImageIds().length || !viewport.setImageIdIndex) {
      this.status.set({ notice: 'This is the last image of the stack.' });
      return false;
    }
    const accepted = this.accept();
    let info: ImageInfo;
    try {
      await viewport.setImageIdIndex(next);
      info = this.imageInfo(viewport);
    } catch (err) {
      this.fail(err);
      return false;
    }
    const model = this.status.get().model ?? undefined;
    const carried = PromptSession.carrying(session, `${info.imageId}|${model ?? ''}`, info.ref);
    this.viewport = viewport;
    this.session = carried;
    this.markers.attach(viewport);
    this.markers.set(info.imageId, carried.prompts);
    this.status.set({ notice: `${accepted ? 'Mask accepted; the' : 'The'} same prompts on image ${next + 1} of ${viewport.getImageIds().length}.` });
    const ticket = carried.resend();
    const entry = newTiming(performance.now());
    this.timeline.push(entry);
    if (this.timeline.length > 200) this.timeline.shift();
    await this.send(viewport, info, carried, ticket, carried.request(info.voi, model), entry);
    return true;
  }

  /** Removes the last prompt and shows the answer before it. */
  async undoPrompt(): Promise<void> {
    const session = this.session;
    const viewport = this.viewport;
    if (!session || !viewport || !session.undo()) return;
    const info = this.imageInfoOrFail(viewport);
    if (!info) return;
    if (session.prompts.length === 0) {
      if (this.propagator.covers(viewport, info.imageId)) this.propagator.unrefine(info);
      else this.reject();
      this.markers.set(info.imageId, []);
      this.status.set({ prompts: 0, candidates: null, busy: false });
      return;
    }
    if (session.hasAnswer()) {
      await this.draw(viewport, info, session);
      return;
    }
    const ticket = session.resend();
    await this.send(viewport, info, session, ticket, session.request(info.voi, this.status.get().model ?? undefined));
  }

  /** Shows the next candidate mask (one click, no box: SAM proposes several). */
  async cycleCandidates(): Promise<void> {
    const session = this.session;
    const viewport = this.viewport;
    if (!session || !viewport || !session.cycle()) return;
    await this.draw(viewport, this.imageInfo(viewport), session);
  }

  /** Warms the server's embedding cache for the image on show and its neighbours, nearest first. */
  warm(viewport: StackViewport): Promise<void> {
    return this.warmUp.warm(viewport, this.status.get().model ?? undefined);
  }
}

const round = (v: number) => Math.round(v * 10) / 10;
