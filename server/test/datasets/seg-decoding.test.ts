/** SEG decoding without a PACS: RLE against a published PackBits example, bit layouts, bad files, the patient split. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRleFrame, readSegObject, SegDecodeError, splitByPatient } from '../../src/datasets/index.js';
import { segInstance, shuffled } from '../helpers/seg-builder.js';

/** An RLE frame with one segment holding `segment`. */
function rle(segment: number[]): Uint8Array {
  const out = new Uint8Array(64 + segment.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1, true);
  view.setUint32(4, 64, true);
  out.set(segment, 64);
  return out;
}

describe('RLE Lossless frames', () => {
  it("decode Apple's PackBits example (Technical Note TN1023)", () => {
    const packed = [0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa];
    const expected = [0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22, ...new Array<number>(10).fill(0xaa)];
    assert.deepEqual([...decodeRleFrame(rle(packed), expected.length, 1)], expected);
  });

  it('refuse damaged frames with a reason', () => {
    assert.throws(() => decodeRleFrame(new Uint8Array(10), 4, 1), /shorter than its 64-byte header/);
    assert.throws(() => decodeRleFrame(rle([0x05, 1, 2]), 6, 1), /overruns/);
    assert.throws(() => decodeRleFrame(rle([0x01, 1, 2]), 6, 1), /decodes to 2 bytes, 6 expected/);
    assert.throws(() => decodeRleFrame(rle([0x01, 1, 2]), 2, 2), /has 1 segments, 2 expected/);
  });
});

describe('binary SEG pixel layouts', () => {
  const source = { sopInstanceUID: '1.2.3.4', seriesInstanceUID: '1.2.3' };
  // 5 x 5 = 25 bits a frame: with frames back to back, frames 2 and 3 start inside a byte.
  const frames = [0, 1, 2].map((k) => Array.from({ length: 25 }, (_, i) => ((i * (k + 3)) % 4 === 1 ? 1 : 0)));
  for (const layout of ['continuous', 'per-frame'] as const) {
    it(`reads ${layout} bit packing`, () => {
      const seg = readSegObject(
        segInstance({ type: 'BINARY', rows: 5, cols: 5, binaryLayout: layout, segments: [{ number: 1, label: 'A' }], frames: frames.map((pixels) => ({ source, segmentNumber: 1, pixels })) }).bytes,
      );
      frames.forEach((f, k) => assert.deepEqual([...seg.framePixels(k)], f, `frame ${k + 1}`));
    });
  }

  it('says why a file is not a readable SEG', () => {
    assert.throws(() => readSegObject(new Uint8Array(300)), SegDecodeError);
    const fractional = readSegObject(segInstance({ type: 'FRACTIONAL', rows: 5, cols: 5, segments: [{ number: 1, label: 'A' }], frames: [{ source, segmentNumber: 1, pixels: frames[0]! }] }).bytes);
    assert.equal(fractional.kind, 'fractional');
    assert.throws(() => fractional.framePixels(0), /fractional segmentations are not supported/);
  });
});

describe('the patient split', () => {
  const items = Array.from({ length: 40 }, (_, i) => ({ id: i, patient: `P${i % 9}` }));
  it('keeps each patient on one side whatever order the items come in', () => {
    const a = splitByPatient(items, (x) => x.patient, { seed: 3, validationFraction: 0.3 });
    const b = splitByPatient(shuffled(items, 99), (x) => x.patient, { seed: 3, validationFraction: 0.3 });
    assert.deepEqual(a.validationPatients, b.validationPatients);
    assert.equal(a.validationPatients.length, 3);
    const v = new Set(a.validation.map((x) => x.patient));
    assert.ok(a.train.every((x) => !v.has(x.patient)));
    assert.equal(a.train.length + a.validation.length, items.length);
  });

  it('leaves one patient on each side at the extremes, none in validation at 0', () => {
    assert.equal(splitByPatient(items, (x) => x.patient, { validationFraction: 0 }).validation.length, 0);
    const all = splitByPatient(items, (x) => x.patient, { validationFraction: 1 });
    assert.equal(all.trainPatients.length, 1);
    const tiny = splitByPatient(items, (x) => x.patient, { validationFraction: 0.01 });
    assert.equal(tiny.validationPatients.length, 1);
    assert.throws(() => splitByPatient(items, (x) => x.patient, { validationFraction: 2 }), RangeError);
  });
});
