/**
 * CT phantom volumes: every labelled object is one connected piece with the slice range and size
 * its legend says, structures continue from slice to slice, lesions lie inside their organs, the
 * anatomy does not depend on the site, and the HU ranges are those of a CT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ctVolume, type CtVolume } from '../../src/synth/ct-volume.js';
import { components3d, outlineIds, sliceMask, sliceTargets } from '../../src/synth/volume-objects.js';
import { overlap } from '../../src/train/metrics.js';

// a small volume that still covers the anatomy: 96 px slices, 24 of them 6.67 mm apart
const SMALL = { size: 96, slices: 24, sliceSpacingMm: 160 / 24 } as const;
const cache = new Map<string, CtVolume>();
function volume(seed: number, site = 'A', extra: Record<string, unknown> = {}): CtVolume {
  const key = `${seed}:${site}:${JSON.stringify(extra)}`;
  if (!cache.has(key)) cache.set(key, ctVolume(seed, { site, ...SMALL, ...extra }));
  return cache.get(key)!;
}

test('volumes are deterministic in the seed, and the anatomy does not depend on the site', () => {
  const a = volume(3);
  const again = ctVolume(3, { site: 'A', ...SMALL });
  assert.deepEqual(again.labels, a.labels);
  assert.deepEqual(again.hu, a.hu);
  assert.deepEqual(again.objects, a.objects);
  assert.notDeepEqual(volume(4).labels, a.labels);
  const b = volume(3, 'B');
  assert.deepEqual(b.labels, a.labels, 'the same patient at another site');
  assert.notDeepEqual(b.hu, a.hu, 'acquired differently');
  assert.equal(a.labels.length, 96 * 96 * 24);
});

test('every object is one 6-connected piece, with the slice range and voxel count of its legend', () => {
  for (const seed of [1, 2, 3]) {
    const v = volume(seed);
    const ids = new Set(v.objects.map((o) => o.id));
    assert.equal(ids.size, v.objects.length, 'ids are unique');
    for (let i = 0; i < v.labels.length; i++) if (v.labels[i]) assert.ok(ids.has(v.labels[i]!), `voxel ${i} carries id ${v.labels[i]} that the legend lacks`);
    for (const o of v.objects) {
      const { sizes } = components3d(v.columns, v.rows, v.slices, (i) => v.labels[i] === o.id);
      assert.equal(sizes.length - 1, 1, `${o.name} (seed ${seed}) is in ${sizes.length - 1} pieces`);
      assert.equal(sizes[1], o.voxels, `${o.name} voxels`);
      const n = v.columns * v.rows;
      let first = -1;
      let last = -1;
      for (let z = 0; z < v.slices; z++) {
        if (v.labels.subarray(z * n, (z + 1) * n).includes(o.id)) {
          if (first < 0) first = z;
          last = z;
        }
      }
      assert.deepEqual([o.firstSlice, o.lastSlice], [first, last], `${o.name} slice range`);
    }
    const names = v.objects.map((o) => o.name);
    assert.equal(new Set(names).size, names.length, 'names are unique');
    for (const s of ['liver', 'spleen', 'kidney', 'aorta', 'vena cava', 'vertebra', 'intervertebral disc', 'spinal canal', 'rib', 'bowel', 'stomach', 'table', 'subcutaneous fat', 'visceral fat', 'muscle']) {
      assert.ok(v.objects.some((o) => o.structure === s), `seed ${seed} has a ${s}`);
    }
  }
});

test('one to three lesions, each inside its organ with a rim of organ around it, spanning a known range of slices', () => {
  const counts = new Set<number>();
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const v = volume(seed);
    const lesions = v.objects.filter((o) => o.structure === 'lesion');
    counts.add(lesions.length);
    assert.ok(lesions.length >= 1 && lesions.length <= 3, `${lesions.length} lesions`);
    const { columns: w, rows: h } = v;
    const n = w * h;
    for (const l of lesions) {
      const organ = v.objects.find((o) => o.id === l.within);
      assert.ok(organ && ['liver', 'spleen', 'kidney'].includes(organ.structure), `${l.name} lies in ${organ?.name}`);
      assert.ok(l.lastSlice >= l.firstSlice);
      // every in-plane neighbour of a lesion voxel is the lesion or its organ
      for (let i = 0; i < v.labels.length; i++) {
        if (v.labels[i] !== l.id) continue;
        const x = i % w;
        const y = Math.floor(i / w) % h;
        for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1]) {
          if (j >= 0) assert.ok(v.labels[j] === l.id || v.labels[j] === organ!.id, `${l.name}: a neighbour of voxel ${i} is ${v.labels[j]}`);
        }
      }
      // the organ's outline on a slice includes its lesion
      const z = Math.floor((l.firstSlice + l.lastSlice) / 2);
      const outline = sliceMask(v, z, outlineIds(v.objects, organ!));
      const lesion = sliceMask(v, z, [l.id]);
      for (let i = 0; i < n; i++) if (lesion[i]) assert.equal(outline[i], 1);
    }
  }
  assert.ok(counts.size >= 2, `lesion counts vary: ${[...counts]}`);
  const chosen = volume(7, 'A', { lesions: ['liver', 'kidney'] });
  const organs = chosen.objects.filter((o) => o.structure === 'lesion').map((l) => chosen.objects.find((o) => o.id === l.within)!.structure);
  assert.deepEqual(organs, ['liver', 'kidney']);
});

test('structures continue from slice to slice (the full-size default geometry)', () => {
  const v = ctVolume(11, { site: 'A', size: 128 });
  assert.equal(v.slices, 64);
  assert.equal(v.sliceSpacingMm, 2.5);
  for (const name of ['liver', 'aorta', 'spinal canal']) {
    const o = v.objects.find((x) => x.name === name)!;
    assert.ok(o.lastSlice - o.firstSlice >= 10, `${name} spans ${o.firstSlice}..${o.lastSlice}`);
    for (let z = o.firstSlice + 2; z < o.lastSlice - 2; z++) {
      const a = sliceMask(v, z, [o.id]);
      const b = sliceMask(v, z + 1, [o.id]);
      const d = overlap(a, b).dice;
      assert.ok(d > 0.75, `${name}: Dice ${d.toFixed(3)} between slices ${z} and ${z + 1}`);
    }
  }
  for (const l of v.objects.filter((o) => o.structure === 'lesion')) assert.ok(l.lastSlice - l.firstSlice >= 2, `${l.name} spans ${l.lastSlice - l.firstSlice + 1} slices`);
});

test('HU: air around the body, fat, soft tissue and bone; every slice has targets', () => {
  const v = volume(5);
  const n = v.columns * v.rows;
  for (let z = 0; z < v.slices; z += 5) {
    const slice = v.hu.subarray(z * n, (z + 1) * n);
    let air = 0;
    let fat = 0;
    let bone = 0;
    for (let i = 0; i < n; i++) {
      if (slice[i]! < -900) air++;
      if (slice[i]! > -150 && slice[i]! < -50) fat++;
      if (slice[i]! > 350) bone++;
    }
    assert.ok(air > 0.2 * n && fat > 0.03 * n && bone > 0, `slice ${z}: air ${air}, fat ${fat}, bone ${bone}`);
    const targets = sliceTargets(v, z, 4);
    assert.ok(targets.length >= 8, `slice ${z} has ${targets.length} targets`);
  }
  const liver = v.objects.find((o) => o.name === 'liver')!;
  const z = liver.firstSlice + 1;
  const mask = sliceMask(v, z, [liver.id]);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < n; i++) if (mask[i]) (sum += v.hu[z * n + i]!), count++;
  assert.ok(sum / count > 40 && sum / count < 140, `liver mean ${sum / count} HU`);
});
