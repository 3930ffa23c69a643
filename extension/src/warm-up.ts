/**
 * Warm-up of the server's embedding cache, so that the first click on an image answers in
 * milliseconds: the image on show and its neighbours in the stack, nearest first, each once per
 * model and window/level; on the browser path the decoder and the image's embedding are fetched
 * ahead too. An image the model cannot take is reported when it is clicked, not while warming.
 */
import { type GlmedsaClient, ServerError } from './client.js';
import type { Peers } from './peers.js';
import type { ReportFailure } from './report-failure.js';
import type { DecodeRouter } from './segmenter/decode-router.js';
import { imageInfo, refFor } from './viewer-image.js';
import type { StackViewport } from './viewer-types.js';

interface WarmUpParts {
  peers: Peers;
  client: GlmedsaClient;
  decoding: DecodeRouter;
  fail: ReportFailure;
  /** How many images on each side of the displayed one to warm (default 2). */
  neighbours?: number;
}

export class EmbeddingWarmUp {
  private readonly warmed = new Set<string>();

  constructor(private readonly o: WarmUpParts) {}

  /** Warms the image on show in `viewport` and its neighbours for `model` (the server's default when absent). */
  async warm(viewport: StackViewport, model: string | undefined): Promise<void> {
    const cs = this.o.peers.cornerstone;
    const ids = viewport.getImageIds?.() ?? [];
    const at = viewport.getCurrentImageIdIndex?.() ?? 0;
    const n = this.o.neighbours ?? 2;
    const order = [at];
    for (let d = 1; d <= n; d++) order.push(at + d, at - d);
    let info;
    try {
      info = imageInfo(cs, viewport);
    } catch {
      return;
    }
    void this.o.decoding.prefetch(model ?? null, { ...info.ref, ...(info.voi ? { voi: info.voi } : {}) });
    for (const i of order) {
      const imageId = ids[i];
      if (!imageId) continue;
      const ref = refFor(cs, imageId);
      if (!ref) continue;
      const image = { ...ref, ...(info.voi ? { voi: info.voi } : {}) };
      const key = `${JSON.stringify(image)}|${model ?? ''}`;
      if (this.warmed.has(key)) continue;
      this.warmed.add(key);
      try {
        await this.o.client.warm({ image, ...(model ? { model } : {}) });
      } catch (err) {
        this.warmed.delete(key);
        if (err instanceof ServerError && (err.kind === 'unreachable' || err.kind === 'unauthorised')) {
          this.o.fail(err);
          return;
        }
      }
    }
  }
}
