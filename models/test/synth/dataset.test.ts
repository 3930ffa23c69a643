/** Dataset folders: write/read round trip, stable items, and the errors a bad folder gives. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { readPng, writeGrayPng, writeMaskPng, writePng } from '../../src/image/png.js';
import { rgbImage } from '../../src/image/rgb-image.js';
import { isInsidePath, itemSeed, loadDatasetItem, phantomItem, readDataset, writePhantomDataset } from '../../src/synth/dataset.js';
import { SITES } from '../../src/synth/sites.js';
import type { ProgressEvent } from '../../src/util/progress.js';
import { tempDir } from '../helpers/paths.js';

const root = tempDir('glmedsa-synth-');

async function copyDir(from: string, to: string): Promise<void> {
  await fs.cp(from, to, { recursive: true });
}

async function editManifest(dir: string, edit: (m: Record<string, any>) => void): Promise<void> {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, any>;
  edit(m);
  await fs.writeFile(file, JSON.stringify(m));
}

let base: string | undefined;
/** A small dermoscopy dataset written once (site B, 4 items of 64 px, seed 9). */
async function baseDataset(): Promise<string> {
  if (!base) {
    base = path.join(root, 'base');
    await writePhantomDataset(base, { kind: 'dermoscopy', site: 'B', n: 4, size: 64, seed: 9 });
  }
  return base;
}

test('write -> read round trip gives the generated phantoms back', async () => {
  const dir = path.join(root, 'roundtrip');
  const events: ProgressEvent[] = [];
  const written = await writePhantomDataset(dir, { kind: 'ct', site: 'A', n: 3, size: 48, seed: 4 }, (e) => events.push(e));
  assert.deepEqual(events.map((e) => e.done), [0, 1, 2, 3]);
  assert.ok(events.every((e) => e.total === 3 && e.task === 'synth ct site A'));
  const ds = await readDataset(dir);
  assert.equal(ds.dir, dir);
  assert.deepEqual({ ...ds, dir: undefined }, { ...written, dir: undefined });
  assert.equal(ds.format, 'glmedsa-dataset');
  assert.equal(ds.version, 1);
  assert.equal(ds.kind, 'ct');
  assert.equal(ds.site, 'A');
  assert.equal(ds.size, 48);
  assert.equal(ds.seed, 4);
  assert.equal(ds.count, 3);
  assert.deepEqual(
    ds.items.map((i) => [i.id, i.image, i.mask]),
    [0, 1, 2].map((i) => [`00000${i}`, `images/00000${i}.png`, `masks/00000${i}.png`]),
  );
  for (let i = 0; i < 3; i++) {
    const item = ds.items[i]!;
    const { image, mask } = await loadDatasetItem(ds, item);
    const expected = phantomItem('ct', SITES['A']!, 48, 4, i);
    assert.deepEqual(image, expected.image);
    assert.deepEqual(mask, expected.mask);
    assert.equal(item.lesion_pixels, mask.reduce((s, v) => s + v, 0));
    assert.ok(item.lesion_pixels > 0);
  }
  // the mask PNG is 0/255 gray
  const raw = await readPng(path.join(dir, 'masks/000000.png'));
  assert.ok(raw.data.every((v) => v === 0 || v === 255));
});

test('item i does not depend on the number of items, and sites share lesions for one seed', async () => {
  const two = path.join(root, 'two');
  await writePhantomDataset(two, { kind: 'dermoscopy', site: 'B', n: 2, size: 64, seed: 9 });
  const four = await baseDataset();
  for (const f of ['images/000001.png', 'masks/000001.png']) {
    assert.deepEqual(readFileSync(path.join(two, f)), readFileSync(path.join(four, f)), f);
  }
  assert.deepEqual(phantomItem('dermoscopy', SITES['A']!, 64, 9, 1).mask, phantomItem('dermoscopy', SITES['B']!, 64, 9, 1).mask);
  const seeds = new Set<number>();
  for (let s = 0; s < 20; s++) for (let i = 0; i < 50; i++) seeds.add(itemSeed(s, i));
  assert.equal(seeds.size, 1000, 'item seeds do not collide');
  assert.notEqual(itemSeed(2 ** 32, 0), itemSeed(0, 0));
});

test('a folder without a manifest, or with a broken one, is refused with the reason', async () => {
  const empty = path.join(root, 'empty');
  await fs.mkdir(empty, { recursive: true });
  await assert.rejects(readDataset(empty), /empty is not a dataset folder: it has no manifest\.json \(make one with 'glmedsa synth'\)/);

  const bad = path.join(root, 'badjson');
  await copyDir(await baseDataset(), bad);
  await fs.writeFile(path.join(bad, 'manifest.json'), '{"format": ');
  await assert.rejects(readDataset(bad), /manifest\.json is not valid JSON/);

  const cases: Array<[string, (m: Record<string, any>) => void, RegExp]> = [
    ['format', (m) => (m['format'] = 'other'), /not a valid dataset manifest: format: /],
    ['kind', (m) => (m['kind'] = 'mri'), /not a valid dataset manifest: kind: /],
    ['count', (m) => (m['count'] = 7), /count: is 7 but the manifest lists 4 items/],
    ['dup', (m) => (m['items'][1].id = m['items'][0].id), /items\.1\.id: duplicate id '000000'/],
    ['pixels', (m) => (m['items'][2].lesion_pixels = -1), /items\.2\.lesion_pixels: /],
    ['dotdot', (m) => (m['items'][0].image = '../x.png'), /items\.0\.image: must be a relative path inside the dataset folder/],
    ['nested', (m) => (m['items'][3].mask = 'masks/../../x.png'), /items\.3\.mask: must be a relative path inside the dataset folder/],
    ['absolute', (m) => (m['items'][1].image = '/etc/passwd'), /items\.1\.image: must be a relative path inside the dataset folder/],
    ['id', (m) => (m['items'][0].id = '../up'), /items\.0\.id: must be letters, digits/],
  ];
  for (const [name, edit, message] of cases) {
    const dir = path.join(root, `bad-${name}`);
    await copyDir(await baseDataset(), dir);
    await editManifest(dir, edit);
    await assert.rejects(readDataset(dir), message, name);
  }
});

test('missing files are listed', async () => {
  const dir = path.join(root, 'missing');
  await copyDir(await baseDataset(), dir);
  await fs.rm(path.join(dir, 'images/000001.png'));
  await assert.rejects(readDataset(dir), /missing: 1 file listed in manifest\.json is missing: images\/000001\.png$/);
  await fs.rm(path.join(dir, 'masks/000003.png'));
  await assert.rejects(readDataset(dir), /2 files listed in manifest\.json are missing: images\/000001\.png, masks\/000003\.png/);
});

test('loading checks that the mask matches the image and reads any non-zero sample as lesion', async () => {
  const dir = path.join(root, 'masksize');
  await copyDir(await baseDataset(), dir);
  await writeMaskPng(path.join(dir, 'masks/000002.png'), new Uint8Array(32 * 32), 32, 32);
  const ds = await readDataset(dir);
  await assert.rejects(loadDatasetItem(ds, ds.items[2]!), /dataset item '000002': mask masks\/000002\.png is 32x32 but image images\/000002\.png is 64x64/);
  await fs.writeFile(path.join(dir, 'images/000001.png'), 'not a png');
  await assert.rejects(loadDatasetItem(ds, ds.items[1]!), /dataset item '000001': cannot read image images\/000001\.png: not a PNG file/);
  await assert.rejects(loadDatasetItem(ds, { ...ds.items[0]!, mask: '../secret.png' }), /path '\.\.\/secret\.png' is outside the dataset folder/);
});

test('datasets made elsewhere: non-square images, other paths, gray or colour masks', async () => {
  const dir = path.join(root, 'foreign');
  await fs.mkdir(path.join(dir, 'cases/a'), { recursive: true });
  const image = rgbImage(40, 24);
  for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7) % 256;
  await writePng(path.join(dir, 'cases/a/scan.png'), image);
  const gray = new Uint8Array(40 * 24);
  gray[5] = 1; // a value of 1 still counts
  gray[100] = 200;
  await writeGrayPng(path.join(dir, 'cases/a/label.png'), { width: 40, height: 24, data: gray });
  const colour = rgbImage(40, 24);
  colour.data[3 * 7 + 2] = 9; // only blue non-zero
  await writePng(path.join(dir, 'cases/a/label-rgb.png'), colour);
  const manifest = {
    format: 'glmedsa-dataset',
    version: 1,
    kind: 'ct',
    site: 'hospital-x',
    size: null,
    seed: null,
    count: 2,
    items: [
      { id: 'case-a', image: 'cases/a/scan.png', mask: 'cases/a/label.png', lesion_pixels: 2 },
      { id: 'case-a.rgb', image: 'cases/a/scan.png', mask: './cases/a/label-rgb.png', lesion_pixels: 1 },
    ],
  };
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  const ds = await readDataset(dir);
  assert.equal(ds.size, null);
  const a = await loadDatasetItem(ds, ds.items[0]!);
  assert.equal(a.image.width, 40);
  assert.equal(a.image.height, 24);
  assert.deepEqual(a.image.data, image.data);
  assert.deepEqual([...a.mask.keys()].filter((i) => a.mask[i]), [5, 100]);
  const b = await loadDatasetItem(ds, ds.items[1]!);
  assert.deepEqual([...b.mask.keys()].filter((i) => b.mask[i]), [7]);
});

test('path checks and writer argument checks', async () => {
  for (const ok of ['a.png', 'images/a.png', './a.png', 'a/./b.png', 'a..b.png']) assert.ok(isInsidePath(ok), ok);
  for (const bad of ['', '.', '..', '../a', 'a/../../b', '/abs', 'C:\\x', 'a\\b', 'a\0b']) assert.ok(!isInsidePath(bad), bad);
  const dir = path.join(root, 'args');
  await assert.rejects(writePhantomDataset(dir, { kind: 'dermoscopy', site: 'Q', n: 1, size: 64, seed: 0 }), /unknown site 'Q'/);
  await assert.rejects(writePhantomDataset(dir, { kind: 'dermoscopy', site: 'A', n: 0, size: 64, seed: 0 }), /positive integer, got 0/);
  await assert.rejects(writePhantomDataset(dir, { kind: 'dermoscopy', site: 'A', n: 1, size: 8, seed: 0 }), /16\.\.8192, got 8/);
  await assert.rejects(writePhantomDataset(dir, { kind: 'mri' as 'ct', site: 'A', n: 1, size: 64, seed: 0 }), /unknown phantom kind 'mri'/);
});
