/**
 * Segmenting compressed instances through the API, with a real Orthanc and the real server:
 * every compressed form of a CT slice (16-bit signed, negative stored values) gives the masks of
 * the same pixels stored uncompressed. Lossless forms are compared with the original slice.
 * Lossy forms are compared with an uncompressed slice holding the pixels exactly as the server
 * decoded them (so the assertion is still "equal masks"), and with the original slice by Dice.
 * Orthanc 1.10 here cannot give JPEG 2000 or HTJ2K frames uncompressed, so the server's codecs
 * decode those in its workers; JPEG-LS it transcodes itself (its codec is tested on stored
 * frames in codecs-pixels).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRle, overlap } from '@glmedsa/models';
import type { InstanceRef } from '../../../src/dicom/image-ref.js';
import { loadFrame } from '../../../src/dicom/image-source.js';
import type { GreyPixels } from '../../../src/dicom/pixels.js';
import type { RunningServer } from '../../../src/server.js';
import { ctSlice, newStudy } from '../../helpers/dicom-factory.js';
import { useOrthanc } from '../../helpers/orthanc.js';
import { post, startTestServer } from '../../helpers/server.js';
import { COMPRESSIONS, bytesOf, encodeFrame, loadEncoders, withEncapsulatedFrame, type Compression } from './compressed-instances.js';

const size = 128;
const lesion = { x: 70, y: 56, r: 22 };

/** A CT-like slice: air, a soft-tissue disc, a darker (fatty) round lesion, as the starter model sees lesions, a little noise (HU). */
function ctPhantom(): Int16Array {
  const hu = new Int16Array(size * size);
  let s = 11;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const inBody = Math.hypot(x - size / 2, y - size / 2) < size * 0.62;
      const inLesion = Math.hypot(x - lesion.x, y - lesion.y) < lesion.r;
      hu[y * size + x] = (inBody ? (inLesion ? -120 : 60) : -1000) + ((s >>> 24) % 11) - 5;
    }
  }
  return hu;
}

interface Masks {
  counts: number[][];
  best: number;
}

describe('segmenting compressed instances through the API', () => {
  const orthanc = useOrthanc();
  const study = newStudy('compressed segmentation');
  const hu = ctPhantom();
  const original = ctSlice({ rows: size, cols: size, hu, slope: 1, intercept: 0, window: { center: 40, width: 400 }, study });
  let server: RunningServer;

  async function segment(ref: InstanceRef): Promise<Masks> {
    const r = await post(`${server.url}/v1/segment`, {
      image: { ...ref, frame: 1, voi: { center: 0, width: 400 } },
      points: [{ x: lesion.x, y: lesion.y, label: 1 }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const masks = r.body['masks'] as { counts: number[] }[];
    return { counts: masks.map((m) => m.counts), best: r.body['best'] as number };
  }

  const bestMask = (m: Masks): Uint8Array => decodeRle({ size: [size, size], counts: m.counts[m.best]!, order: 'row-major' });

  let reference: Masks;
  before(async () => {
    await loadEncoders();
    await orthanc.upload(original);
    server = await startTestServer(orthanc.handle.dicomWebUrl);
    reference = await segment(original.ref);
  });

  after(async () => {
    await server?.close();
  });

  it('the uncompressed slice segments the lesion (so equal masks below mean something)', () => {
    const truth = Uint8Array.from({ length: size * size }, (_, i) => (Math.hypot((i % size) - lesion.x, Math.floor(i / size) - lesion.y) < lesion.r ? 1 : 0));
    const { dice } = overlap(bestMask(reference), truth);
    assert.ok(dice > 0.7, `Dice with the drawn lesion ${dice.toFixed(3)} (0.80 measured with the starter model)`);
  });

  for (const compression of Object.keys(COMPRESSIONS) as Compression[]) {
    const { uid, lossy } = COMPRESSIONS[compression];
    it(`${compression}: the masks of the same pixels stored uncompressed`, async () => {
      const jpegLs = compression.startsWith('JPEG-LS');
      const frame = encodeFrame(compression, bytesOf(hu), { width: size, height: size, bitsPerSample: 16, componentCount: 1, isSigned: !jpegLs });
      const twin = withEncapsulatedFrame(original, uid, frame, lossy);
      await orthanc.upload(twin);
      const masks = await segment(twin.ref);
      if (!lossy) {
        assert.deepEqual(masks, reference);
        return;
      }
      // The pixels as the server decodes them, stored uncompressed, must segment identically.
      const decoded = (await loadFrame(orthanc.client(), twin.ref, 1)).pixels as GreyPixels;
      const same = ctSlice({ rows: size, cols: size, hu: decoded.values, slope: 1, intercept: 0, window: { center: 40, width: 400 }, study });
      await orthanc.upload(same);
      assert.deepEqual(masks, await segment(same.ref));
      const { dice } = overlap(bestMask(masks), bestMask(reference));
      assert.ok(dice > 0.9, `Dice with the original slice's mask ${dice.toFixed(3)}`);
    });
  }
});
