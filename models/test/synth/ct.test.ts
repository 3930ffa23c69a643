/** CT phantoms: HU ranges, the lesion sits in its organ with the site's contrast, windowing, scanner differences. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CT_WINDOW, ctPhantom, windowToRgb } from '../../src/synth/ct.js';
import { SITES } from '../../src/synth/sites.js';
import { Rng } from '../../src/util/random.js';
import { componentSizes, erode, holePixels, mean } from './helpers.js';

const A = SITES['A']!;
const B = SITES['B']!;

function std(values: ArrayLike<number>, where: (i: number) => boolean): number {
  const m = mean(values, where);
  return Math.sqrt(mean(Array.from(values, (v) => (v - m) ** 2), where));
}

test('CT phantoms are deterministic and rendered with the soft-tissue window', () => {
  const p = ctPhantom(new Rng(11), 96, A);
  const q = ctPhantom(new Rng(11), 96, A);
  assert.deepEqual(p.hu, q.hu);
  assert.deepEqual(p.mask, q.mask);
  assert.deepEqual(p.image.data, q.image.data);
  assert.notDeepEqual(ctPhantom(new Rng(12), 96, A).hu, p.hu);
  assert.deepEqual(p.image.data, windowToRgb(p.hu, 96, CT_WINDOW.center, CT_WINDOW.width).data);
  assert.deepEqual(CT_WINDOW, { center: 40, width: 400 });
});

test('windowToRgb maps the window linearly to 0..255 and clips outside it', () => {
  const img = windowToRgb(Int16Array.from([-1000, -160, 40, 240, 1000, 140, -60, 0, 80]), 3, 40, 400);
  assert.deepEqual(Array.from({ length: 9 }, (_, i) => img.data[i * 3]), [0, 0, 128, 255, 255, 191, 64, 102, 153]);
  for (let i = 0; i < 9; i++) assert.ok(img.data[i * 3] === img.data[i * 3 + 1] && img.data[i * 3] === img.data[i * 3 + 2]);
  assert.throws(() => windowToRgb(new Int16Array(5), 3), /5 HU values do not fit a 3x3 image/);
  assert.throws(() => windowToRgb(new Int16Array(9), 3, 40, 0), /window width must be positive/);
});

test('HU ranges: air, fat, soft tissue, bone; the lesion lies inside its organ and differs by the site contrast', () => {
  const S = 160;
  const organs = new Set<string>();
  for (let k = 0; k < 16; k++) {
    const p = ctPhantom(new Rng(200 + k), S, A);
    organs.add(p.organ);
    const corner = (i: number): boolean => i % S < 10 && Math.floor(i / S) < 10;
    assert.ok(Math.abs(mean(p.hu, corner) + 1000) < 5, `air ${mean(p.hu, corner)}`);
    let max = -Infinity;
    let fat = 0;
    for (const v of p.hu) {
      if (v > max) max = v;
      if (v > -150 && v < -60) fat++;
    }
    assert.ok(max > 600, `bone reaches ${max} HU`);
    assert.ok(fat > 0.03 * S * S, `fat pixels ${fat}`);

    // the lesion: one solid region, inside the organ and inside the body
    let area = 0;
    for (let i = 0; i < S * S; i++) {
      if (!p.mask[i]) continue;
      area++;
      assert.equal(p.organMask[i], 1, `lesion pixel ${i} outside the ${p.organ}`);
      assert.ok(p.hu[i]! > -200, `lesion pixel ${i} at ${p.hu[i]} HU`);
    }
    assert.ok(area >= 12, `lesion of ${area} pixels`);
    assert.equal(componentSizes(S, S, (i) => p.mask[i] === 1).length, 1);
    assert.equal(holePixels(p.mask, S, S), 0);

    // soft tissue values and the lesion contrast, away from edges (blur) with the noise averaged out
    assert.ok(p.organHu > 25 && p.organHu < 70, `${p.organ} at ${p.organHu} HU`);
    const nominal = p.lesionHu - p.organHu;
    const c = A.ct.lesionContrastHu;
    assert.ok(Math.abs(nominal) >= 0.8 * c - 1e-9 && Math.abs(nominal) <= 1.2 * c + 1e-9, `nominal contrast ${nominal}`);
    const lesionCore = erode(p.mask, S, S, 1);
    const organOnly = new Uint8Array(S * S);
    for (let i = 0; i < S * S; i++) organOnly[i] = p.organMask[i] && !p.mask[i] ? 1 : 0;
    const organCore = erode(organOnly, S, S, 2);
    const lesionMean = mean(p.hu, (i) => lesionCore[i] === 1);
    const organMean = mean(p.hu, (i) => organCore[i] === 1);
    assert.ok(Math.abs(organMean - p.organHu) < 6, `${p.organ} measured ${organMean.toFixed(1)} nominal ${p.organHu.toFixed(1)}`);
    if (Number.isFinite(lesionMean)) {
      const measured = lesionMean - organMean;
      assert.ok(Math.sign(measured) === Math.sign(nominal), `lesion contrast ${measured.toFixed(1)} vs nominal ${nominal.toFixed(1)}`);
      assert.ok(Math.abs(measured - nominal) < 0.3 * Math.abs(nominal) + 5, `lesion contrast ${measured.toFixed(1)} vs nominal ${nominal.toFixed(1)}`);
    }
  }
  assert.ok(organs.has('liver'), `lesion organs ${[...organs].join(', ')}`);
});

test('site B scans are noisier, offset and show a lower lesion contrast than site A', () => {
  const S = 128;
  let noiseA = 0;
  let noiseB = 0;
  let offset = 0;
  const n = 6;
  for (let k = 0; k < n; k++) {
    const a = ctPhantom(new Rng(k), S, A);
    const b = ctPhantom(new Rng(k), S, B);
    assert.deepEqual(b.mask, a.mask, 'the same seed gives the same anatomy and lesion on every site');
    const air = (i: number): boolean => i % S < 12 && Math.floor(i / S) < 12;
    noiseA += std(a.hu, air) / n;
    noiseB += std(b.hu, air) / n;
    offset += (mean(b.hu, air) - mean(a.hu, air)) / n;
    assert.ok(Math.abs(b.lesionHu - b.organHu) < Math.abs(a.lesionHu - a.organHu));
  }
  assert.ok(Math.abs(noiseA - A.ct.noiseHu) < 0.3 * A.ct.noiseHu, `site A noise ${noiseA.toFixed(1)} HU`);
  assert.ok(Math.abs(noiseB - B.ct.noiseHu) < 0.3 * B.ct.noiseHu, `site B noise ${noiseB.toFixed(1)} HU`);
  assert.ok(Math.abs(offset - (B.ct.huOffset - A.ct.huOffset)) < 3, `offset ${offset.toFixed(1)} HU`);
});
