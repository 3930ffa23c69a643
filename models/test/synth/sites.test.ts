/** Site profiles: names, and a clear, measurable domain shift between sites A and B that keeps B's lesions visible. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dermoscopyPhantom } from '../../src/synth/dermoscopy.js';
import { SITES, siteProfile, type SiteProfile } from '../../src/synth/sites.js';
import { Rng } from '../../src/util/random.js';
import { distanceToMask, erode, luminance, mean } from './helpers.js';

test('siteProfile returns the presets and names the known sites for anything else', () => {
  assert.equal(siteProfile('A'), SITES['A']);
  assert.equal(siteProfile('B').name, 'B');
  assert.equal(siteProfile('C').name, 'C');
  assert.throws(() => siteProfile('Z'), /unknown site 'Z' \(known sites: A, B, C\)/);
  assert.throws(() => siteProfile('toString'), /unknown site 'toString'/);
  assert.throws(() => siteProfile('a'), /unknown site 'a'/);
});

interface SiteStats {
  rgb: [number, number, number];
  lumStd: number;
  lesionContrast: number[];
}

/** Statistics of `n` phantoms (the same lesions for every site): colour and contrast in the central field, lesion vs nearby skin. */
function stats(site: SiteProfile, n: number, S: number): SiteStats {
  const rgb: [number, number, number] = [0, 0, 0];
  let lumStd = 0;
  const lesionContrast: number[] = [];
  const central = (i: number): boolean => Math.hypot((i % S) + 0.5 - S / 2, Math.floor(i / S) + 0.5 - S / 2) < 0.3 * S;
  for (let k = 0; k < n; k++) {
    const { image, mask } = dermoscopyPhantom(new Rng(k), S, site);
    for (let c = 0; c < 3; c++) rgb[c] += mean(Array.from({ length: S * S }, (_, i) => image.data[i * 3 + c]!), central) / n;
    const lum = luminance(image);
    const m = mean(lum, central);
    lumStd += Math.sqrt(mean(Array.from(lum, (v) => (v - m) ** 2), central)) / n;
    const d = distanceToMask(mask, S, S, 12);
    const core = erode(mask, S, S, 1);
    lesionContrast.push(mean(lum, (i) => d[i]! >= 3 && d[i]! <= 10) - mean(lum, (i) => core[i] === 1));
  }
  return { rgb, lumStd, lesionContrast };
}

test('site B is cooler, flatter and shows fainter (but visible) lesions than site A', () => {
  const S = 128;
  const a = stats(SITES['A']!, 16, S);
  const b = stats(SITES['B']!, 16, S);
  const ratio = (s: SiteStats): number => s.rgb[2] / s.rgb[0];
  // colour balance: B's blue/red ratio is clearly higher, its red mean clearly lower
  assert.ok(ratio(b) > ratio(a) + 0.15, `blue/red A ${ratio(a).toFixed(3)} B ${ratio(b).toFixed(3)}`);
  assert.ok(a.rgb[0] - b.rgb[0] > 25, `red A ${a.rgb[0].toFixed(1)} B ${b.rgb[0].toFixed(1)}`);
  // contrast of the central field
  assert.ok(b.lumStd < 0.75 * a.lumStd, `luminance std A ${a.lumStd.toFixed(1)} B ${b.lumStd.toFixed(1)}`);
  // lesion against the skin around it: lower on B for every lesion, but still clearly positive
  const meanA = a.lesionContrast.reduce((s, v) => s + v, 0) / a.lesionContrast.length;
  const meanB = b.lesionContrast.reduce((s, v) => s + v, 0) / b.lesionContrast.length;
  assert.ok(meanB < 0.6 * meanA, `lesion contrast A ${meanA.toFixed(1)} B ${meanB.toFixed(1)}`);
  a.lesionContrast.forEach((ca, k) => assert.ok(b.lesionContrast[k]! < ca, `lesion ${k}: A ${ca.toFixed(1)} B ${b.lesionContrast[k]!.toFixed(1)}`));
  assert.ok(Math.min(...b.lesionContrast) > 15, `faintest B lesion ${Math.min(...b.lesionContrast).toFixed(1)} luma levels`);
});

test('site B has more hair and darker corners than site A', () => {
  const S = 128;
  let cornerA = 0;
  let cornerB = 0;
  let hairA = 0;
  let hairB = 0;
  for (let k = 0; k < 8; k++) {
    for (const [site, add] of [
      [SITES['A']!, (c: number, h: number) => ((cornerA += c), (hairA += h))],
      [SITES['B']!, (c: number, h: number) => ((cornerB += c), (hairB += h))],
    ] as const) {
      const p = dermoscopyPhantom(new Rng(k), S, site);
      const bald = dermoscopyPhantom(new Rng(k), S, { ...site, hairDensity: 0 });
      const lum = luminance(p.image);
      const lb = luminance(bald.image);
      let hair = 0;
      for (let i = 0; i < S * S; i++) if (lb[i]! - lum[i]! > 15) hair++;
      const corner = mean(lum, (i) => i % S < 6 && Math.floor(i / S) < 6) / mean(lum, (i) => Math.abs((i % S) - S / 2) < 10 && Math.abs(Math.floor(i / S) - S / 2) < 10);
      add(corner, hair);
    }
  }
  assert.ok(hairB > 4 * hairA, `hair pixels A ${hairA} B ${hairB}`);
  assert.ok(cornerB / 8 < 0.35 && cornerA / 8 > 0.6, `corner/centre brightness A ${(cornerA / 8).toFixed(2)} B ${(cornerB / 8).toFixed(2)}`);
});
