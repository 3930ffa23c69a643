/** Generic scenes: deterministic, grey or colour, and every labelled shape visibly differs from what surrounds it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { genericScene } from '../../src/synth/scenes.js';
import { components3d } from '../../src/synth/volume-objects.js';
import { luminance } from './helpers.js';

test('scenes are deterministic in the seed and come in grey and in colour', () => {
  const a = genericScene(1, 96);
  assert.deepEqual(genericScene(1, 96), a);
  assert.notDeepEqual(genericScene(2, 96).image.data, a.image.data);
  let grey = 0;
  let colour = 0;
  for (let s = 0; s < 30; s++) {
    const { image } = genericScene(s, 48);
    let isGrey = true;
    for (let i = 0; i < image.data.length && isGrey; i += 3) isGrey = image.data[i] === image.data[i + 1] && image.data[i] === image.data[i + 2];
    if (isGrey) grey++;
    else colour++;
  }
  assert.ok(grey >= 5 && colour >= 5, `${grey} grey and ${colour} colour scenes`);
});

test('each visible shape piece differs from the ring of pixels around it', () => {
  let pieces = 0;
  let visible = 0;
  for (let s = 0; s < 20; s++) {
    const S = 128;
    const scene = genericScene(100 + s, S);
    const lum = luminance(scene.image);
    const rgb = scene.image.data;
    for (let k = 1; k <= scene.count; k++) {
      const { labels, sizes } = components3d(S, S, 1, (i) => scene.labels[i] === k);
      for (let c = 1; c < sizes.length; c++) {
        if (sizes[c]! < 40) continue;
        // mean colour inside vs in a 2-pixel ring outside
        const inside = [0, 0, 0];
        const ring = [0, 0, 0];
        let ni = 0;
        let nr = 0;
        for (let i = 0; i < S * S; i++) {
          const x = i % S;
          const y = (i - x) / S;
          if (labels[i] === c) {
            for (let ch = 0; ch < 3; ch++) inside[ch]! += rgb[3 * i + ch]!;
            ni++;
            continue;
          }
          let near = false;
          for (let dy = -2; dy <= 2 && !near; dy++) for (let dx = -2; dx <= 2 && !near; dx++) near = x + dx >= 0 && x + dx < S && y + dy >= 0 && y + dy < S && labels[(y + dy) * S + x + dx] === c;
          if (near) {
            for (let ch = 0; ch < 3; ch++) ring[ch]! += rgb[3 * i + ch]!;
            nr++;
          }
        }
        if (!nr) continue;
        pieces++;
        const d = Math.hypot(...inside.map((v, ch) => v / ni - ring[ch]! / nr));
        if (d > 12) visible++;
      }
    }
    assert.ok(lum.length === S * S);
  }
  assert.ok(pieces > 40, `${pieces} pieces`);
  assert.ok(visible / pieces > 0.85, `${visible} of ${pieces} pieces stand out from their surroundings`);
});
