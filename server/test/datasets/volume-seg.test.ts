/**
 * Training data from a segmentation through a volume, as the viewer's "Save as SEG" stores it after
 * a propagation: one multi-frame SEG over a CT series, one frame per slice that holds the lesion
 * (and no frame for the others), frames in any order. Fine-tuning reads each frame as a sample of
 * its own slice, on a real Orthanc, pixel for pixel the ground truth of that slice; the Label Map
 * SEG (OHIF 3.13's default, RLE) and the binary SEG read alike, and the dataset folder holds one
 * training item per frame.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CT_WINDOW, loadDatasetItem, readDataset, sliceMask, volumeGeometry } from '@glmedsa/models';
import { buildPacsDataset, writePacsDatasetFolder } from '../../src/datasets/index.js';
import { demoCtVolume } from '../../src/demo/demo-studies.js';
import { ctSlice, newStudy, newUid } from '../helpers/dicom-factory.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { segInstance, shuffled } from '../helpers/seg-builder.js';

const pacs = useOrthanc();

describe('a multi-frame SEG through a CT volume', () => {
  // The demo CT's phantom, made small: 16 slices of 96 x 96, two lesions in different organs.
  const volume = demoCtVolume({ slices: 16, size: 96 });
  const n = volume.columns * volume.rows;
  const lesions = volume.objects.filter((o) => o.structure === 'lesion');
  /** Per slice z: its SOP Instance UID and the lesions' truth (label 1 for the first lesion, 2 for the second). */
  const slices: { sop: string; labels: Uint16Array }[] = [];
  let study: ReturnType<typeof newStudy>;

  before(async () => {
    assert.equal(lesions.length, 2, 'the phantom has two lesions');
    study = newStudy('volume SEG');
    const seriesInstanceUID = newUid();
    const g = volumeGeometry(volume);
    const frameOfReferenceUID = newUid();
    for (let z = 0; z < volume.slices; z++) {
      const file = ctSlice({
        rows: volume.rows,
        cols: volume.columns,
        hu: volume.hu.subarray(z * n, (z + 1) * n),
        window: CT_WINDOW,
        study,
        seriesInstanceUID,
        seriesDescription: 'CT volume',
        instanceNumber: z + 1,
        geometry: { position: g.slicePosition(z), orientation: g.orientation, pixelSpacing: g.pixelSpacing, sliceThickness: g.sliceSpacing, sliceSpacing: g.sliceSpacing, frameOfReferenceUID },
      });
      await pacs.upload(file);
      const labels = new Uint16Array(n);
      lesions.forEach((l, k) => sliceMask(volume, z, [l.id]).forEach((v, i) => v && (labels[i] = k + 1)));
      slices.push({ sop: file.ref.sopInstanceUID, labels });
    }
    const holding = slices.map((s, z) => ({ ...s, z })).filter((s) => s.labels.some((v) => v > 0));
    const ref = (sop: string) => ({ sopInstanceUID: sop, seriesInstanceUID });
    const segments = lesions.map((l, k) => ({ number: k + 1, label: `Lesion ${k + 1} (${l.name})` }));
    // As OHIF's export writes it: Label Map SEG, RLE, one frame per slice holding a segment.
    await pacs.upload(segInstance({ type: 'LABELMAP', rle: true, rows: volume.rows, cols: volume.columns, study, seriesDescription: 'GLMed-SA propagation', segments, frames: shuffled(holding.map((s) => ({ source: ref(s.sop), pixels: s.labels })), 11) }));
    // A binary SEG of the first lesion alone, one frame per slice holding it.
    const first = holding.filter((s) => s.labels.some((v) => v === 1));
    await pacs.upload(segInstance({ type: 'BINARY', rows: volume.rows, cols: volume.columns, study, seriesDescription: 'GLMed-SA binary volume', segments: [{ number: 1, label: 'Liver lesion' }], frames: first.map((s) => ({ source: ref(s.sop), segmentNumber: 1, pixels: s.labels.map((v) => (v === 1 ? 1 : 0)) })) }));
  });

  it('each frame is a sample of its own slice, equal to that slice of the truth', async () => {
    const dataset = await buildPacsDataset(pacs.client(), { seriesDescription: 'GLMed-SA propagation' }, { seed: 1, validationFraction: 0 });
    const holding = slices.filter((s) => s.labels.some((v) => v > 0));
    assert.ok(holding.length >= 10, `the lesions span ${holding.length} of ${volume.slices} slices`);
    assert.equal(dataset.samples.length, holding.length, 'one sample per frame');
    for (const s of holding) {
      const sample = dataset.samples.find((x) => x.image.sopInstanceUID === s.sop);
      assert.ok(sample, `slice ${s.sop} is a sample`);
      assert.equal(sample.image.frame, 1);
      assert.ok(sample.mask.every((v, i) => v === (s.labels[i] ? 1 : 0)), `the sample of ${s.sop} is its slice's truth, both lesions`);
    }
    // Choosing one segment by label keeps the slices that hold it, with that lesion alone.
    const one = await buildPacsDataset(pacs.client(), { seriesDescription: 'GLMed-SA propagation', segmentLabels: ['Lesion 2 (lesion 2)'] }, { seed: 1, validationFraction: 0 });
    const second = slices.filter((s) => s.labels.some((v) => v === 2));
    assert.equal(one.samples.length, second.length);
    for (const sample of one.samples) {
      const s = slices.find((x) => x.sop === sample.image.sopInstanceUID)!;
      assert.ok(sample.mask.every((v, i) => v === (s.labels[i] === 2 ? 1 : 0)));
    }
  });

  it('a binary SEG through the volume reads alike', async () => {
    const dataset = await buildPacsDataset(pacs.client(), { seriesDescription: 'GLMed-SA binary volume' }, { seed: 1, validationFraction: 0 });
    const first = slices.filter((s) => s.labels.some((v) => v === 1));
    assert.equal(dataset.samples.length, first.length);
    for (const sample of dataset.samples) {
      const s = slices.find((x) => x.sop === sample.image.sopInstanceUID)!;
      assert.ok(sample.mask.every((v, i) => v === (s.labels[i] === 1 ? 1 : 0)));
    }
  });

  it('the dataset folder a fine-tuning job trains on holds one item per frame', async () => {
    const dataset = await buildPacsDataset(pacs.client(), { seriesDescription: 'GLMed-SA propagation' }, { seed: 1, validationFraction: 0 });
    const parent = await mkdtemp(path.join(tmpdir(), 'glmedsa-volume-seg-'));
    try {
      const dir = path.join(parent, 'data');
      const summary = await writePacsDatasetFolder(pacs.client(), dataset, dir, { site: 'A' });
      const train = await readDataset(path.join(dir, 'train'));
      assert.equal(train.count + summary.validation.items.length, dataset.samples.length);
      for (const [k, item] of train.items.entries()) {
        const { mask } = await loadDatasetItem(train, item);
        const s = slices.find((x) => x.sop === summary.train.items[k]!.image.sopInstanceUID)!;
        assert.ok(mask.every((v, i) => v === (s.labels[i] ? 1 : 0)), `item ${item.id} is its slice's truth`);
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
