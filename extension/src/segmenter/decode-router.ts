/**
 * Which path decodes the clicks (config `decodeIn`): 'server', 'browser', or 'auto': the browser
 * path, falling back to the server on any failure of browser decoding (the decoder or an embedding
 * that does not load, a version mismatch, an onnxruntime-web error), with the reason in the panel.
 * A decoder failure keeps that model on the server until its adapter version changes; an
 * embedding failure only that image; a network failure only that click.
 * What the server path would meet as well (busy, not authorised, an image the model cannot take,
 * the PACS down) is not a reason to fall back: it becomes the same sentence (and the same retry
 * of a busy server) as a refused POST /v1/segment.
 */
import type { SegmentRequestInput as SegmentRequest, SegmentResponse } from '@glmedsa/server/api';
import { ServerError, describeFailure } from '../client.js';
import { DecodeUnavailable, DownloadRefused } from '../decode/index.js';
import type { StatusStore } from '../status.js';
import type { BrowserSegmenter } from './browser-segmenter.js';
import type { ServerSegmenter } from './segmenter.js';

export type DecodeIn = 'browser' | 'server' | 'auto';

/**
 * The setting, 'auto' when absent: the browser decodes where it can (click latency then does not
 * grow with the number of radiologists clicking, and the server only encodes), the server where it
 * cannot; test/e2e/bad-input checks that both paths give the same failure sentences.
 */
export function decodeInOf(v: unknown): DecodeIn {
  return v === 'browser' || v === 'server' ? v : 'auto';
}

/** The reason as the end of a sentence: no trailing full stop of its own. */
function clause(reason: string): string {
  return reason.trim().replace(/[.\s]+$/, '');
}

export class DecodeRouter {
  /** model -> why its decoder cannot run here (sticky until invalidated). */
  private readonly decoderFailed = new Map<string, string>();
  /** image key -> why its embedding failed. */
  private readonly imageFailed = new Map<string, string>();
  /** Which path answered the latest prompt. */
  lastPath: 'browser' | 'server' = 'server';

  constructor(
    readonly mode: DecodeIn,
    private readonly server: ServerSegmenter,
    readonly browser: BrowserSegmenter,
    private readonly status: StatusStore,
  ) {
    if (mode === 'server') this.status.set({ decode: { path: 'server', backend: null, reason: null } });
  }

  private useServer(reason: string | null): void {
    this.status.set({ decode: { path: 'server', backend: null, reason } });
  }

  /** Loads the decoder ahead of the first click (auto and browser modes), so the panel can say where clicks go. */
  async prepare(model: string | null): Promise<void> {
    if (this.mode === 'server' || !model) return;
    if (this.decoderFailed.has(model)) return this.useServer(this.decoderFailed.get(model)!);
    try {
      const d = await this.browser.decoder(model);
      this.status.set({ decode: { path: 'browser', backend: d.backend, reason: null } });
    } catch (err) {
      // Busy or not signed in yet: not a reason to give up on the browser; the first click tries again.
      if (err instanceof DownloadRefused) return;
      this.noteFailure(model, null, err);
    }
  }

  /** Fetches an image's embedding ahead of its first click (browser path only). */
  async prefetch(model: string | null, image: SegmentRequest['image']): Promise<void> {
    if (this.mode === 'server' || !model || this.decoderFailed.has(model)) return;
    try {
      const d = await this.browser.decoder(model);
      await this.browser.embedding(model, image, d.version);
    } catch {
      // The click that needs it reports (or falls back).
    }
  }

  /** The model's adapter version changed on the server: drop what the browser holds of it and try again. */
  invalidate(model: string): void {
    this.browser.invalidate(model);
    this.decoderFailed.delete(model);
    this.imageFailed.clear();
    void this.prepare(model);
  }

  /** Records why browser decoding failed (unless it may pass) and says so; returns the reason. */
  private noteFailure(model: string, imageKey: string | null, err: unknown): string {
    const unavailable = err instanceof DecodeUnavailable ? err : null;
    const reason = unavailable?.reason ?? `onnxruntime-web failed (${(err as Error)?.message ?? String(err)})`;
    if (!unavailable?.transient) {
      if (imageKey === null || unavailable?.about !== 'image') this.decoderFailed.set(model, reason);
      else this.imageFailed.set(imageKey, reason);
    }
    if (this.mode === 'auto') this.useServer(clause(reason));
    else this.status.set({ error: `Clicks cannot be decoded in the browser because ${clause(reason)}.`, errorKind: 'decode' });
    return reason;
  }

  async segment(req: SegmentRequest): Promise<SegmentResponse> {
    const model = req.model ?? null;
    this.lastPath = 'server';
    if (this.mode === 'server' || !model) return this.server.segment(req);
    const imageKey = `${model}|${JSON.stringify(req.image)}`;
    const known = this.decoderFailed.get(model) ?? this.imageFailed.get(imageKey);
    if (known && this.mode === 'auto') {
      this.useServer(clause(known));
      return this.server.segment(req);
    }
    try {
      const res = await this.browser.segment(req);
      this.lastPath = 'browser';
      const d = await this.browser.decoder(model);
      this.status.set({ decode: { path: 'browser', backend: d.backend, reason: null } });
      return res;
    } catch (err) {
      // An unknown previous mask is the caller's to handle (it sends the prompts again without it).
      if (err instanceof ServerError && err.status === 404 && req.maskId) throw err;
      if (err instanceof DownloadRefused) throw describeFailure(err.status, err.problem, err.retryAfter);
      const reason = this.noteFailure(model, imageKey, err);
      if (this.mode === 'browser') throw new ServerError('server', `The click could not be decoded in the browser because ${clause(reason)}.`);
      return this.server.segment(req);
    }
  }
}

/** The panel's line. */
export function decodeLine(d: { path: 'browser' | 'server'; backend: string | null; reason: string | null } | null): string | null {
  if (!d) return null;
  if (d.path === 'browser') return `Clicks are decoded in the browser${d.backend ? ` (${d.backend})` : ''}.`;
  return d.reason ? `Clicks are decoded on the server because ${d.reason}.` : 'Clicks are decoded on the server.';
}
