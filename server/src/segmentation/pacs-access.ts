/**
 * The PACS as the segmentation service sees it: instance metadata (cached: every click on an
 * image needs its size) and frames fetched over DICOMweb, decoded later in a worker.
 */
import { Lru } from '../cache/lru.js';
import type { ServerConfig } from '../config/schema.js';
import type { DicomJsonDataset } from '../dicom/dicom-json.js';
import { DicomWebClient } from '../dicom/dicomweb-client.js';
import { PacsAuthRejected } from '../dicom/errors.js';
import { fetchFrame } from '../dicom/image-source.js';
import type { ImageRef } from '../dicom/image-ref.js';
import { readPixelModule } from '../dicom/pixel-module.js';
import type { PacsAccess } from './service.js';

/** reachable: answers with our credentials; refused: rejects our credentials; unreachable: anything else. */
export type PacsReadiness = 'reachable' | 'refused' | 'unreachable';

export function createPacsAccess(c: ServerConfig['pacs']): PacsAccess & { ping(): Promise<PacsReadiness> } {
  const client = new DicomWebClient({
    baseUrl: c.url,
    timeoutMs: c.timeoutMs,
    maxResponseBytes: c.maxFrameBytes,
    auth: c.token ? { bearerToken: c.token } : c.username ? { username: c.username, password: c.password ?? '' } : undefined,
  });
  const metadata = new Lru<DicomJsonDataset>({ maxSize: 2000, ttlMs: 10 * 60_000 });
  const meta = async (ref: ImageRef) => (await metadata.getOrLoad(ref.sopInstanceUID, () => client.getInstanceMetadata(ref))).value;
  return {
    async describe(ref: ImageRef) {
      const m = readPixelModule(await meta(ref));
      return { width: m.columns, height: m.rows, frames: m.numberOfFrames };
    },
    async frame(ref: ImageRef, frame: number) {
      return fetchFrame(client, ref, frame, { metadata: await meta(ref) });
    },
    /** Whether the PACS answers a study search with the server's credentials (for /readyz). */
    async ping(): Promise<PacsReadiness> {
      try {
        await client.ping({ timeoutMs: 3000 });
        return 'reachable';
      } catch (err) {
        return err instanceof PacsAuthRejected ? 'refused' : 'unreachable';
      }
    },
  };
}
