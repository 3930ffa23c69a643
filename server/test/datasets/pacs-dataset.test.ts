/**
 * The dataset from the PACS, end to end against a real Orthanc: site-B CT phantoms stored as CT
 * slices, their ground truth stored as binary SEGs and Label Map SEGs (uncompressed and RLE, 8- and
 * 16-bit, frames shuffled, two segments), plus SEGs that must be skipped with a reason. The masks
 * must decode to the phantoms' ground truth exactly.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CT_WINDOW, SITES, datasetSource, loadDatasetItem, phantomItem, readDataset, type CtPhantom } from '@glmedsa/models';
import { buildPacsDataset, findSegSeries, InvalidDatasetFilter, parseDatasetFilter, writePacsDatasetFolder, type PacsDataset, type PacsSample } from '../../src/datasets/index.js';
import { ctSlice, multiFrame, newStudy, newUid, type StudyContext } from '../helpers/dicom-factory.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { fakeSeg, segInstance, shuffled, type SegFrameSpec } from '../helpers/seg-builder.js';

const SIZE = 50; // 2500 pixels per frame: bit-packed frames start inside a byte
const pacs = useOrthanc();

interface Slice {
  readonly phantom: CtPhantom;
  readonly ref: { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string };
}

let phantomIndex = 0;
/** Stores `count` site-B CT phantom slices as one series of `study`. */
async function storeSlices(study: StudyContext, count: number): Promise<Slice[]> {
  const seriesInstanceUID = newUid();
  const slices: Slice[] = [];
  for (let i = 0; i < count; i++) {
    const phantom = phantomItem('ct', SITES['B']!, SIZE, 11, phantomIndex++) as CtPhantom;
    assert.ok(phantom.mask.some((v) => v === 1), 'every phantom has a lesion');
    const file = ctSlice({ rows: SIZE, cols: SIZE, hu: phantom.hu, window: CT_WINDOW, study, seriesInstanceUID, instanceNumber: i + 1, seriesDescription: 'phantom CT' });
    await pacs.upload(file);
    slices.push({ phantom, ref: file.ref });
  }
  return slices;
}

const organOnly = (p: CtPhantom): Uint8Array => p.organMask.map((v, i) => (v === 1 && p.mask[i] === 0 ? 1 : 0));
const union = (a: ArrayLike<number>, b: ArrayLike<number>): Uint8Array => Uint8Array.from({ length: a.length }, (_, i) => (a[i] || b[i] ? 1 : 0));

/** Binary SEG frames: segment 1 Lesion, segment 2 Organ (overlapping), shuffled. */
function binaryFrames(slices: readonly Slice[], seed: number): SegFrameSpec[] {
  return shuffled(
    slices.flatMap((s) => [
      { source: s.ref, segmentNumber: 1, pixels: s.phantom.mask },
      { source: s.ref, segmentNumber: 2, pixels: s.phantom.organMask },
    ]),
    seed,
  );
}

/** Label map frames: 0 background, `lesion` in the lesion, `organ` in the rest of the organ, shuffled. */
function labelFrames(slices: readonly Slice[], lesion: number, organ: number, seed: number): SegFrameSpec[] {
  return shuffled(
    slices.map((s) => ({ source: s.ref, pixels: Uint16Array.from(s.phantom.organMask, (v, i) => (s.phantom.mask[i] ? lesion : v ? organ : 0)) })),
    seed,
  );
}

/** Ground truth per source frame (`sop#frame`): lesion and organ masks as each SEG type encodes them. */
const truth = new Map<string, { lesion: Uint8Array; organ: Uint8Array; phantom: CtPhantom; patient: string; ct: boolean }>();
const frameKey = (sop: string, frame = 1): string => `${sop}#${frame}`;
const setTruth = (sop: string, t: { lesion: Uint8Array; organ: Uint8Array; phantom: CtPhantom; patient: string }, frame = 1): void => {
  truth.set(frameKey(sop, frame), { ...t, ct: frame === 1 && !multiFrameSops.has(sop) });
};
const multiFrameSops = new Set<string>();
const studies: StudyContext[] = [];
let skipStudy: StudyContext;
let good: { okSop: string; missingSop: string; emptySop: string; sizeSop: string };

async function storeAll(): Promise<void> {
  // Patient 1: binary SEG, uncompressed, frames packed back to back, two segments, shuffled.
  const s1 = newStudy('binary SEG');
  const p1 = await storeSlices(s1, 3);
  await pacs.upload(segInstance({ type: 'BINARY', rows: SIZE, cols: SIZE, study: s1, seriesDescription: 'GLMed-SA binary', segments: [{ number: 1, label: 'Lesion' }, { number: 2, label: 'Organ' }], frames: binaryFrames(p1, 1) }));
  for (const s of p1) setTruth(s.ref.sopInstanceUID, { lesion: s.phantom.mask, organ: s.phantom.organMask, phantom: s.phantom, patient: s1.PatientID });
  // Patient 2: Label Map SEG, 8-bit, uncompressed, shuffled; the organ segment excludes the lesion.
  const s2 = newStudy('label map SEG');
  const p2 = await storeSlices(s2, 3);
  await pacs.upload(segInstance({ type: 'LABELMAP', rows: SIZE, cols: SIZE, study: s2, seriesDescription: 'GLMed-SA labelmap', segments: [{ number: 1, label: 'Lesion' }, { number: 2, label: 'Organ' }], frames: labelFrames(p2, 1, 2, 2) }));
  for (const s of p2) setTruth(s.ref.sopInstanceUID, { lesion: s.phantom.mask, organ: organOnly(s.phantom), phantom: s.phantom, patient: s2.PatientID });
  // Patient 3: Label Map SEG, 16-bit, RLE (OHIF's default store syntax), segment numbers 300 and 7.
  const s3 = newStudy('label map SEG RLE');
  const p3 = await storeSlices(s3, 2);
  await pacs.upload(segInstance({ type: 'LABELMAP', bits: 16, rle: true, rows: SIZE, cols: SIZE, study: s3, seriesDescription: 'GLMed-SA labelmap', segments: [{ number: 7, label: 'Organ' }, { number: 300, label: 'Lesion' }], frames: labelFrames(p3, 300, 7, 3) }));
  for (const s of p3) setTruth(s.ref.sopInstanceUID, { lesion: s.phantom.mask, organ: organOnly(s.phantom), phantom: s.phantom, patient: s3.PatientID });
  // Patient 4: binary SEG in RLE (each frame packed on its own), ReferencedFrameNumber given.
  const s4 = newStudy('binary SEG RLE');
  const p4 = await storeSlices(s4, 2);
  await pacs.upload(segInstance({ type: 'BINARY', rle: true, rows: SIZE, cols: SIZE, study: s4, seriesDescription: 'GLMed-SA binary', segments: [{ number: 1, label: 'Lesion' }, { number: 2, label: 'Organ' }], frames: binaryFrames(p4, 4).map((f) => ({ ...f, referencedFrame: 1 })) }));
  for (const s of p4) setTruth(s.ref.sopInstanceUID, { lesion: s.phantom.mask, organ: s.phantom.organMask, phantom: s.phantom, patient: s4.PatientID });
  // Study 5, no PatientID: a one-image binary SEG with no DerivationImageSequence (ReferencedSeriesSequence only).
  const s5 = { ...newStudy('no patient id'), PatientID: '' };
  const p5 = await storeSlices(s5, 1);
  await pacs.upload(segInstance({ type: 'BINARY', rows: SIZE, cols: SIZE, study: s5, omitDerivation: true, seriesDescription: 'GLMed-SA binary', segments: [{ number: 1, label: 'Lesion' }], frames: [{ source: p5[0]!.ref, segmentNumber: 1, pixels: p5[0]!.phantom.mask }] }));
  setTruth(p5[0]!.ref.sopInstanceUID, { lesion: p5[0]!.phantom.mask, organ: new Uint8Array(SIZE * SIZE), phantom: p5[0]!.phantom, patient: '' });
  // Patient 7: a multi-frame image; an 8-bit RLE label map SEG refers to its frames 3 and 2 (ReferencedFrameNumber).
  const s7 = newStudy('multi-frame');
  const phantoms = [0, 1, 2].map(() => phantomItem('ct', SITES['B']!, SIZE, 11, phantomIndex++) as CtPhantom);
  const mf = multiFrame({ rows: SIZE, cols: SIZE, bits: 8, frames: phantoms.map((p) => Uint8Array.from({ length: SIZE * SIZE }, (_, i) => p.image.data[3 * i]!)), study: s7 });
  await pacs.upload(mf);
  multiFrameSops.add(mf.ref.sopInstanceUID);
  const mfFrames = [3, 2].map((frame) => {
    const p = phantoms[frame - 1]!;
    return { source: mf.ref, referencedFrame: frame, pixels: Uint16Array.from(p.organMask, (v, i) => (p.mask[i] ? 1 : v ? 2 : 0)) };
  });
  await pacs.upload(segInstance({ type: 'LABELMAP', rle: true, rows: SIZE, cols: SIZE, study: s7, seriesDescription: 'GLMed-SA multiframe', segments: [{ number: 1, label: 'Lesion' }, { number: 2, label: 'Organ' }], frames: mfFrames }));
  for (const frame of [3, 2]) setTruth(mf.ref.sopInstanceUID, { lesion: phantoms[frame - 1]!.mask, organ: organOnly(phantoms[frame - 1]!), phantom: phantoms[frame - 1]!, patient: s7.PatientID }, frame);
  studies.push(s1, s2, s3, s4, s5, s7);

  // Study 6: what must be skipped, next to one good frame.
  skipStudy = newStudy('skip cases');
  const p6 = await storeSlices(skipStudy, 3);
  const missing = { sopInstanceUID: newUid(), seriesInstanceUID: p6[0]!.ref.seriesInstanceUID };
  await pacs.upload(
    segInstance({
      type: 'BINARY',
      rows: SIZE,
      cols: SIZE,
      study: skipStudy,
      seriesDescription: 'GLMed-SA mixed',
      segments: [{ number: 1, label: 'Lesion' }],
      frames: [
        { source: missing, segmentNumber: 1, pixels: p6[0]!.phantom.mask },
        { source: p6[1]!.ref, segmentNumber: 1, pixels: new Uint8Array(SIZE * SIZE) },
        { source: p6[2]!.ref, segmentNumber: 1, pixels: p6[2]!.phantom.mask },
      ],
    }),
  );
  setTruth(p6[2]!.ref.sopInstanceUID, { lesion: p6[2]!.phantom.mask, organ: new Uint8Array(SIZE * SIZE), phantom: p6[2]!.phantom, patient: skipStudy.PatientID });
  await pacs.upload(segInstance({ type: 'FRACTIONAL', rows: SIZE, cols: SIZE, study: skipStudy, seriesDescription: 'GLMed-SA fractional', segments: [{ number: 1, label: 'Lesion' }], frames: [{ source: p6[0]!.ref, segmentNumber: 1, pixels: p6[0]!.phantom.mask.map((v) => v * 255) }] }));
  await pacs.upload(segInstance({ type: 'BINARY', rows: 40, cols: 40, study: skipStudy, seriesDescription: 'GLMed-SA small', segments: [{ number: 1, label: 'Lesion' }], frames: [{ source: p6[0]!.ref, segmentNumber: 1, pixels: new Uint8Array(1600).fill(1) }] }));
  await pacs.upload(fakeSeg({ study: skipStudy, seriesDescription: 'not really a SEG' }));
  good = { okSop: p6[2]!.ref.sopInstanceUID, missingSop: missing.sopInstanceUID, emptySop: p6[1]!.ref.sopInstanceUID, sizeSop: p6[0]!.ref.sopInstanceUID };
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => (v ? 1 : 0) === (b[i] ? 1 : 0));

function assertMasks(dataset: PacsDataset, expected: (t: { lesion: Uint8Array; organ: Uint8Array }) => ArrayLike<number>): void {
  for (const sample of dataset.samples) {
    const t = truth.get(frameKey(sample.image.sopInstanceUID, sample.image.frame));
    assert.ok(t, `sample of unknown image ${sample.image.sopInstanceUID}`);
    assert.equal(sample.width * sample.height, SIZE * SIZE);
    assert.ok(same(sample.mask, expected(t)), `mask of ${sample.image.sopInstanceUID} (SEG ${sample.seg.sopInstanceUID}) differs from the ground truth`);
  }
}

describe('dataset from the PACS', () => {
  let all: PacsDataset;
  before(async () => {
    await storeAll();
    all = await buildPacsDataset(pacs.client(), {}, { seed: 5, validationFraction: 0.34 });
  });

  it('decodes every binary and label map SEG frame to its ground truth (all segments merged)', () => {
    assert.equal(all.samples.length, truth.size, 'one sample per annotated image');
    assert.deepEqual(new Set(all.samples.map((s) => frameKey(s.image.sopInstanceUID, s.image.frame))), new Set(truth.keys()));
    assertMasks(all, (t) => union(t.lesion, t.organ));
    for (const s of all.samples) assert.equal(s.samplesPerPixel, 1);
  });

  it('chooses segments by label or by number', async () => {
    const lesion = await buildPacsDataset(pacs.client(), { segmentLabels: [' lesion '] });
    assert.equal(lesion.samples.length, truth.size);
    assertMasks(lesion, (t) => t.lesion);
    const organ = await buildPacsDataset(pacs.client(), { segmentNumbers: [2, 7] });
    assertMasks(organ, (t) => t.organ);
    // The patients whose SEGs have an organ segment 2 or 7: 1, 2, 3, 4 and 7 (3 + 3 + 2 + 2 + 2 frames).
    assert.equal(organ.samples.length, 12);
    const sentences = organ.skipped.filter((s) => s.reason === 'no-matching-segment');
    assert.ok(sentences.length >= 2 && sentences.every((s) => /has no segment with number 2 or 7/.test(s.message)));
  });

  it('splits by patient (study without a PatientID), deterministically from the seed', async () => {
    const sides = (side: readonly PacsSample[]): Set<string> => new Set(side.map((s) => s.patientKey));
    const train = sides(all.train);
    const validation = sides(all.validation);
    assert.ok(train.size > 0 && validation.size > 0);
    for (const key of train) assert.ok(!validation.has(key), `${key} is on both sides`);
    assert.equal(all.train.length + all.validation.length, all.samples.length);
    assert.equal(train.size + validation.size, 7);
    for (const s of all.samples) {
      const t = truth.get(frameKey(s.image.sopInstanceUID, s.image.frame))!;
      assert.equal(s.patientKey, t.patient === '' ? `study:${s.studyInstanceUID}` : `patient:${t.patient}`);
    }
    const again = await buildPacsDataset(pacs.client(), {}, { seed: 5, validationFraction: 0.34 });
    assert.deepEqual(again.validationPatients, all.validationPatients);
    assert.deepEqual(
      again.validation.map((s) => s.image.sopInstanceUID).sort(),
      all.validation.map((s) => s.image.sopInstanceUID).sort(),
    );
  });

  it('reports each skipped SEG or image with its reason in a sentence', () => {
    const byReason = (reason: string) => all.skipped.filter((s) => s.reason === reason);
    const one = (reason: string) => {
      const found = byReason(reason);
      assert.equal(found.length, 1, `${reason}: ${JSON.stringify(all.skipped)}`);
      assert.match(found[0]!.message, /^[A-Z].*\.$/);
      return found[0]!;
    };
    assert.equal(one('missing-image').image?.sopInstanceUID, good.missingSop);
    assert.match(one('missing-image').message, /not in the PACS/);
    assert.equal(one('empty-mask').image?.sopInstanceUID, good.emptySop);
    assert.match(one('fractional').message, /FRACTIONAL/);
    const size = one('size-mismatch');
    assert.equal(size.image?.sopInstanceUID, good.sizeSop);
    assert.match(size.message, /40x40 .* 50x50/);
    assert.match(one('not-seg').message, /not a segmentation/);
    assert.equal(all.skipped.length, 5);
    assert.ok(all.samples.some((s) => s.image.sopInstanceUID === good.okSop), 'the good frame next to the skipped ones is kept');
    assert.equal(all.seriesExamined, 6 + 4);
  });

  it('filters by study, series description and study date', async () => {
    const some = await buildPacsDataset(pacs.client(), { studyInstanceUIDs: [studies[0]!.StudyInstanceUID, studies[2]!.StudyInstanceUID] });
    assert.deepEqual(new Set(some.samples.map((s) => s.studyInstanceUID)), new Set([studies[0]!.StudyInstanceUID, studies[2]!.StudyInstanceUID]));
    assert.equal(some.samples.length, 5);
    const labelmaps = await buildPacsDataset(pacs.client(), { seriesDescription: '*labelmap' });
    assert.equal(labelmaps.samples.length, 5);
    assert.equal(labelmaps.seriesExamined, 2);
    const later = await buildPacsDataset(pacs.client(), { studyDate: { from: '20250101' } });
    assert.equal(later.seriesExamined, 0);
    const during = await buildPacsDataset(pacs.client(), { studyDate: { from: '20231231', to: '20240101' } });
    assert.equal(during.samples.length, truth.size);
  });

  it('refuses a malformed filter before asking the PACS', async () => {
    for (const bad of [{ studyDate: { from: 'yesterday' } }, { studyDate: { from: '20240230' } }, { studyInstanceUIDs: ['1.2.abc'] }, { segmentNumbers: [0] }, { colour: 'red' }, { studyDate: { from: '20240102', to: '20240101' } }, { seriesDescription: 'a\\b' }, 'SEG']) {
      await assert.rejects(buildPacsDataset(pacs.client(), bad), (error: unknown) => {
        assert.ok(error instanceof InvalidDatasetFilter, String(error));
        assert.equal(error.kind, 'invalid-request');
        assert.match(error.message, /^The dataset filter is not valid: .+\.$/);
        return true;
      });
    }
  });

  it('writes train and validation glmedsa-dataset folders atomically, images rendered as for segmentation', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'glmedsa-pacs-dataset-'));
    try {
      const dir = path.join(parent, 'site');
      const summary = await writePacsDatasetFolder(pacs.client(), all, dir, { site: 'B' });
      const train = await readDataset(path.join(dir, 'train'));
      const validation = await readDataset(path.join(dir, 'validation'));
      assert.equal(train.count, all.train.length);
      assert.equal(validation.count, all.validation.length);
      assert.equal(train.site, 'B');
      for (const [side, dataset] of [
        [summary.train, train],
        [summary.validation, validation],
      ] as const) {
        for (const [k, item] of dataset.items.entries()) {
          const { image, mask } = await loadDatasetItem(dataset, item);
          const ref = side.items[k]!.image;
          const t = truth.get(frameKey(ref.sopInstanceUID, ref.frame))!;
          assert.ok(same(mask, union(t.lesion, t.organ)));
          if (!t.ct) continue;
          // The DICOM default window is the phantom's CT window: the render matches the phantom's own
          // rendering up to the DICOM linear VOI formula's (w - 1) scaling (at most 1 level here).
          let worst = 0;
          for (let i = 0; i < image.data.length; i++) worst = Math.max(worst, Math.abs(image.data[i]! - t.phantom.image.data[i]!));
          assert.ok(worst <= 1, `image ${item.id} differs from the phantom by ${worst} levels`);
        }
      }
      const source = await datasetSource(path.join(dir, 'train'));
      assert.equal(source.count, all.train.length);
      const onDisk = JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8')) as { skipped: unknown[]; validation: { patients: string[] } };
      assert.equal(onDisk.skipped.length, all.skipped.length);
      assert.deepEqual(onDisk.validation.patients, all.validationPatients);
      await assert.rejects(writePacsDatasetFolder(pacs.client(), all, dir), /already exists/);
      assert.deepEqual(await readdir(parent), ['site'], 'no partial folder is left behind');
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe('the order of a data set', () => {
  const pacs2 = useOrthanc();

  it('follows the images, not the order the PACS lists the SEGs in (the trainer draws batches by item index)', async () => {
    // The same images annotated twice, by two sets of SEGs: each SEG gets fresh UIDs, and Orthanc
    // lists series in the order of its hashed ids, so each set comes in its own order.
    let count = 0;
    for (let p = 0; p < 6; p++) {
      const study = newStudy(`order ${p}`);
      const slices: Slice[] = [];
      for (let i = 0; i < 2; i++) {
        const phantom = phantomItem('ct', SITES['B']!, SIZE, 11, 500 + p * 2 + i) as CtPhantom;
        const file = ctSlice({ rows: SIZE, cols: SIZE, hu: phantom.hu, window: CT_WINDOW, study, instanceNumber: i + 1, seriesDescription: 'phantom CT' });
        await pacs2.upload(file);
        slices.push({ phantom, ref: file.ref });
        count++;
      }
      for (const set of ['A', 'B']) {
        const frames = slices.map((s) => ({ source: s.ref, segmentNumber: 1, pixels: s.phantom.mask }));
        await pacs2.upload(segInstance({ type: 'BINARY', rows: SIZE, cols: SIZE, study, seriesDescription: `order set ${set}`, segments: [{ number: 1, label: 'Lesion' }], frames }));
      }
    }
    const listed = async (set: string) => (await findSegSeries(pacs2.client(), parseDatasetFilter({ seriesDescription: `order set ${set}` }))).map((s) => s.studyInstanceUID).join();
    // With 6 studies the two listings differ but for 1 run in 720; then this run checks nothing.
    if ((await listed('A')) === (await listed('B'))) console.log('# both SEG sets happen to be listed in the same study order');
    const order = (d: PacsDataset, side: 'train' | 'validation') => d[side].map((s) => `${s.image.sopInstanceUID}#${s.image.frame}`);
    const a = await buildPacsDataset(pacs2.client(), { seriesDescription: 'order set A' }, { seed: 2, validationFraction: 0.34 });
    const b = await buildPacsDataset(pacs2.client(), { seriesDescription: 'order set B' }, { seed: 2, validationFraction: 0.34 });
    assert.equal(a.samples.length, count);
    assert.deepEqual(order(a, 'train'), order(b, 'train'));
    assert.deepEqual(order(a, 'validation'), order(b, 'validation'));
  });
});
