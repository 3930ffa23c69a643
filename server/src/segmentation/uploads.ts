/**
 * Uploaded PNG/JPEG images for clients without a PACS, kept in memory under their SHA-256. An
 * upload over the image limits is refused from its header, before it is stored or decoded.
 */
import { createHash } from 'node:crypto';
import { Lru } from '../cache/lru.js';
import type { ImageLimits } from '../images/limits.js';
import { type ImageHeader, probeImage } from '../images/probe.js';

interface Upload extends ImageHeader {
  id: string;
  bytes: Uint8Array;
}

export class UploadStore {
  private readonly lru: Lru<Upload>;

  constructor(
    maxBytes: number,
    private readonly limits: ImageLimits,
  ) {
    this.lru = new Lru<Upload>({ maxSize: maxBytes, sizeOf: (u) => u.bytes.byteLength });
  }

  add(bytes: Uint8Array): Upload {
    const header = probeImage(bytes, this.limits);
    const id = createHash('sha256').update(bytes).digest('hex');
    const upload = { id, bytes: Uint8Array.from(bytes), ...header };
    this.lru.set(id, upload);
    return upload;
  }

  /** Bytes held (the encoded images as uploaded). */
  get bytes(): number {
    return this.lru.size;
  }

  get(id: string): Upload | undefined {
    return this.lru.get(id);
  }
}
