/** Dermoscopy phantoms: determinism, the mask is exactly the lesion, hair never enters the mask, speed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DERMOSCOPY_LESION_DIAMETER, dermoscopyPhantom } from '../../src/synth/dermoscopy.js';
import { phantomItem } from '../../src/synth/dataset.js';
import { SITES, type SiteProfile } from '../../src/synth/sites.js';
import { Rng } from '../../src/util/random.js';
import { componentSizes, distanceToMask, holePixels, luminance, mean } from './helpers.js';

const A = SITES['A']!;
const B = SITES['B']!;

test('the same generator state gives identical bytes; another item differs', () => {
  for (const site of [A, B]) {
    const p = dermoscopyPhantom(new Rng(7), 96, site);
    const q = dermoscopyPhantom(new Rng(7), 96, site);
    assert.deepEqual(p.image.data, q.image.data);
    assert.deepEqual(p.mask, q.mask);
    assert.equal(p.image.width, 96);
    assert.equal(p.image.height, 96);
    assert.equal(p.mask.length, 96 * 96);
    const r = dermoscopyPhantom(new Rng(8), 96, site);
    assert.notDeepEqual(r.image.data, p.image.data);
    assert.notDeepEqual(r.mask, p.mask);
  }
  const i3 = phantomItem('dermoscopy', A, 64, 5, 3);
  assert.deepEqual(phantomItem('dermoscopy', A, 64, 5, 3).image.data, i3.image.data);
  assert.notDeepEqual(phantomItem('dermoscopy', A, 64, 5, 4).image.data, i3.image.data);
  assert.notDeepEqual(phantomItem('dermoscopy', A, 64, 6, 3).image.data, i3.image.data);
});

test('the mask is one solid lesion of the stated size, much darker than the skin on site A', () => {
  const S = 160;
  for (let k = 0; k < 30; k++) {
    const { image, mask } = dermoscopyPhantom(new Rng(1000 + k), S, A);
    assert.ok(mask.every((v) => v === 0 || v === 1), 'mask values are 0/1');
    let area = 0;
    for (const v of mask) area += v;
    const diameter = (2 * Math.sqrt(area / Math.PI)) / S;
    assert.ok(
      diameter >= DERMOSCOPY_LESION_DIAMETER.min - 0.01 && diameter <= DERMOSCOPY_LESION_DIAMETER.max + 0.01,
      `phantom ${k}: equivalent diameter ${diameter.toFixed(3)} of the side`,
    );
    const comps = componentSizes(S, S, (i) => mask[i] === 1);
    assert.equal(comps.length, 1, `phantom ${k}: ${comps.length} components (${comps.join(', ')})`);
    assert.equal(holePixels(mask, S, S), 0, `phantom ${k}: the mask has holes`);
    // margin: the lesion does not touch the image border
    for (let i = 0; i < S; i++) {
      assert.ok(!mask[i] && !mask[(S - 1) * S + i] && !mask[i * S] && !mask[i * S + S - 1], `phantom ${k} touches the border`);
    }
    const lum = luminance(image);
    const inside = mean(lum, (i) => mask[i] === 1);
    const outside = mean(lum, (i) => mask[i] === 0);
    assert.ok(outside - inside > 40, `phantom ${k}: lesion ${inside.toFixed(1)} vs skin ${outside.toFixed(1)}`);
  }
});

test('hair is drawn over skin and lesion but never adds mask pixels', () => {
  const S = 128;
  const bald: SiteProfile = { ...A, hairDensity: 0 };
  const hairy: SiteProfile = { ...A, hairDensity: 30 };
  let hairOutside = 0;
  let hairInside = 0;
  for (let k = 0; k < 6; k++) {
    const p = dermoscopyPhantom(new Rng(50 + k), S, bald);
    const q = dermoscopyPhantom(new Rng(50 + k), S, hairy);
    assert.deepEqual(q.mask, p.mask, 'hair must not change the mask');
    const lp = luminance(p.image);
    const lq = luminance(q.image);
    for (let i = 0; i < S * S; i++) {
      if (lp[i]! - lq[i]! > 25) {
        if (q.mask[i]) hairInside++;
        else hairOutside++;
      }
    }
  }
  assert.ok(hairOutside > 500, `hair darkens skin pixels (${hairOutside}) that stay out of the mask`);
  assert.ok(hairInside > 20, `some hair crosses lesions (${hairInside} lesion pixels darkened)`);
});

test('the lesion changes the image only on mask pixels and a one-pixel ramp around them', () => {
  // no blur, no noise, no hair: the only difference between a pigmented and an invisible lesion is the lesion
  const clean: SiteProfile = { ...A, blurSigma: 0, noiseSigma: 0, hairDensity: 0 };
  const invisible: SiteProfile = { ...clean, lesionContrast: 0 };
  const S = 128;
  for (let k = 0; k < 8; k++) {
    const p = dermoscopyPhantom(new Rng(300 + k), S, clean);
    const q = dermoscopyPhantom(new Rng(300 + k), S, invisible);
    assert.deepEqual(p.mask, q.mask);
    const d = distanceToMask(p.mask, S, S, 4);
    let changedMask = 0;
    let area = 0;
    for (let i = 0; i < S * S; i++) {
      const changed = [0, 1, 2].some((c) => p.image.data[i * 3 + c] !== q.image.data[i * 3 + c]);
      if (p.mask[i]) {
        area++;
        if (changed) changedMask++;
      } else if (changed) {
        assert.ok(d[i]! <= 1, `phantom ${k}: pixel ${i % S},${Math.floor(i / S)} changed ${d[i]} px away from the mask`);
      }
    }
    assert.ok(changedMask >= 0.98 * area, `phantom ${k}: only ${changedMask} of ${area} mask pixels show the lesion`);
  }
});

test('phantoms of other sizes keep their proportions', () => {
  for (const S of [32, 64, 300]) {
    const { image, mask } = dermoscopyPhantom(new Rng(3), S, B);
    assert.equal(image.data.length, S * S * 3);
    let area = 0;
    for (const v of mask) area += v;
    const diameter = (2 * Math.sqrt(area / Math.PI)) / S;
    assert.ok(diameter > 0.1 && diameter < 0.42, `size ${S}: diameter ${diameter}`);
  }
  assert.throws(() => dermoscopyPhantom(new Rng(1), 8, A), /phantom size must be an integer in 16\.\.8192, got 8/);
  assert.throws(() => dermoscopyPhantom(new Rng(1), 64.5, A), /got 64\.5/);
});

