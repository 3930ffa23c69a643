/**
 * The prompts made from a mask: its interior point lies inside it even when its centroid does not,
 * and a mask made into low-resolution logits comes back as the same mask through SAM's own
 * upsampling (so a seed given as a mask prompts the model with that mask).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRle } from '../../src/preprocess/mask-encoding.js';
import { maskGeometry, upsampleLogitsToOriginal } from '../../src/preprocess/postprocess.js';
import { maskPromptLogits } from '../../src/preprocess/mask-prompt.js';
import { interiorPoint } from '../../src/propagate/mask-prompt.js';
import { runStats } from '../../src/propagate/runs.js';
import { DEFAULT_STOP_RULE, measureSlice, stability, stopCause, stopRule } from '../../src/propagate/stop-rule.js';
import { float32 } from '../../src/tensor.js';
import { regionCentre } from '../../src/train/clicks.js';

function crescent(w: number, h: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const outer = (x - 40) ** 2 + (y - 30) ** 2 < 22 ** 2;
      const inner = (x - 48) ** 2 + (y - 30) ** 2 < 18 ** 2;
      if (outer && !inner) m[y * w + x] = 1;
    }
  }
  return m;
}

test('the interior point of a crescent lies on the crescent (its centroid does not) and is the centre of the whole mask', () => {
  const w = 90;
  const h = 64;
  const m = crescent(w, h);
  const counts = encodeRle(m, w, h).counts;
  const s = runStats(counts, w);
  const c = s.centroid!;
  assert.equal(m[Math.round(c.y) * w + Math.round(c.x)], 0, 'the centroid falls in the hollow');
  const p = interiorPoint(counts, w, s.bbox)!;
  assert.equal(m[p.y * w + p.x], 1);
  assert.deepEqual(p, regionCentre(m, w, h));
  assert.equal(interiorPoint(encodeRle(new Uint8Array(w * h), w, h).counts, w, null), null);
});

test('a mask made into the mask prompt comes back through SAM upsampling, for wide, tall and square images', () => {
  for (const [w, h] of [
    [120, 80],
    [64, 150],
    [100, 100],
  ] as const) {
    const m = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (((x - w * 0.4) / (w * 0.2)) ** 2 + ((y - h * 0.55) / (h * 0.25)) ** 2 < 1) m[y * w + x] = 1;
    const L = 64;
    const logits = maskPromptLogits(m, w, h, 256, L, 8);
    const back = upsampleLogitsToOriginal(float32([1, 1, L, L], logits), maskGeometry([h, w], 256)).data;
    let agree = 0;
    for (let i = 0; i < m.length; i++) if ((back[i]! > 0 ? 1 : 0) === m[i]) agree++;
    assert.ok(agree / m.length > 0.98, `${w}x${h}: ${agree / m.length}`);
    // cells over the padding are background
    const [rh, rw] = w > h ? [Math.round((h * 256) / w), 256] : [256, Math.round((w * 256) / h)];
    assert.equal(logits[L * L - 1], -8, `${rw}x${rh}`);
  }
});

test('the stop rule: each test fires on its own, in order, and the defaults are checked', () => {
  const prev = { area: 400, centroid: { x: 50, y: 50 }, bbox: { x1: 40, y1: 40, x2: 60, y2: 60 } };
  const m = (over: Partial<ReturnType<typeof measureSlice>>) => ({ area: 380, score: 0.9, scoreRatio: 0.97, growth: 0.95, overlap: 0.8, shift: 0.1, stability: 0.95, ...over });
  const rule = { ...DEFAULT_STOP_RULE, minSeedFraction: 0.02, minScore: 0.5, minScoreRatio: 0.9, minStability: 0.6, maxGrowth: 1.6, minOverlap: 0.2, maxShift: 1 };
  assert.equal(stopCause(m({}), 400, rule), null);
  assert.equal(stopCause(m({ area: 0 }), 400, rule), 'empty');
  assert.equal(stopCause(m({ area: 3 }), 400, rule), 'too-small');
  assert.equal(stopCause(m({ area: 7 }), 400, rule), 'too-small', 'under 2% of the seed');
  assert.equal(stopCause(m({ score: 0.3 }), 400, rule), 'low-score');
  assert.equal(stopCause(m({ scoreRatio: 0.85 }), 400, rule), 'score-drop', 'the score fell below 90% of the best one before it');
  assert.equal(stopCause(m({ stability: 0.4 }), 400, rule), 'unstable');
  assert.equal(stopCause(m({ area: 700, growth: 1.75 }), 400, rule), 'area-jump');
  assert.equal(stopCause(m({ area: 40, growth: 1.9 }), 400, rule), null, 'small masks may grow by large factors');
  assert.equal(stopCause(m({ overlap: 0.1 }), 400, rule), 'no-overlap');
  assert.equal(stopCause(m({ shift: 1.5 }), 400, rule), 'shift');
  // measures from masks
  const cur = { area: 200, centroid: { x: 50 + Math.sqrt(400 / Math.PI), y: 50 }, bbox: prev.bbox };
  const got = measureSlice(cur, 0.8, prev, 150, new Float32Array([2, 2, 0.5, -3]));
  assert.equal(got.growth, 0.5);
  assert.ok(Math.abs(got.overlap - 150 / 450) < 1e-12);
  assert.ok(Math.abs(got.shift - 1) < 1e-12);
  assert.ok(Math.abs(got.stability - 2 / 3) < 1e-12);
  assert.equal(got.scoreRatio, 1, 'the first slice of a direction has nothing to compare its score with');
  assert.ok(Math.abs(measureSlice(cur, 0.6, prev, 150, new Float32Array([2, 2, 0.5, -3]), 0.8).scoreRatio - 0.75) < 1e-12);
  assert.equal(stability(new Float32Array([-5, -5])), 1);
  assert.throws(() => stopRule({ maxGrowth: -1 }), /maxGrowth must be a non-negative number/);
  assert.throws(() => stopRule({ minPixels: Number.NaN }), /minPixels/);
  assert.equal(stopRule({ minScore: -0.2 }).minScore, -0.2);
});
