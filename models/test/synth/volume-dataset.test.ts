/**
 * Labelled volume datasets: NIfTI files that an independent reader (nifti-reader-js) reads with the
 * geometry of the DICOM series, slices as ordinary dataset items whose labels and masks are the
 * volume's, the manifest extended without breaking what reads 2D datasets, and `glmedsa synth
 * --volumes` as a user runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import * as nifti from 'nifti-reader-js';
import { readPng } from '../../src/image/png.js';
import { ctVolume } from '../../src/synth/ct-volume.js';
import { itemSeed, loadDatasetItem, readDataset } from '../../src/synth/dataset.js';
import { readNifti } from '../../src/synth/nifti.js';
import { loadItemLabels, sliceLesionMask, volumeGeometry, volumeSliceImage, writeVolumeDataset } from '../../src/synth/volume-dataset.js';
import { datasetSource } from '../../src/train/dataset-source.js';
import { runCli } from '../cli/run-cli.js';
import { tempDir } from '../helpers/paths.js';

const root = tempDir('glmedsa-volumes-');
const OPTIONS = { site: 'A', volumes: 2, seed: 5, size: 64, slices: 12, sliceSpacingMm: 160 / 12, every: 2 } as const;
let written: string | undefined;
async function dataset(): Promise<string> {
  if (!written) {
    written = path.join(root, 'vol');
    await writeVolumeDataset(written, OPTIONS);
  }
  return written;
}

test('the NIfTI files hold the volume with the DICOM series geometry, as nifti-reader-js reads them', async () => {
  const dir = await dataset();
  const d = await readDataset(dir);
  const entry = d.volumes![1]!;
  const v = ctVolume(itemSeed(OPTIONS.seed, 1), { ...OPTIONS, site: 'A' });
  assert.equal(entry.seed, itemSeed(OPTIONS.seed, 1));
  const raw = gunzipSync(await fs.readFile(path.join(dir, entry.image)));
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  assert.ok(nifti.isNIFTI1(buf));
  const header = nifti.readHeader(buf) as nifti.NIFTI1;
  assert.deepEqual(header.dims.slice(0, 4), [3, 64, 64, 12]);
  assert.equal(header.datatypeCode, nifti.NIFTI1.TYPE_INT16);
  const image = new Int16Array(nifti.readImage(header, buf));
  assert.deepEqual(image, v.hu);
  // voxel (i, j, k) -> RAS mm: LPS (ImagePositionPatient of slice k plus i, j pixel steps) with x and y negated
  const g = volumeGeometry(v);
  for (const [i, j, k] of [[0, 0, 0], [10, 20, 5], [63, 63, 11]] as const) {
    const lps = g.slicePosition(k);
    const expected = [-(lps[0] + i * g.pixelSpacing[1]), -(lps[1] + j * g.pixelSpacing[0]), lps[2]];
    const affine = header.affine;
    const ras = [0, 1, 2].map((r) => affine[r]![0]! * i + affine[r]![1]! * j + affine[r]![2]! * k + affine[r]![3]!);
    ras.forEach((x, r) => assert.ok(Math.abs(x - expected[r]!) < 1e-3, `voxel ${i},${j},${k} axis ${r}: ${x} vs ${expected[r]}`));
    assert.equal(header.qform_code, 1);
    assert.equal(header.sform_code, 1);
  }
  const labels = await readNifti(path.join(dir, entry.labels));
  assert.deepEqual(labels.data, v.labels);
  assert.deepEqual(labels.dims, [64, 64, 12]);
});

test('slices are dataset items: the windowed image, the lesions as the mask, the object ids as labels', async () => {
  const dir = await dataset();
  const d = await readDataset(dir);
  assert.equal(d.count, 2 * 6, 'every second slice of two volumes');
  assert.equal(d.kind, 'ct');
  const v = ctVolume(itemSeed(OPTIONS.seed, 0), { ...OPTIONS, site: 'A' });
  for (const item of d.items.filter((it) => it.volume === 'v0000')) {
    const z = item.slice!;
    assert.equal(z % 2, 0);
    const { image, mask } = await loadDatasetItem(d, item);
    assert.deepEqual(image.data, volumeSliceImage(v, z).data);
    assert.deepEqual(mask, sliceLesionMask(v, z));
    assert.equal(item.lesion_pixels, mask.reduce((s, x) => s + x, 0));
    const labels = await loadItemLabels(d, item);
    assert.deepEqual(labels, v.labels.slice(z * 64 * 64, (z + 1) * 64 * 64));
    assert.equal((await readPng(path.join(dir, item.labels!))).width, 64);
  }
  assert.deepEqual(d.volumes![0]!.objects.map((o) => o.name), v.objects.map((o) => o.name));
  // the lesion-mask readers (fine-tuning, evaluation) see only the slices that hold a lesion
  const lesionItems = d.items.filter((it) => it.lesion_pixels > 0).length;
  assert.equal((await datasetSource(dir)).count, lesionItems);
});

test('the manifest checks the volume references of its items', async () => {
  const dir = path.join(root, 'bad');
  await fs.cp(await dataset(), dir, { recursive: true });
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(await fs.readFile(file, 'utf8'));
  m.items[0].volume = 'v9999';
  await fs.writeFile(file, JSON.stringify(m));
  await assert.rejects(readDataset(dir), /'v9999' is not among the manifest's volumes/);
  m.items[0].volume = 'v0000';
  delete m.items[0].labels;
  await fs.writeFile(file, JSON.stringify(m));
  await assert.rejects(readDataset(dir), /needs its slice and labels/);
  await fs.writeFile(file, JSON.stringify({ ...m, items: m.items.slice(1), count: m.count - 1 }));
  await fs.rm(path.join(dir, m.volumes[0].labels));
  await assert.rejects(readDataset(dir), /missing: volumes\/v0000\/labels.nii.gz/);
});

test('glmedsa synth --volumes writes a volume dataset and says what it wrote', async () => {
  const out = path.join(root, 'cli');
  const r = await runCli(['synth', '--site', 'C', '--kind', 'ct', '--volumes', '1', '--size', '48', '--slices', '6', '--slice-spacing', '5', '--lesions', '2', '--phase', 'portal', '--seed', '3', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote 1 CT phantom volume of site C \(48x48x6, 5 mm slices, seed 3\) to .*: \d+ labelled objects, 2 lesions, 6 slices as items/);
  const d = await readDataset(out);
  assert.equal(d.volumes![0]!.phase, 'portal venous');
  assert.equal(d.volumes![0]!.slice_spacing_mm, 5);
  const bad = await runCli(['synth', '--site', 'A', '--volumes', '1', '--out', path.join(root, 'x')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--volumes needs --kind ct/);
  const both = await runCli(['synth', '--site', 'A', '--kind', 'ct', '--volumes', '1', '--n', '3', '--out', path.join(root, 'y')]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either --n .* or --volumes/);
});
