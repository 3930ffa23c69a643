/** The prompt session's bookkeeping: what each request carries, which answer counts, candidates, undo. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SegmentResponse } from '@glmedsa/server/api';
import { PromptSession } from '../src/prompts.js';

const image = { studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4', sopInstanceUID: '1.2.3.4.5', frame: 1 };

function answer(maskId: string, scores: number[]): SegmentResponse {
  return {
    maskId,
    model: 'm',
    image: { width: 4, height: 2 },
    masks: scores.map((score, i) => ({ counts: [i, 8 - i], bbox: null, area: 8 - i, score })),
    best: scores.indexOf(Math.max(...scores)),
    encoding: 'rle-row-major',
    cached: false,
    timings: { fetchMs: 0, embedMs: 0, decodeMs: 0, totalMs: 0 },
  };
}

test('each request carries every point so far, the latest box and the voi; the first has no mask id', () => {
  const s = new PromptSession('k', image);
  const voi = { center: 40, width: 400 };
  const first = s.add({ kind: 'point', point: { x: 1, y: 2, label: 1 } }, voi, 'model-a');
  assert.deepEqual(first.request, { image: { ...image, voi }, model: 'model-a', points: [{ x: 1, y: 2, label: 1 }] });
  s.add({ kind: 'box', box: { x1: 0, y1: 0, x2: 3, y2: 3 } });
  s.add({ kind: 'box', box: { x1: 1, y1: 1, x2: 2, y2: 2 } });
  const last = s.add({ kind: 'point', point: { x: 3, y: 1, label: 0 } });
  assert.deepEqual(last.request.points, [{ x: 1, y: 2, label: 1 }, { x: 3, y: 1, label: 0 }]);
  assert.deepEqual(last.request.box, { x1: 1, y1: 1, x2: 2, y2: 2 });
  assert.equal('voi' in last.request.image, false);
  assert.equal('model' in last.request, false);
});

test('a refinement sends the mask id of the latest answered prompt before it', () => {
  const s = new PromptSession('k', image);
  const a = s.add({ kind: 'point', point: { x: 1, y: 1, label: 1 } });
  assert.equal(s.accept(a.ticket, answer('mask-1', [0.9])), true);
  const b = s.add({ kind: 'point', point: { x: 2, y: 1, label: 0 } });
  assert.equal(b.request.maskId, 'mask-1');
  // b is never answered: the next prompt still refines mask-1.
  const c = s.add({ kind: 'point', point: { x: 3, y: 1, label: 1 } });
  assert.equal(c.request.maskId, 'mask-1');
  assert.equal(s.request(undefined, undefined, false).maskId, undefined);
});

test('only the answer to the latest prompt is kept; stale answers are dropped', () => {
  const s = new PromptSession('k', image);
  const a = s.add({ kind: 'point', point: { x: 1, y: 1, label: 1 } });
  const b = s.add({ kind: 'point', point: { x: 2, y: 1, label: 1 } });
  assert.equal(s.isCurrent(a.ticket), false);
  assert.equal(s.accept(a.ticket, answer('stale', [0.5])), false);
  assert.equal(s.current(), null);
  assert.equal(s.hasAnswer(), false);
  assert.equal(s.accept(b.ticket, answer('fresh', [0.5])), true);
  assert.equal(s.hasAnswer(), true);
  const next = s.add({ kind: 'point', point: { x: 0, y: 0, label: 1 } });
  assert.equal(next.request.maskId, 'fresh');
});

test('candidates are shown best first by predicted IoU and cycle with wrap-around', () => {
  const s = new PromptSession('k', image);
  const a = s.add({ kind: 'point', point: { x: 1, y: 1, label: 1 } });
  s.accept(a.ticket, answer('m', [0.2, 0.9, 0.5]));
  const seen = [];
  for (let i = 0; i < 4; i++) {
    const cur = s.current();
    assert.ok(cur);
    assert.equal(cur.candidates, 3);
    assert.equal(cur.width, 4);
    assert.equal(cur.height, 2);
    seen.push([cur.candidate, cur.mask.score]);
    assert.equal(s.cycle(), true);
  }
  assert.deepEqual(seen, [[0, 0.9], [1, 0.5], [2, 0.2], [0, 0.9]]);
});

test('a single candidate does not cycle, and a new answer starts from the best one', () => {
  const s = new PromptSession('k', image);
  const a = s.add({ kind: 'point', point: { x: 1, y: 1, label: 1 } });
  s.accept(a.ticket, answer('m1', [0.3, 0.6]));
  s.cycle();
  assert.equal(s.current()?.candidate, 1);
  const b = s.add({ kind: 'point', point: { x: 2, y: 1, label: 1 } });
  s.accept(b.ticket, answer('m2', [0.7]));
  assert.equal(s.cycle(), false);
  assert.equal(s.current()?.candidate, 0);
  assert.equal(s.current()?.mask.score, 0.7);
});

test('undo drops the last prompt, shows the answer before it, and makes in-flight answers stale', () => {
  const s = new PromptSession('k', image);
  const a = s.add({ kind: 'point', point: { x: 1, y: 1, label: 1 } });
  s.accept(a.ticket, answer('m1', [0.8]));
  const b = s.add({ kind: 'point', point: { x: 2, y: 1, label: 0 } });
  assert.equal(s.undo(), true);
  assert.equal(s.accept(b.ticket, answer('late', [0.1])), false);
  assert.equal(s.prompts.length, 1);
  assert.equal(s.hasAnswer(), true);
  assert.equal(s.current()?.mask.score, 0.8);
  assert.equal(s.undo(), true);
  assert.equal(s.current(), null);
  assert.equal(s.hasAnswer(), true, 'no prompts left: nothing to send');
  assert.equal(s.undo(), false);
});

test('undo onto an unanswered prompt needs a resend, whose ticket is the current one', () => {
  const s = new PromptSession('k', image);
  const a = s.add({ kind: 'point', point: { x: 1, y: 1, label: 1 } });
  s.add({ kind: 'point', point: { x: 2, y: 1, label: 1 } });
  s.undo();
  assert.equal(s.hasAnswer(), false);
  const t = s.resend();
  assert.notEqual(t, a.ticket);
  assert.equal(s.isCurrent(t), true);
  assert.equal(s.accept(a.ticket, answer('old', [0.4])), false);
  assert.equal(s.accept(t, answer('again', [0.4])), true);
  assert.equal(s.current()?.mask.score, 0.4);
});

test('carrying the prompts to another image keeps them all, but no answer nor mask id of the old image', () => {
  const s = new PromptSession('slice-1', image);
  const a = s.add({ kind: 'point', point: { x: 1, y: 1, label: 1 } });
  s.accept(a.ticket, answer('mask-on-slice-1', [0.9]));
  s.add({ kind: 'box', box: { x1: 0, y1: 0, x2: 3, y2: 1 } });
  const nextImage = { ...image, sopInstanceUID: '1.2.3.4.6' };
  const n = PromptSession.carrying(s, 'slice-2', nextImage);
  assert.equal(n.imageKey, 'slice-2');
  assert.deepEqual(n.prompts, s.prompts);
  assert.notEqual(n.prompts, s.prompts, 'the sessions do not share their prompt list');
  assert.equal(n.hasAnswer(), false);
  assert.equal(n.current(), null);
  const t = n.resend();
  const req = n.request();
  assert.deepEqual(req.image, nextImage);
  assert.deepEqual(req.points, [{ x: 1, y: 1, label: 1 }]);
  assert.deepEqual(req.box, { x1: 0, y1: 0, x2: 3, y2: 1 });
  assert.equal(req.maskId, undefined);
  assert.equal(n.accept(t, answer('mask-on-slice-2', [0.7])), true);
  n.add({ kind: 'point', point: { x: 2, y: 0, label: 0 } });
  assert.equal(s.prompts.length, 2, 'the old session is untouched');
});

test('a propagation may start from the mask id only for the mask the server keeps: its best, decoded on the server', () => {
  const s = new PromptSession('k', image);
  const a = s.add({ kind: 'point', point: { x: 1, y: 1, label: 1 } });
  s.accept(a.ticket, answer('mask-1', [0.2, 0.9, 0.5]));
  assert.equal(s.currentMaskId(), 'mask-1', 'the best candidate is on show');
  assert.equal(s.cycle(), true);
  assert.equal(s.currentMaskId(), undefined, 'another candidate is on show (M): the server has no logits for it');
  s.cycle();
  s.cycle();
  assert.equal(s.currentMaskId(), 'mask-1', 'back on the best one');
  const b = s.add({ kind: 'point', point: { x: 2, y: 1, label: 1 } });
  s.accept(b.ticket, answer('mask-2', [0.7]), false);
  assert.equal(s.currentMaskId(), undefined, 'the browser decoded it: its mask id is the page\'s, not the server\'s');
});
