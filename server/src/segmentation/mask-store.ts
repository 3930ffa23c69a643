/**
 * Low-res logits of earlier answers, kept server-side under the maskId the response returned, so a
 * later click can refine that mask (SAM's demo feeds them back as the mask prompt).
 *
 * Each mask remembers the image, the model and the adapter version (with the weights it ran on)
 * that produced it. A mask only refines its own image on its own model; one made by another
 * adapter version of the same model is stale (the logits came from other embeddings), so it is
 * dropped and the request segments from its prompts alone.
 */
import { randomUUID } from 'node:crypto';
import { Lru } from '../cache/lru.js';
import { Conflict, NotFound } from '../errors.js';

/** Where a mask was made: what a refinement must match. */
interface MaskOrigin {
  /** The image (PACS frame with its VOI, or upload). */
  image: string;
  /** The served model's id. */
  model: string;
  /** The adapter version served (and the weights it ran on): another one makes the mask stale. */
  version: string;
}

interface StoredMask {
  origin: MaskOrigin;
  logits: Float32Array;
}

/** What `take` found: the logits to refine, or why there are none. */
type TakenMask = { logits: Float32Array; dropped: null } | { logits: null; dropped: 'adapter version changed' | 'mask unknown to this replica' };

/**
 * What an unknown maskId gets: 'refuse' (one server: 404, the client sends its prompts again) or
 * 'prompts-only' (a replica of a cluster: the mask may have been made by a replica that has since
 * left, so the prompts alone are segmented and the answer says the mask was dropped).
 */
type UnknownMask = 'refuse' | 'prompts-only';

export class MaskStore {
  private readonly lru: Lru<StoredMask>;

  constructor(
    maxEntries: number,
    ttlMs: number,
    private readonly unknown: UnknownMask = 'refuse',
  ) {
    this.lru = new Lru<StoredMask>({ maxSize: maxEntries, ttlMs });
  }

  put(origin: MaskOrigin, logits: Float32Array): string {
    const id = randomUUID();
    this.lru.set(id, { origin: { ...origin }, logits });
    return id;
  }

  /**
   * The logits of `id` for a request on `origin`: refused (409) when the mask belongs to another
   * image or model, dropped when only the adapter version differs (or, in a cluster, when it is unknown here).
   */
  take(id: string, origin: MaskOrigin): TakenMask {
    const m = this.lru.get(id);
    if (!m && this.unknown === 'prompts-only') return { logits: null, dropped: 'mask unknown to this replica' };
    if (!m) throw new NotFound(`maskId ${id} is unknown or has expired; segment again without it`);
    if (m.origin.image !== origin.image) {
      throw new Conflict(`maskId ${id} belongs to another image; it can only refine its own image`);
    }
    if (m.origin.model !== origin.model) {
      throw new Conflict(`maskId ${id} was made by model ${m.origin.model}; it cannot be used with model ${origin.model}`);
    }
    if (m.origin.version !== origin.version) return { logits: null, dropped: 'adapter version changed' };
    return { logits: m.logits, dropped: null };
  }
}
