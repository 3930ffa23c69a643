/**
 * Decoding and windowing without a PACS: bit layouts, sign extension, byte order, colour layouts,
 * the VOI functions against hand-computed values, metadata checks and cache keys.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DicomJsonDataset } from '../../src/dicom/dicom-json.js';
import { CorruptImage, FrameOutOfRange, InvalidImageReference, NotAnImage, UnsupportedImage } from '../../src/dicom/errors.js';
import { imageKey } from '../../src/dicom/image-key.js';
import { assertFrameNumber, assertInstanceRef, isValidUid } from '../../src/dicom/image-ref.js';
import { readPixelModule, type PixelModule } from '../../src/dicom/pixel-module.js';
import { decodeFrame, decodePixels, renderForSam, type ColourPixels, type GreyPixels } from '../../src/dicom/pixels.js';
import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from '../../src/dicom/transfer-syntax.js';
import { minMaxToBytes, voiValue, windowToBytes } from '../../src/dicom/voi.js';

function module(overrides: Partial<PixelModule>): PixelModule {
  return {
    sopClassUID: '1.2.840.10008.5.1.4.1.1.7',
    rows: 1,
    columns: 4,
    samplesPerPixel: 1,
    photometric: 'MONOCHROME2',
    bitsAllocated: 16,
    bitsStored: 16,
    highBit: 15,
    pixelRepresentation: 0,
    planarConfiguration: 0,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    defaultVoi: undefined,
    voiFunction: 'LINEAR',
    numberOfFrames: 1,
    ...overrides,
  };
}

function le16(...words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 2);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint16(i * 2, w, true));
  return out;
}

function greyValues(m: PixelModule, bytes: Uint8Array, ts = EXPLICIT_VR_LITTLE_ENDIAN): number[] {
  const pixels = decodeFrame(m, { bytes, transferSyntaxUID: ts });
  assert.equal(pixels.channels, 1);
  return Array.from((pixels as GreyPixels).values);
}

describe('grey decoding', () => {
  it('signed 12-in-16: masks to Bits Stored and sign-extends from bit 11', () => {
    const m = module({ bitsStored: 12, highBit: 11, pixelRepresentation: 1 });
    // 0x0FFF = -1, 0x0800 = -2048, 0x07FF = 2047, 0xF001 = garbage high nibble + 1.
    assert.deepEqual(greyValues(m, le16(0x0fff, 0x0800, 0x07ff, 0xf001)), [-1, -2048, 2047, 1]);
  });

  it('unsigned 12-in-16 with High Bit 15 (stored in the top bits)', () => {
    const m = module({ bitsStored: 12, highBit: 15 });
    assert.deepEqual(greyValues(m, le16(0xfff0, 0x0010, 0x800f, 0x0000)), [4095, 1, 2048, 0]);
  });

  it('signed 16-bit with rescale, and implicit little endian', () => {
    const m = module({ pixelRepresentation: 1, rescaleSlope: 2, rescaleIntercept: -1000 });
    assert.deepEqual(greyValues(m, le16(0xffff, 0x8000, 0x7fff, 0), IMPLICIT_VR_LITTLE_ENDIAN), [-1002, -66536, 64534, -1000]);
  });

  it('big endian words are swapped', () => {
    const m = module({});
    assert.deepEqual(greyValues(m, new Uint8Array([0x01, 0x02, 0x00, 0x10, 0xff, 0x00, 0, 1]), EXPLICIT_VR_BIG_ENDIAN), [0x0102, 0x0010, 0xff00, 1]);
  });

  it('8-bit signed and 32-bit unsigned', () => {
    assert.deepEqual(greyValues(module({ bitsAllocated: 8, bitsStored: 8, highBit: 7, pixelRepresentation: 1 }), new Uint8Array([0, 127, 128, 255])), [0, 127, -128, -1]);
    const words = new Uint8Array(16);
    const view = new DataView(words.buffer);
    [0, 1, 70000, 4294967295].forEach((v, i) => view.setUint32(i * 4, v, true));
    assert.deepEqual(greyValues(module({ bitsAllocated: 32, bitsStored: 32, highBit: 31 }), words), [0, 1, 70000, 4294967296]);
  });

  it('too few bytes -> CorruptImage; even-length padding is ignored; compressed bytes -> UnsupportedImage', () => {
    const m = module({ bitsAllocated: 8, bitsStored: 8, highBit: 7, columns: 3 });
    assert.throws(() => greyValues(m, new Uint8Array(2)), CorruptImage);
    assert.deepEqual(greyValues(m, new Uint8Array([1, 2, 3, 0])), [1, 2, 3]);
    assert.throws(() => decodeFrame(m, { bytes: new Uint8Array(3), transferSyntaxUID: '1.2.840.10008.1.2.4.50' }), (e: unknown) => e instanceof UnsupportedImage && /JPEG Baseline/.test(e.message));
  });
});

describe('colour decoding', () => {
  const rgbModule = module({ samplesPerPixel: 3, photometric: 'RGB', bitsAllocated: 8, bitsStored: 8, highBit: 7, columns: 2 });

  it('RGB interleaved and planar', () => {
    const interleaved = decodeFrame(rgbModule, { bytes: new Uint8Array([1, 2, 3, 4, 5, 6]), transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }) as ColourPixels;
    assert.deepEqual(Array.from(interleaved.rgb), [1, 2, 3, 4, 5, 6]);
    const planar = decodeFrame({ ...rgbModule, planarConfiguration: 1 }, { bytes: new Uint8Array([1, 4, 2, 5, 3, 6]), transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }) as ColourPixels;
    assert.deepEqual(Array.from(planar.rgb), [1, 2, 3, 4, 5, 6]);
  });

  it('16-bit RGB keeps the top 8 stored bits', () => {
    const m = { ...rgbModule, bitsAllocated: 16 as const, bitsStored: 16, highBit: 15, columns: 1 };
    const pixels = decodeFrame(m, { bytes: le16(0xff00, 0x8000, 0x00ff), transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }) as ColourPixels;
    assert.deepEqual(Array.from(pixels.rgb), [255, 128, 0]);
  });

  it('YBR_FULL: grey stays grey, pure colours within 1 (PS3.3 C.7.6.3.1.2)', () => {
    const m = { ...rgbModule, photometric: 'YBR_FULL' as const, columns: 3 };
    // (Y, Cb, Cr) of grey 100, red (255,0,0) and blue (0,0,255), rounded.
    const bytes = new Uint8Array([100, 128, 128, 76, 85, 255, 29, 255, 107]);
    const pixels = decodeFrame(m, { bytes, transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }) as ColourPixels;
    const expected = [100, 100, 100, 255, 0, 0, 0, 0, 255];
    pixels.rgb.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1, `sample ${i}: ${v} vs ${expected[i]}`));
  });

  it('YBR_FULL_422: two bytes per pixel are subsampled pairs; three bytes per pixel were decompressed to RGB', () => {
    const m = { ...rgbModule, photometric: 'YBR_FULL_422' as const, columns: 2 };
    const sub = decodeFrame(m, { bytes: new Uint8Array([50, 200, 128, 128]), transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }) as ColourPixels;
    assert.deepEqual(Array.from(sub.rgb), [50, 50, 50, 200, 200, 200]);
    const full = decodeFrame(m, { bytes: new Uint8Array([9, 8, 7, 6, 5, 4]), transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }) as ColourPixels;
    assert.deepEqual(Array.from(full.rgb), [9, 8, 7, 6, 5, 4]);
    const fromJpeg = decodeFrame({ ...m, photometric: 'YBR_FULL' }, { bytes: new Uint8Array([9, 8, 7, 6, 5, 4]), transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }, { storedTransferSyntaxUID: '1.2.840.10008.1.2.4.50' }) as ColourPixels;
    assert.deepEqual(Array.from(fromJpeg.rgb), [9, 8, 7, 6, 5, 4]);
  });
});

describe('VOI functions (hand-computed)', () => {
  it('LINEAR, PS3.3 C.11.2.1.2.1', () => {
    const voi = { center: 40, width: 400 };
    // Edges: x <= 40 - 0.5 - 199.5 = -160 -> 0; x > 40 - 0.5 + 199.5 = 239 -> 255.
    assert.equal(voiValue(-160, voi), 0);
    assert.equal(voiValue(239, voi), 255);
    assert.equal(voiValue(240, voi), 255);
    // -159: ((-159 - 39.5) / 399 + 0.5) * 255 = 0.6391
    assert.ok(Math.abs(voiValue(-159, voi) - 0.6391) < 1e-3);
    // 100: ((100 - 39.5) / 399 + 0.5) * 255 = 166.1654
    assert.ok(Math.abs(voiValue(100, voi) - 166.1654) < 1e-3);
    // Width 1 is a threshold at c - 0.5.
    assert.equal(voiValue(9.5, { center: 10, width: 1 }), 0);
    assert.equal(voiValue(9.6, { center: 10, width: 1 }), 255);
  });

  it('LINEAR_EXACT and SIGMOID, PS3.3 C.11.2.1.3', () => {
    // LINEAR_EXACT: ((x - c) / w + 0.5) * 255; x = 50, c = 0, w = 200 -> 191.25
    assert.equal(voiValue(50, { center: 0, width: 200 }, 'LINEAR_EXACT'), 191.25);
    assert.equal(voiValue(-100, { center: 0, width: 200 }, 'LINEAR_EXACT'), 0);
    // SIGMOID: 255 / (1 + exp(-4 (x - c) / w)); x = c -> 127.5; x = c + w/4 -> 255 / (1 + e^-1) = 186.4
    assert.equal(voiValue(10, { center: 10, width: 40 }, 'SIGMOID'), 127.5);
    assert.ok(Math.abs(voiValue(20, { center: 10, width: 40 }, 'SIGMOID') - 186.4) < 0.05);
  });

  it('bytes: rounding, inversion, min/max fallback, flat frames', () => {
    const values = Float32Array.from([-160, 100, 239, 40]);
    assert.deepEqual(Array.from(windowToBytes(values, { center: 40, width: 400 }, 'LINEAR', false)), [0, 166, 255, 128]);
    assert.deepEqual(Array.from(windowToBytes(values, { center: 40, width: 400 }, 'LINEAR', true)), [255, 89, 0, 127]);
    // min -200, max 300: (x + 200) * 255 / 500
    assert.deepEqual(Array.from(minMaxToBytes(Float32Array.from([-200, 300, 50, 0]), false)), [0, 255, 128, 102]);
    assert.deepEqual(Array.from(minMaxToBytes(Float32Array.from([7, 7]), false)), [0, 0]);
  });

  it('renderForSam: viewport VOI beats the default window, which beats min/max', () => {
    const pixels: GreyPixels = { width: 2, height: 1, channels: 1, values: Float32Array.from([0, 100]), invert: false, defaultVoi: { center: 50, width: 1 }, voiFunction: 'LINEAR' };
    assert.deepEqual(Array.from(renderForSam(pixels).data), [0, 0, 0, 255, 255, 255]);
    assert.deepEqual(Array.from(renderForSam(pixels, { center: 50, width: 201 }).data), [64, 64, 64, 192, 192, 192]);
    assert.deepEqual(Array.from(renderForSam({ ...pixels, defaultVoi: undefined }).data), [0, 0, 0, 255, 255, 255]);
    assert.deepEqual(Array.from(renderForSam({ ...pixels, defaultVoi: undefined, invert: true }).data), [255, 255, 255, 0, 0, 0]);
  });
});

describe('metadata checks', () => {
  const attr = (vr: string, ...value: unknown[]): { vr: string; Value: unknown[] } => ({ vr, Value: value });
  const ct: DicomJsonDataset = {
    '00080016': attr('UI', '1.2.840.10008.5.1.4.1.1.2'),
    '00280002': attr('US', 1),
    '00280004': attr('CS', 'MONOCHROME2'),
    '00280010': attr('US', 1),
    '00280011': attr('US', 2),
    '00280100': attr('US', 16),
    '00280101': attr('US', 16),
    '00280102': attr('US', 15),
    '00280103': attr('US', 1),
    '00281050': attr('DS', '40', '400'),
    '00281051': attr('DS', '350', '1500'),
    '00281052': attr('DS', '-1024'),
    '00281053': attr('DS', '1'),
  };

  it('reads numbers given as strings, and the first window of several', () => {
    const m = readPixelModule(ct);
    assert.deepEqual(m.defaultVoi, { center: 40, width: 350 });
    assert.equal(m.rescaleIntercept, -1024);
    assert.deepEqual(Array.from((decodePixels(ct, { bytes: le16(1024, 0), transferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN }) as GreyPixels).values), [0, -1024]);
  });

  it('non-images and unsupported encodings are refused with reasons', () => {
    assert.throws(() => readPixelModule({ '00080016': attr('UI', '1.2.840.10008.5.1.4.1.1.88.22') }), (e: unknown) => e instanceof NotAnImage && /structured report/.test(e.message));
    assert.throws(() => readPixelModule({ '00080016': attr('UI', '1.2.840.10008.5.1.4.1.1.104.1') }), NotAnImage);
    assert.throws(() => readPixelModule({ '00080016': attr('UI', '1.2.3.4') }), NotAnImage);
    assert.throws(() => readPixelModule({ ...ct, '00280004': attr('CS', 'PALETTE COLOR') }), (e: unknown) => e instanceof UnsupportedImage && /palette/i.test(e.message));
    assert.throws(() => readPixelModule({ ...ct, '00280100': attr('US', 12) }), UnsupportedImage);
    assert.throws(() => readPixelModule({ ...ct, '7FE00008': { vr: 'OF' } }), UnsupportedImage);
    assert.throws(() => readPixelModule({ ...ct, '00280002': attr('US', 3) }), UnsupportedImage);
    assert.doesNotThrow(() => readPixelModule({ ...ct, '00080016': attr('UI', '1.2.840.10008.5.1.4.1.1.481.2') }), 'RT Dose is an image');
  });
});

describe('references and keys', () => {
  const ref = { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4', sopInstanceUID: '1.2.3.4.5' };

  it('UIDs: digits and dots, at most 64 characters', () => {
    assert.ok(isValidUid('1.2.840.10008.5.1.4.1.1.2'));
    assert.ok(isValidUid(`2.25.${'9'.repeat(59)}`));
    for (const bad of ['', '1.', '.1', '1..2', 'a.1', '1.2 ', `2.25.${'9'.repeat(60)}`, '1/2']) assert.ok(!isValidUid(bad), bad);
    assert.throws(() => assertInstanceRef({ ...ref, seriesInstanceUID: '1.x' }), InvalidImageReference);
    assert.throws(() => assertFrameNumber(0), FrameOutOfRange);
    assert.throws(() => assertFrameNumber(3, 2), FrameOutOfRange);
    assert.throws(() => assertFrameNumber(Number.NaN), InvalidImageReference);
  });

  it('imageKey is stable and distinguishes frame and window', () => {
    assert.equal(imageKey(ref, 1), imageKey({ ...ref }, 1));
    assert.equal(imageKey(ref, 1, { center: -0, width: 400 }), imageKey(ref, 1, { center: 0, width: 400 }));
    const keys = new Set([imageKey(ref, 1), imageKey(ref, 2), imageKey(ref, 1, { center: 40, width: 400 }), imageKey(ref, 1, { center: 40, width: 401 })]);
    assert.equal(keys.size, 4);
  });
});
