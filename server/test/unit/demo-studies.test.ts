/**
 * The demo CT is a volume the viewer can reconstruct: 64 slices of 256 x 256 at 2.5 mm in one frame
 * of reference, positions along the normal 2.5 mm apart, as OHIF 3.13's isDisplaySetReconstructable
 * checks them; the pixels are the phantom volume's HU, two lesions in different organs, each slice's
 * lesion point inside a lesion. seedDemo puts it in a real Orthanc and replaces the old 8-slice CT
 * study of earlier versions.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { sliceMask } from '@glmedsa/models';
import { DEMO_STUDIES, LEGACY_CT_STUDY, buildDemoStudies, demoCtVolume, largestLesion } from '../../src/demo/demo-studies.js';
import { seedDemo } from '../../src/demo/seed.js';
import { ctSlice, newUid } from '../../src/dicom/factory.js';
import { useOrthanc } from '../helpers/orthanc.js';

type Dataset = Record<string, any>;
const parse = (bytes: Uint8Array): Dataset => {
  const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict) as Dataset;
};

/** OHIF 3.13's isDisplaySetReconstructable, as platform/core/src/utils/isDisplaySetReconstructable.ts reads a single-frame series. */
function reconstructable(instances: Dataset[]): { value: boolean; why?: string } {
  if (instances.length < 2) return { value: false, why: 'one image' };
  const first = instances[0]!;
  for (const d of instances) {
    if (!d['ImagePositionPatient'] || !d['ImageOrientationPatient']) return { value: false, why: 'no position or orientation' };
    if (d['Rows'] !== first['Rows'] || d['Columns'] !== first['Columns'] || d['SamplesPerPixel'] !== first['SamplesPerPixel']) return { value: false, why: 'sizes differ' };
    for (let i = 0; i < 6; i++) if (Math.abs(d['ImageOrientationPatient'][i] - first['ImageOrientationPatient'][i]) > 0.01) return { value: false, why: 'orientations differ' };
  }
  const iop = first['ImageOrientationPatient'] as number[];
  const normal = [iop[1]! * iop[5]! - iop[2]! * iop[4]!, iop[2]! * iop[3]! - iop[0]! * iop[5]!, iop[0]! * iop[4]! - iop[1]! * iop[3]!];
  const along = (d: Dataset) => (d['ImagePositionPatient'] as number[]).reduce((s: number, v: number, i: number) => s + v * normal[i]!, 0);
  const sorted = [...instances].sort((a, b) => along(a) - along(b));
  const gaps = sorted.slice(1).map((d, i) => Math.hypot(...(d['ImagePositionPatient'] as number[]).map((v, k) => v - sorted[i]!['ImagePositionPatient'][k])));
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  if (gaps.some((g) => Math.abs(g - mean) > 0.2 * mean)) return { value: false, why: 'uneven spacing' };
  return { value: true };
}

describe('the demo CT volume', () => {
  const { files, series } = buildDemoStudies();
  const ct = series.find((s) => /^CT/.test(s.description))!;
  const ctFiles = files.filter((f) => f.instance.studyInstanceUID === DEMO_STUDIES.ct);
  const datasets = ctFiles.map((f) => parse(f.bytes));
  const volume = demoCtVolume();

  test('64 slices of 256 x 256 at 2.5 mm, one frame of reference, positions 2.5 mm apart head to feet: reconstructable', () => {
    assert.equal(datasets.length, 64);
    assert.equal(ct.instances.length, 64);
    const frames = new Set(datasets.map((d) => d['FrameOfReferenceUID']));
    assert.equal(frames.size, 1);
    assert.match([...frames][0], /^2\.25\.\d+$/);
    assert.equal(new Set(datasets.map((d) => d['SeriesInstanceUID'])).size, 1);
    datasets.forEach((d, z) => {
      assert.equal(d['Rows'], 256);
      assert.equal(d['Columns'], 256);
      assert.deepEqual(d['ImageOrientationPatient'], [1, 0, 0, 0, 1, 0]);
      assert.equal(Number(d['SliceThickness']), 2.5);
      assert.equal(Number(d['SpacingBetweenSlices']), 2.5);
      assert.equal(d['InstanceNumber'], z + 1);
      assert.equal(d['Modality'], 'CT');
      if (z > 0) {
        const prev = datasets[z - 1]!['ImagePositionPatient'] as number[];
        const pos = d['ImagePositionPatient'] as number[];
        assert.deepEqual([pos[0], pos[1]], [prev[0], prev[1]]);
        assert.ok(Math.abs(prev[2]! - pos[2]! - 2.5) < 1e-6, `slice ${z} lies 2.5 mm below slice ${z - 1}`);
        assert.ok(Math.abs(Number(d['SliceLocation']) - pos[2]!) < 1e-3);
      }
      const ps = (d['PixelSpacing'] as number[]).map(Number);
      assert.equal(ps[0], ps[1]);
      assert.ok(ps[0]! * 256 > 300 && ps[0]! * 256 < 450, `a field of view of ${ps[0]! * 256} mm`);
    });
    assert.deepEqual(reconstructable(datasets), { value: true });
    // the same check refuses a series with a slice missing
    assert.equal(reconstructable(datasets.filter((_, z) => z !== 20)).why, 'uneven spacing');
  });

  test('the pixels are the phantom volume in HU; two lesions in different organs; each lesion point inside its lesion', () => {
    const n = 256 * 256;
    for (const z of [0, 31, 63]) {
      const d = datasets[z]!;
      const stored = new Int16Array(d['PixelData'][0] as ArrayBuffer);
      const slope = Number(d['RescaleSlope']);
      const intercept = Number(d['RescaleIntercept']);
      for (let i = 0; i < n; i += 97) assert.equal(stored[i]! * slope + intercept, volume.hu[z * n + i]);
    }
    const lesions = volume.objects.filter((o) => o.structure === 'lesion');
    assert.equal(lesions.length, 2);
    const organs = lesions.map((l) => volume.objects.find((o) => o.id === l.within)!.structure);
    assert.deepEqual([...new Set(organs)].sort(), ['kidney', 'liver']);
    ct.instances.forEach((inst, z) => {
      const onSlice = lesions.some((l) => z >= l.firstSlice && z <= l.lastSlice);
      assert.equal(inst.lesion !== null, onSlice, `slice ${z}: a lesion point only where a lesion is`);
      if (inst.lesion) {
        const l = largestLesion(volume, z)!;
        assert.equal(sliceMask(volume, z, [l.id])[inst.lesion.y * 256 + inst.lesion.x], 1);
      }
    });
    const k = ct.lesionIndex;
    assert.ok(ct.instances[k]!.lesion);
    const area = (z: number) => (largestLesion(volume, z)?.area ?? 0);
    for (let z = 0; z < 64; z++) assert.ok(area(z) <= area(k));
  });

  describe('in a real Orthanc', () => {
    const orthanc = useOrthanc();

    test('seedDemo replaces the 8-slice CT study of earlier versions with the volume, once', async () => {
      const handle = orthanc.handle;
      // what an earlier version left: a CT study under the old UID and a demo.json without a version
      const study = { StudyInstanceUID: LEGACY_CT_STUDY, PatientID: 'DEMO-0002', PatientName: 'Demo^Abdomen', StudyID: 'CT1', StudyDescription: 'Abdominal CT phantoms (synthetic)' };
      await orthanc.upload(ctSlice({ rows: 16, cols: 16, hu: new Int16Array(256), study, seriesInstanceUID: newUid() }));
      await mkdir(handle.dataDir, { recursive: true });
      await writeFile(path.join(handle.dataDir, 'demo.json'), JSON.stringify([{ description: 'CT slices (16-bit, HU)', instances: [] }]));
      const lines: string[] = [];
      const seeded = await seedDemo(handle, (l) => lines.push(l));
      assert.ok(lines.some((l) => /replacing the old demo CT slices/.test(l)), lines.join('\n'));
      const client = orthanc.client();
      const studies = (await client.search('/studies')).map((s) => s['0020000D']?.Value?.[0]);
      assert.ok(!studies.includes(LEGACY_CT_STUDY), 'the old CT study is gone');
      assert.ok(studies.includes(DEMO_STUDIES.ct) && studies.includes(DEMO_STUDIES.dermoscopy));
      assert.equal(seeded.find((s) => /^CT/.test(s.description))!.instances.length, 64);
      const record = JSON.parse(await readFile(path.join(handle.dataDir, 'demo.json'), 'utf8'));
      assert.equal(record.version, 2);
      // a second start finds it all and writes nothing
      const again: string[] = [];
      await seedDemo(handle, (l) => again.push(l));
      assert.deepEqual(again, []);
    });
  });
});
