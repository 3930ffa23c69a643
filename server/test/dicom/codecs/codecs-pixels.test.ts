/**
 * Compressed frames through a real Orthanc, decoded by the server: instances made with the codec
 * packages' own encoders are stored next to their uncompressed twins, fetched back over DICOMweb
 * and decoded. Lossless forms must give exactly the twin's values; lossy forms must stay within
 * the error their encoder allows (JPEG-LS near-lossless: at most NEAR per sample, by the
 * standard) or close to it (JPEG 2000 / HTJ2K: small RMS and maximum errors, bounds below).
 */
import { statusOf } from '../../../src/http/problem.js';
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { UnsupportedImage } from '../../../src/dicom/errors.js';
import { loadFrame } from '../../../src/dicom/image-source.js';
import type { DecodedPixels, GreyPixels } from '../../../src/dicom/pixels.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../../src/dicom/transfer-syntax.js';
import { ctSlice, mrSlice, newStudy, rgbPhoto, type DicomFile } from '../../helpers/dicom-factory.js';
import { useOrthanc } from '../../helpers/orthanc.js';
import { hasComponentTransform } from '../../../src/dicom/codecs/j2k-header.js';
import { COMPRESSIONS, bytesOf, encodeFrame, loadEncoders, withEncapsulatedFrame, type Compression } from './compressed-instances.js';

const pacs = useOrthanc();
const study = newStudy('compressed frames');

function grey(pixels: DecodedPixels): GreyPixels {
  assert.equal(pixels.channels, 1);
  return pixels as GreyPixels;
}

/** A smooth CT-like slice with negative stored values: body disc, a brighter lesion, air, noise. */
function ctPhantom(rows: number, cols: number): Int16Array {
  const hu = new Int16Array(rows * cols);
  let s = 7;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const r = Math.hypot(x - cols / 2, y - rows / 2);
      const lesion = Math.hypot(x - cols * 0.6, y - rows * 0.45) < rows / 8;
      const base = r < rows * 0.42 ? (lesion ? 80 : 20) : -1000;
      hu[y * cols + x] = base + ((s >>> 24) % 21) - 10;
    }
  }
  return hu;
}

function stats(a: Float32Array, b: Float32Array): { max: number; rms: number } {
  assert.equal(a.length, b.length);
  let max = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    max = Math.max(max, d);
    sq += d * d;
  }
  return { max, rms: Math.sqrt(sq / a.length) };
}

const ALL = Object.keys(COMPRESSIONS) as Compression[];

describe('compressed frames decoded by the server, through Orthanc', () => {
  before(loadEncoders);

  const rows = 48;
  const cols = 40;
  const hu = ctPhantom(rows, cols);
  /** Stored = HU with intercept 0: negative 16-bit signed values on purpose. */
  const ct = ctSlice({ rows, cols, hu, slope: 1, intercept: 0, study });
  const ctInfo = { width: cols, height: rows, bitsPerSample: 16, componentCount: 1, isSigned: true };
  const mrValues = Uint16Array.from(hu, (v) => Math.max(0, Math.min(4095, v + 1024)));
  const mr = mrSlice({ rows, cols, values: mrValues, study });
  const mrInfo = { width: cols, height: rows, bitsPerSample: 12, componentCount: 1, isSigned: false };

  let reference: { ct: GreyPixels; mr: GreyPixels };
  before(async () => {
    await pacs.upload(ct);
    await pacs.upload(mr);
    reference = { ct: grey((await loadFrame(pacs.client(), ct.ref, 1)).pixels), mr: grey((await loadFrame(pacs.client(), mr.ref, 1)).pixels) };
  });

  async function roundTrip(file: DicomFile, compression: Compression, samples: Uint8Array, info: typeof ctInfo): Promise<{ pixels: GreyPixels; transferSyntaxUID: string }> {
    const { uid, lossy } = COMPRESSIONS[compression];
    const twin = withEncapsulatedFrame(file, uid, encodeFrame(compression, samples, info), lossy);
    await pacs.upload(twin);
    const loaded = await loadFrame(pacs.client(), twin.ref, 1);
    return { pixels: grey(loaded.pixels), transferSyntaxUID: loaded.transferSyntaxUID };
  }

  /**
   * Error bounds (HU) for the lossy forms: NEAR for JPEG-LS (the standard's guarantee); for the
   * wavelet codecs about 5% (max) and 0.7% (RMS) of the phantom's 1100 HU range. Measured here:
   * JPEG 2000 (9/7 wavelet) max 1, RMS 0.3; HTJ2K (step 0.0002) max 17, RMS 5.3.
   */
  const lossyBounds: Record<string, { max: number; rms: number }> = {
    'JPEG 2000 lossy': { max: 60, rms: 8 },
    'JPEG-LS near-lossless': { max: 3, rms: 3 },
    'HTJ2K lossy': { max: 60, rms: 8 },
  };

  for (const compression of ALL) {
    it(`${compression}: 16-bit signed CT values ${COMPRESSIONS[compression].lossy ? 'close to' : 'equal to'} the uncompressed twin`, async () => {
      const { pixels, transferSyntaxUID } = await roundTrip(ct, compression, bytesOf(hu), { ...ctInfo, isSigned: compression.startsWith('JPEG-LS') ? false : true });
      if (!compression.startsWith('JPEG-LS')) {
        // Orthanc 1.10 cannot give these uncompressed: the server decoded them.
        assert.notEqual(transferSyntaxUID, EXPLICIT_VR_LITTLE_ENDIAN);
      }
      assert.equal(pixels.width, cols);
      assert.equal(pixels.height, rows);
      assert.ok(pixels.values.some((v) => v < -900), 'negative values survive');
      if (!COMPRESSIONS[compression].lossy) {
        assert.deepEqual(pixels.values, reference.ct.values);
        return;
      }
      const { max, rms } = stats(pixels.values, reference.ct.values);
      const bound = lossyBounds[compression]!;
      assert.ok(max <= bound.max && rms <= bound.rms, `max error ${max} (bound ${bound.max}), RMS ${rms.toFixed(2)} (bound ${bound.rms})`);
      assert.ok(max > 0, 'the lossy form really lost something (else this case tests nothing lossy)');
    });
  }

  for (const compression of ['JPEG 2000 lossless', 'HTJ2K lossless'] as const) {
    it(`${compression}: 12-bit unsigned MR values equal to the uncompressed twin`, async () => {
      const { pixels } = await roundTrip(mr, compression, bytesOf(mrValues), mrInfo);
      assert.deepEqual(pixels.values, reference.mr.values);
    });
  }

  it('JPEG-LS frames as stored (Orthanc would transcode them) decode to the twin\'s values', async () => {
    const twin = withEncapsulatedFrame(ct, COMPRESSIONS['JPEG-LS lossless'].uid, encodeFrame('JPEG-LS lossless', bytesOf(hu), { ...ctInfo, isSigned: false }), false);
    await pacs.upload(twin);
    const client = pacs.client();
    const stored = await client.getFrame(twin.ref, 1, { transferSyntax: '*' });
    assert.equal(stored.transferSyntaxUID, COMPRESSIONS['JPEG-LS lossless'].uid);
    const { decodeFrame } = await import('../../../src/dicom/pixels.js');
    const { readPixelModule } = await import('../../../src/dicom/pixel-module.js');
    const module = readPixelModule(await client.getInstanceMetadata(twin.ref));
    assert.deepEqual(grey(decodeFrame(module, stored)).values, reference.ct.values);
  });

  it('a syntax neither Orthanc nor the server decodes (JPEG 2000 Part 2) -> UnsupportedImage naming it', async () => {
    const uid = '1.2.840.10008.1.2.4.92';
    const twin = withEncapsulatedFrame(ct, uid, encodeFrame('JPEG 2000 lossless', bytesOf(hu), ctInfo), false);
    await pacs.upload(twin);
    await assert.rejects(loadFrame(pacs.client(), twin.ref, 1), (e: unknown) => e instanceof UnsupportedImage && statusOf(e) === 422 && e.message.includes(uid));
  });

  it('8-bit RGB in JPEG 2000 and JPEG-LS decodes to the same colours', async () => {
    const width = 24;
    const height = 20;
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 29 + (i % 3) * 80) % 256);
    const photo = rgbPhoto({ width, height, rgb, study });
    for (const compression of ['JPEG 2000 lossless', 'JPEG-LS lossless'] as const) {
      const twin = withEncapsulatedFrame(photo, COMPRESSIONS[compression].uid, encodeFrame(compression, rgb, { width, height, bitsPerSample: 8, componentCount: 3, isSigned: false }), false);
      await pacs.upload(twin);
      const client = pacs.client();
      const stored = await client.getFrame(twin.ref, 1, { transferSyntax: '*' });
      const { decodeFrame } = await import('../../../src/dicom/pixels.js');
      const { readPixelModule } = await import('../../../src/dicom/pixel-module.js');
      const pixels = decodeFrame(readPixelModule(await client.getInstanceMetadata(twin.ref)), stored);
      assert.equal(pixels.channels, 3);
      assert.deepEqual(pixels.channels === 3 ? pixels.rgb : undefined, rgb, compression);
    }
  });

  /**
   * JPEG 2000 colour as archives store it: the encoder applies the component transform (reversible
   * for lossless, irreversible for lossy; the codestream's COD segment says so) and the instance
   * says YBR_RCT or YBR_ICT. The decoder inverts the transform, so the server must read RGB: equal
   * colours when lossless, within the lossy encoder's error otherwise. (OpenJPH's encoder in
   * @cornerstonejs/codec-openjph has no colour-transform switch and writes none, so HTJ2K colour
   * with a transform cannot be made here; its decoder goes through the same check.)
   */
  it('JPEG 2000 colour labelled YBR_RCT / YBR_ICT decodes to the RGB that was encoded', async () => {
    const width = 32;
    const height = 24;
    // Smooth gradients with a coloured square: realistic for the lossy wavelet, and no channel equals another.
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inSquare = x > 8 && x < 20 && y > 6 && y < 16;
        rgb.set(inSquare ? [220, 40, 90] : [(x * 7) % 256, 40 + y * 6, 200 - x * 3], (y * width + x) * 3);
      }
    }
    const info = { width, height, bitsPerSample: 8, componentCount: 3, isSigned: false };
    const photo = rgbPhoto({ width, height, rgb, study });
    const cases = [
      { compression: 'JPEG 2000 lossless', photometric: 'YBR_RCT', maxError: 0 },
      { compression: 'JPEG 2000 lossy', photometric: 'YBR_ICT', maxError: 4 },
    ] as const;
    for (const { compression, photometric, maxError } of cases) {
      const { uid, lossy } = COMPRESSIONS[compression];
      const codestream = encodeFrame(compression, rgb, info);
      assert.equal(hasComponentTransform(codestream, compression), true, `${compression}: the encoder applies the component transform to three components`);
      const twin = withEncapsulatedFrame(photo, uid, codestream, lossy, { PhotometricInterpretation: photometric });
      await pacs.upload(twin);
      const loaded = await loadFrame(pacs.client(), twin.ref, 1);
      assert.equal(loaded.transferSyntaxUID, uid, 'decoded by the server, not transcoded by Orthanc');
      assert.equal(loaded.pixels.channels, 3);
      const got = loaded.pixels.channels === 3 ? loaded.pixels.rgb : new Uint8Array(0);
      let max = 0;
      for (let i = 0; i < rgb.length; i++) max = Math.max(max, Math.abs(got[i]! - rgb[i]!));
      assert.ok(max <= maxError, `${compression} as ${photometric}: largest colour error ${max}, allowed ${maxError}`);
    }
  });

  it('YBR_RCT on a codestream without the component transform is refused, not shown in wrong colours', async () => {
    const width = 16;
    const height = 16;
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 13) % 256);
    const codestream = encodeFrame('JPEG 2000 lossless', rgb, { width, height, bitsPerSample: 8, componentCount: 3, isSigned: false });
    // Clear the COD segment's MCT byte (its offset found from the marker, as a decoder would).
    const cod = codestream.findIndex((b, i) => b === 0xff && codestream[i + 1] === 0x52);
    assert.ok(cod > 0);
    const plain = codestream.slice();
    plain[cod + 8] = 0;
    assert.equal(hasComponentTransform(plain, 'JPEG 2000'), false);
    const twin = withEncapsulatedFrame(rgbPhoto({ width, height, rgb, study }), COMPRESSIONS['JPEG 2000 lossless'].uid, plain, false, { PhotometricInterpretation: 'YBR_RCT' });
    await pacs.upload(twin);
    await assert.rejects(
      loadFrame(pacs.client(), twin.ref, 1),
      (e: unknown) => e instanceof UnsupportedImage && statusOf(e) === 422 && /YBR_RCT .*no component transform/.test(e.message),
    );
  });
});
