/**
 * Low-res logits of earlier answers, kept server-side under the maskId the response returned, so a
 * later click can refine that mask (SAM's demo feeds them back as the mask prompt).
 */
import { randomUUID } from 'node:crypto';
import { Lru } from '../cache/lru.js';
import { Conflict, NotFound } from '../errors.js';

interface StoredMask {
  imageKey: string;
  logits: Float32Array;
}

export class MaskStore {
  private readonly lru: Lru<StoredMask>;

  constructor(maxEntries: number, ttlMs: number) {
    this.lru = new Lru<StoredMask>({ maxSize: maxEntries, ttlMs });
  }

  put(imageKey: string, logits: Float32Array): string {
    const id = randomUUID();
    this.lru.set(id, { imageKey, logits });
    return id;
  }

  /** The logits of `id`, which must belong to the same image (and model). */
  take(id: string, imageKey: string): Float32Array {
    const m = this.lru.get(id);
    if (!m) throw new NotFound(`maskId ${id} is unknown or has expired; segment again without it`);
    if (m.imageKey !== imageKey) {
      throw new Conflict(`maskId ${id} belongs to another image or model; it can only refine its own image`);
    }
    return m.logits;
  }
}
