/**
 * The checks around the codecs, on real codec output: a frame's own header is compared with its
 * metadata and the pixel limit before decoding; damaged data is a CorruptImage (and the codec
 * still works afterwards); compressed bytes a PACS labels as uncompressed are recognised.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCompressedFrame, loadCodecFor, sniffCompressedSyntax } from '../../../src/dicom/codecs/index.js';
import { readJ2kHeader } from '../../../src/dicom/codecs/j2k-header.js';
import { readJpegLsHeader } from '../../../src/dicom/codecs/jpeg-ls-header.js';
import { CorruptImage, UnsupportedImage } from '../../../src/dicom/errors.js';
import type { PixelModule } from '../../../src/dicom/pixel-module.js';
import { COMPRESSIONS, bytesOf, encodeFrame, loadEncoders, type Compression } from './compressed-instances.js';

const rows = 40;
const cols = 56;
const values = Int16Array.from({ length: rows * cols }, (_, i) => ((i * 37) % 2000) - 1000);
const info = { width: cols, height: rows, bitsPerSample: 16, componentCount: 1, isSigned: true };

function module(overrides: Partial<PixelModule> = {}): PixelModule {
  return {
    sopClassUID: '1.2.840.10008.5.1.4.1.1.2',
    rows,
    columns: cols,
    samplesPerPixel: 1,
    photometric: 'MONOCHROME2',
    bitsAllocated: 16,
    bitsStored: 16,
    highBit: 15,
    pixelRepresentation: 1,
    planarConfiguration: 0,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    defaultVoi: undefined,
    voiFunction: 'LINEAR',
    numberOfFrames: 1,
    ...overrides,
  };
}

const FORMS: readonly Compression[] = ['JPEG 2000 lossless', 'JPEG-LS lossless', 'HTJ2K lossless'];
const encoded = new Map<Compression, Uint8Array>();

function frameOf(form: Compression): Uint8Array {
  const bytes = encoded.get(form);
  assert.ok(bytes);
  return bytes;
}

describe('codec checks', () => {
  before(async () => {
    await loadEncoders();
    for (const form of FORMS) encoded.set(form, encodeFrame(form, bytesOf(values), { ...info, isSigned: !form.startsWith('JPEG-LS') }));
  });

  it('headers are read as the encoder wrote them', () => {
    for (const form of ['JPEG 2000 lossless', 'HTJ2K lossless'] as const) {
      assert.deepEqual(readJ2kHeader(frameOf(form), form), { width: cols, height: rows, components: 1, precision: 16, signed: true });
    }
    assert.deepEqual(readJpegLsHeader(frameOf('JPEG-LS lossless')), { width: cols, height: rows, components: 1, precision: 16, signed: false });
  });

  for (const form of FORMS) {
    const uid = COMPRESSIONS[form].uid;

    it(`${form}: decodes to the encoded values`, async () => {
      await loadCodecFor(uid);
      const native = decodeCompressedFrame(uid, frameOf(form), module());
      assert.ok(native);
      assert.deepEqual(new Int16Array(native.bytes.buffer, native.bytes.byteOffset, values.length), values);
    });

    it(`${form}: a size other than the metadata's is refused as damaged data, naming both sizes`, async () => {
      await loadCodecFor(uid);
      assert.throws(
        () => decodeCompressedFrame(uid, frameOf(form), module({ rows: rows + 1 })),
        (e: unknown) => e instanceof CorruptImage && e.detail === `${form.replace(/ lossless$/, '')} codestream is ${cols}x${rows}, the metadata says ${cols}x${rows + 1}`,
      );
      assert.throws(() => decodeCompressedFrame(uid, frameOf(form), module({ samplesPerPixel: 3, photometric: 'RGB' })), CorruptImage);
      assert.throws(() => decodeCompressedFrame(uid, frameOf(form), module({ bitsAllocated: 8, bitsStored: 8, highBit: 7 })), CorruptImage);
    });

    it(`${form}: a frame over the pixel limit is refused with the limit named`, async () => {
      await loadCodecFor(uid);
      assert.throws(
        () => decodeCompressedFrame(uid, frameOf(form), module(), { maxPixels: rows * cols - 1 }),
        (e: unknown) => e instanceof UnsupportedImage && e.message.includes(`${cols}x${rows}`) && e.message.includes((rows * cols - 1).toLocaleString('en-US')),
      );
      assert.ok(decodeCompressedFrame(uid, frameOf(form), module(), { maxPixels: rows * cols }), 'exactly at the limit is fine');
    });

    it(`${form}: damaged data is a CorruptImage, and the codec works again afterwards`, async () => {
      await loadCodecFor(uid);
      const garbage = frameOf(form).slice();
      for (let i = 80; i < garbage.length; i += 3) garbage[i]! ^= 0x5a;
      assert.throws(() => decodeCompressedFrame(uid, garbage, module()), CorruptImage);
      const headerOnly = frameOf(form).slice(0, 60);
      if (!form.startsWith('HTJ2K')) assert.throws(() => decodeCompressedFrame(uid, headerOnly, module()), CorruptImage); // OpenJPH decodes truncated streams partially
      assert.throws(() => decodeCompressedFrame(uid, frameOf(form).slice(0, 3), module()), CorruptImage);
      await loadCodecFor(uid);
      assert.ok(decodeCompressedFrame(uid, frameOf(form), module()));
    });
  }

  it('compressed bytes are recognised by their first marker segments, other bytes are not', () => {
    assert.equal(sniffCompressedSyntax(frameOf('HTJ2K lossless')), '1.2.840.10008.1.2.4.201');
    assert.equal(sniffCompressedSyntax(frameOf('JPEG 2000 lossless')), '1.2.840.10008.1.2.4.90');
    assert.equal(sniffCompressedSyntax(frameOf('JPEG-LS lossless')), '1.2.840.10008.1.2.4.80');
    assert.equal(sniffCompressedSyntax(bytesOf(values)), undefined);
    assert.equal(sniffCompressedSyntax(new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11])), undefined, 'baseline JPEG is not JPEG-LS');
    assert.equal(sniffCompressedSyntax(new Uint8Array(0)), undefined);
  });

  it('a syntax without a codec here is left to the caller', () => {
    assert.equal(decodeCompressedFrame('1.2.840.10008.1.2.4.100', new Uint8Array(8), module()), undefined);
  });
});
