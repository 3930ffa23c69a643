/** SAM's simulated prompts: plans, box jitter, ambiguous clicks, mask prompts from masks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MASK_PROMPT_MAGNITUDE, maskPromptLogits } from '../../src/preprocess/mask-prompt.js';
import { PROMPT_MODES, drawPlan, firstClick, initialPrompt, jitterBox, maskBox, perturbedMask } from '../../src/train/pretrain/prompt-recipe.js';
import { Rng } from '../../src/util/random.js';

function disc(S: number, cx: number, cy: number, r: number): Uint8Array {
  const m = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * S + x] = 1;
  return m;
}

test('plans: every mode is drawn, a single click alone trains the three candidates, points count the padding', () => {
  const rng = new Rng(1);
  const seen = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const p = drawPlan(rng);
    seen.set(p.mode, (seen.get(p.mode) ?? 0) + 1);
    assert.equal(p.multimask, p.mode === 'click');
    if (p.mode === 'click') assert.equal(p.points, 2);
    if (p.mode === 'box') assert.equal(p.points, 2);
    if (p.mode === 'click+box') assert.equal(p.points, 3);
    if (p.mode === 'corrective') assert.equal(p.points, p.clicks + 1);
    if (p.mode === 'neighbour') assert.equal(p.points, p.withPoint ? 3 : 2);
  }
  for (const m of PROMPT_MODES) assert.ok((seen.get(m) ?? 0) > 150, `${m}: ${seen.get(m)}`);
  const only = drawPlan(new Rng(2), { click: 0, box: 1, 'click+box': 0, corrective: 0, neighbour: 0 });
  assert.equal(only.mode, 'box');
});

test('box jitter stays in the frame, keeps corners ordered and moves by about 10% of the extent', () => {
  const rng = new Rng(3);
  let moved = 0;
  for (let i = 0; i < 500; i++) {
    const b = jitterBox([10, 20, 49, 39], rng, 64);
    assert.ok(b[0] >= 0 && b[1] >= 0 && b[2] <= 63 && b[3] <= 63 && b[0] <= b[2] && b[1] <= b[3]);
    moved += Math.abs(b[0] - 10);
  }
  const mean = moved / 500;
  assert.ok(mean > 1.5 && mean < 5, `mean |dx0| ${mean} for a 40 px wide box (sigma 4)`);
  assert.deepEqual(maskBox(disc(32, 10, 12, 3), 32, 32), [7, 9, 13, 15]);
  assert.equal(maskBox(new Uint8Array(16), 4, 4), null);
});

test('first clicks land inside the target; an organ click falls in its lesion about as often as asked', () => {
  const S = 64;
  const organ = disc(S, 32, 32, 20);
  const lesion = disc(S, 36, 30, 4);
  const rng = new Rng(4);
  let inLesion = 0;
  for (let i = 0; i < 1000; i++) {
    const c = firstClick(organ, [lesion], S, rng, 0.2);
    assert.equal(organ[c.y * S + c.x], 1);
    assert.equal(c.label, 1);
    if (lesion[c.y * S + c.x]) inLesion++;
  }
  // 20% asked plus the lesion's share of the organ (about 4%)
  assert.ok(inLesion > 170 && inLesion < 300, `${inLesion} clicks in the lesion`);
});

test('prompts per mode: points, padding and the neighbour mask prompt', () => {
  const S = 64;
  const L = 16;
  const target = disc(S, 30, 30, 10);
  const frames = { maskS: target, inner: [], neighbour: disc(S, 32, 31, 9) };
  const rng = new Rng(5);
  const click = initialPrompt({ mode: 'click', points: 2, multimask: true, clicks: 1, withPoint: false }, frames, S, L, rng);
  assert.deepEqual(click.points.map((p) => p.label), [1, -1]);
  assert.equal(click.maskInput, null);
  const box = initialPrompt({ mode: 'box', points: 2, multimask: false, clicks: 0, withPoint: false }, frames, S, L, rng);
  assert.deepEqual(box.points.map((p) => p.label), [2, 3]);
  const cb = initialPrompt({ mode: 'click+box', points: 3, multimask: false, clicks: 1, withPoint: false }, frames, S, L, rng);
  assert.deepEqual(cb.points.map((p) => p.label), [1, 2, 3]);
  const nb = initialPrompt({ mode: 'neighbour', points: 3, multimask: false, clicks: 1, withPoint: true }, frames, S, L, rng);
  assert.deepEqual(nb.points.map((p) => p.label), [1, 2, 3]);
  assert.ok(nb.maskInput && nb.maskInput.length === L * L);
  // the mask prompt is positive over the neighbour's disc and negative far from it
  assert.ok(nb.maskInput![Math.floor(31 / 4) * L + Math.floor(32 / 4)]! > 0);
  assert.ok(nb.maskInput![0]! < 0);
  // without a neighbour (not a volume slice) the target itself, moved a little, stands in for it
  const alone = initialPrompt({ mode: 'neighbour', points: 2, multimask: false, clicks: 0, withPoint: false }, { ...frames, neighbour: null }, S, L, rng);
  assert.ok(alone.maskInput![Math.floor(30 / 4) * L + Math.floor(30 / 4)]! > 0);
  const p = perturbedMask(target, S, new Rng(6));
  const area = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(area(p) - area(target)) < 0.5 * area(target));
});

test('maskPromptLogits maps a mask of any size into the low-res frame, padding negative', () => {
  // a 100 x 50 image whose left half is set; input 64 (resized to 64 x 32, padded below), low-res 16
  const w = 100;
  const h = 50;
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < 50; x++) mask[y * w + x] = 1;
  const logits = maskPromptLogits(mask, w, h, 64, 16);
  assert.equal(logits.length, 256);
  assert.equal(logits[2 * 16 + 2], MASK_PROMPT_MAGNITUDE);
  assert.equal(logits[2 * 16 + 12], -MASK_PROMPT_MAGNITUDE);
  assert.equal(logits[12 * 16 + 2], -MASK_PROMPT_MAGNITUDE, 'padding below the image');
  assert.equal(maskPromptLogits(mask, w, h, 64, 16, 4)[2 * 16 + 2], 4);
  assert.throws(() => maskPromptLogits(mask, w, h, 64, 15), /must divide/);
  assert.throws(() => maskPromptLogits(mask, 10, 10, 64, 16), /needs 100 values/);
});
