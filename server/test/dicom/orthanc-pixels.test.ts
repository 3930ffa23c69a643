/**
 * Pixels through a real Orthanc: each kind of image is built by the factory, uploaded, fetched back
 * over DICOMweb (metadata + frame) and decoded; the values must be what the factory wrote.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadFrame } from '../../src/dicom/image-source.js';
import { renderForSam, type ColourPixels, type DecodedPixels, type GreyPixels } from '../../src/dicom/pixels.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/dicom/transfer-syntax.js';
import { ctSlice, jpegPhoto, monochrome1, mrSlice, multiFrame, newStudy, rgbPhoto, ybrFull } from '../helpers/dicom-factory.js';
import { useOrthanc } from '../helpers/orthanc.js';

const pacs = useOrthanc();

function grey(pixels: DecodedPixels): GreyPixels {
  assert.equal(pixels.channels, 1);
  return pixels as GreyPixels;
}

function colour(pixels: DecodedPixels): ColourPixels {
  assert.equal(pixels.channels, 3);
  return pixels as ColourPixels;
}

/** A deterministic pseudo-random byte pattern. */
function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('pixels through Orthanc', () => {
  const study = newStudy('pixel round trips');

  it('CT: 16-bit signed with rescale gives the HU the factory wrote', async () => {
    const rows = 12;
    const cols = 10;
    const hu = Int16Array.from({ length: rows * cols }, (_, i) => -1024 + ((i * 37) % 3000));
    hu[0] = -1024;
    hu[1] = 3071;
    const file = ctSlice({ rows, cols, hu, slope: 1, intercept: -1024, window: { center: [40, 400], width: [400, 1800] }, study });
    await pacs.upload(file);
    const { module, pixels, transferSyntaxUID } = await loadFrame(pacs.client(), file.ref, 1);
    assert.equal(transferSyntaxUID, EXPLICIT_VR_LITTLE_ENDIAN);
    assert.equal(module.pixelRepresentation, 1);
    assert.deepEqual(module.defaultVoi, { center: 40, width: 400 }, 'first of the multi-valued window');
    const g = grey(pixels);
    assert.equal(g.width, cols);
    assert.equal(g.height, rows);
    assert.deepEqual(Array.from(g.values), Array.from(hu));
  });

  it('CT: negative stored values and a fractional slope', async () => {
    const hu = Float64Array.from([-2000, -1000.5, 0, 0.5, 1000, 15000.5]);
    const file = ctSlice({ rows: 2, cols: 3, hu, slope: 0.5, intercept: 0, study });
    await pacs.upload(file);
    const g = grey((await loadFrame(pacs.client(), file.ref, 1)).pixels);
    assert.deepEqual(Array.from(g.values), Array.from(hu));
    assert.equal(g.defaultVoi, undefined);
  });

  it('MR: 16-bit unsigned, Bits Stored 12, garbage in the high bits is masked away', async () => {
    const values = Uint16Array.from({ length: 64 }, (_, i) => (i * 65) % 4096);
    const file = mrSlice({ rows: 8, cols: 8, values, dirtyHighBits: true, window: { center: 2048, width: 4096 }, study });
    await pacs.upload(file);
    const { module, pixels } = await loadFrame(pacs.client(), file.ref, 1);
    assert.equal(module.bitsStored, 12);
    assert.deepEqual(Array.from(grey(pixels).values), Array.from(values));
  });

  it('RGB: interleaved 8-bit comes back identical and passes through rendering', async () => {
    const rgb = pattern(7 * 5 * 3, 1);
    const file = rgbPhoto({ width: 7, height: 5, rgb, study });
    await pacs.upload(file);
    const { pixels } = await loadFrame(pacs.client(), file.ref, 1);
    assert.deepEqual(colour(pixels).rgb, rgb);
    const image = renderForSam(pixels, { center: 0, width: 1 });
    assert.deepEqual(image, { width: 7, height: 5, data: rgb }, 'a VOI on colour is ignored');
  });

  it('RGB: planar configuration 1 is re-interleaved', async () => {
    const rgb = pattern(6 * 4 * 3, 2);
    const file = rgbPhoto({ width: 6, height: 4, rgb, planar: true, study });
    await pacs.upload(file);
    const { module, pixels } = await loadFrame(pacs.client(), file.ref, 1);
    assert.equal(module.planarConfiguration, 1);
    assert.deepEqual(colour(pixels).rgb, rgb);
  });

  it('multi-frame: frame k is the k-th frame written (8 and 16 bits)', async () => {
    const frames8 = [0, 1, 2, 3].map((k) => Uint8Array.from({ length: 20 }, (_, i) => (k * 50 + i) % 256));
    const file8 = multiFrame({ rows: 4, cols: 5, frames: frames8, bits: 8, study });
    const frames16 = [0, 1, 2].map((k) => Uint16Array.from({ length: 6 }, (_, i) => k * 20000 + i * 7));
    const file16 = multiFrame({ rows: 2, cols: 3, frames: frames16, bits: 16, study });
    await pacs.upload(file8);
    await pacs.upload(file16);
    const client = pacs.client();
    for (let k = 1; k <= frames8.length; k++) {
      const { module, pixels } = await loadFrame(client, file8.ref, k);
      assert.equal(module.numberOfFrames, 4);
      assert.deepEqual(Array.from(grey(pixels).values), Array.from(frames8[k - 1]!), `8-bit frame ${k}`);
    }
    for (let k = 1; k <= frames16.length; k++) {
      const { pixels } = await loadFrame(client, file16.ref, k);
      assert.deepEqual(Array.from(grey(pixels).values), Array.from(frames16[k - 1]!), `16-bit frame ${k}`);
    }
  });

  it('MONOCHROME1: values decode as stored, the rendering is inverted after windowing', async () => {
    const values = [0, 1000, 2000, 3000];
    const file = monochrome1({ rows: 2, cols: 2, values, window: { center: 1500, width: 3001 }, study });
    await pacs.upload(file);
    const { pixels } = await loadFrame(pacs.client(), file.ref, 1);
    const g = grey(pixels);
    assert.equal(g.invert, true);
    assert.deepEqual(Array.from(g.values), values);
    const image = renderForSam(pixels);
    // Linear VOI c=1500 w=3001: 0 -> 0, 1000 -> 85, 2000 -> 170, 3000 -> 255; then inverted.
    assert.deepEqual(Array.from(image.data.filter((_, i) => i % 3 === 0)), [255, 170, 85, 0]);
  });

  it('YBR_FULL: converted to RGB within 1', async () => {
    const rgb = pattern(8 * 6 * 3, 3);
    const file = ybrFull({ width: 8, height: 6, rgb, study });
    await pacs.upload(file);
    const { module, pixels } = await loadFrame(pacs.client(), file.ref, 1);
    assert.equal(module.photometric, 'YBR_FULL');
    assert.ok(maxAbsDiff(colour(pixels).rgb, rgb) <= 1, `max difference ${maxAbsDiff(colour(pixels).rgb, rgb)}`);
  });

  it('YBR_FULL_422 (uncompressed, subsampled pairs): converted to RGB within 1', async () => {
    // Horizontal pairs share their colour, so subsampling loses nothing.
    const base = pattern(4 * 6 * 3, 4);
    const rgb = new Uint8Array(8 * 6 * 3);
    for (let p = 0; p < 8 * 6; p++) rgb.set(base.subarray(Math.floor(p / 2) * 3, Math.floor(p / 2) * 3 + 3), p * 3);
    const file = ybrFull({ width: 8, height: 6, rgb, subsample422: true, study });
    await pacs.upload(file);
    const { module, pixels } = await loadFrame(pacs.client(), file.ref, 1);
    assert.equal(module.photometric, 'YBR_FULL_422');
    assert.ok(maxAbsDiff(colour(pixels).rgb, rgb) <= 1, `max difference ${maxAbsDiff(colour(pixels).rgb, rgb)}`);
  });

  it('JPEG Baseline: Orthanc decompresses on request; colour comes back as RGB', async () => {
    // Flat 8x8 blocks of one colour each survive quality-100 JPEG almost exactly.
    const width = 16;
    const height = 16;
    const colours = [
      [200, 40, 30],
      [20, 180, 60],
      [30, 60, 220],
      [240, 230, 200],
    ] as const;
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) rgb.set(colours[(y >> 3) * 2 + (x >> 3)]!, (y * width + x) * 3);
    }
    const file = jpegPhoto({ width, height, rgb, study });
    await pacs.upload(file);
    const { module, pixels, transferSyntaxUID } = await loadFrame(pacs.client(), file.ref, 1);
    assert.equal(module.photometric, 'YBR_FULL_422');
    assert.equal(transferSyntaxUID, EXPLICIT_VR_LITTLE_ENDIAN);
    const diff = maxAbsDiff(colour(pixels).rgb, rgb);
    assert.ok(diff <= 6, `max difference ${diff}`);
  });

  it('grey rendering for SAM: default window, explicit VOI, replicated to RGB', async () => {
    const hu = Int16Array.from([-1000, -160, 40, 240, 1000, 0]);
    const file = ctSlice({ rows: 2, cols: 3, hu, window: { center: 40, width: 400 }, study });
    await pacs.upload(file);
    const { pixels } = await loadFrame(pacs.client(), file.ref, 1);
    const byDefault = renderForSam(pixels);
    assert.equal(byDefault.data.length, 18);
    const r = Array.from(byDefault.data.filter((_, i) => i % 3 === 0));
    // c=40 w=400: lower edge 40-0.5-199.5 = -160 -> 0, upper edge 239 (x > 239 -> 255).
    // 40 -> ((40 - 39.5) / 399 + 0.5) * 255 = 127.82 -> 128; 0 -> ((0-39.5)/399+0.5)*255 = 102.25 -> 102.
    assert.deepEqual(r, [0, 0, 128, 255, 255, 102]);
    for (let i = 0; i < byDefault.data.length; i += 3) {
      assert.equal(byDefault.data[i + 1], byDefault.data[i]);
      assert.equal(byDefault.data[i + 2], byDefault.data[i]);
    }
    const wide = renderForSam(pixels, { center: 0, width: 2001 });
    // c=0 w=2001: -1000 -> ((-1000 + 0.5)/2000 + 0.5) * 255 = 0.06 -> 0; 1000 -> 255; 0 -> 127.56 -> 128.
    assert.deepEqual(Array.from(wide.data.filter((_, i) => i % 3 === 0)), [0, 107, 133, 158, 255, 128]);
  });
});
