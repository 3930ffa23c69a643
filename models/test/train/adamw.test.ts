import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdamW, learningRate } from '../../src/train/adamw.js';
import { float32 } from '../../src/tensor.js';

test('AdamW follows the update of Loshchilov & Hutter (decoupled decay, bias correction)', () => {
  const p = float32([2], [1, -2]);
  const opt = new AdamW({ lr: 0.1, weightDecay: 0.01 });
  const g1 = Float32Array.from([0.5, -1]);
  opt.step(new Map([['w', p]]), new Map([['w', g1]]));
  // Step 1: m^ = g, v^ = g^2, so the update is lr * sign(g) (up to eps), after the decay.
  assert.ok(Math.abs(p.data[0]! - (1 * (1 - 0.001) - 0.1)) < 1e-6);
  assert.ok(Math.abs(p.data[1]! - (-2 * (1 - 0.001) + 0.1)) < 1e-6);
  const g2 = Float32Array.from([0.5, 1]);
  opt.step(new Map([['w', p]]), new Map([['w', g2]]));
  const m = 0.9 * 0.1 * -1 + 0.1 * 1; // second coordinate
  const v = 0.999 * 0.001 * 1 + 0.001 * 1;
  const expected = (-2 * 0.999 + 0.1) * 0.999 - (0.1 * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.998001)) + 1e-8);
  assert.ok(Math.abs(p.data[1]! - expected) < 1e-5, `${p.data[1]} vs ${expected}`);
});

test('the schedule warms up linearly and decays by cosine to the floor', () => {
  assert.equal(learningRate(1, 0, 100, 10), 0.1);
  assert.equal(learningRate(1, 9, 100, 10), 1);
  assert.ok(Math.abs(learningRate(1, 10, 100, 10) - 1) < 1e-12);
  assert.ok(Math.abs(learningRate(1, 100, 100, 10) - 0.1) < 1e-12);
});
