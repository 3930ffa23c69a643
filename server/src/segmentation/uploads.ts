/** Uploaded PNG/JPEG images for clients without a PACS, kept in memory under their SHA-256. */
import { createHash } from 'node:crypto';
import { Lru } from '../cache/lru.js';
import { type ImageHeader, probeImage } from '../images/probe.js';

export interface Upload extends ImageHeader {
  id: string;
  bytes: Uint8Array;
}

export class UploadStore {
  private readonly lru: Lru<Upload>;

  constructor(
    maxBytes: number,
    private readonly maxPixels: number,
  ) {
    this.lru = new Lru<Upload>({ maxSize: maxBytes, sizeOf: (u) => u.bytes.byteLength });
  }

  add(bytes: Uint8Array): Upload {
    const header = probeImage(bytes, this.maxPixels);
    const id = createHash('sha256').update(bytes).digest('hex');
    const upload = { id, bytes: Uint8Array.from(bytes), ...header };
    this.lru.set(id, upload);
    return upload;
  }

  get(id: string): Upload | undefined {
    return this.lru.get(id);
  }
}
