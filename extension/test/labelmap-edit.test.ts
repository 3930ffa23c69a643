/** The undo record of an accepted mask: only changed pixels are kept, undo and redo restore each side exactly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyEdit, diffPixels, paint, unpaint } from '../src/labelmap-edit.js';

test('an edit keeps only the pixels that changed, with their old and new values', () => {
  const before = Uint8Array.from([0, 0, 2, 2, 0, 0]);
  const after = Uint8Array.from([0, 1, 2, 2, 1, 0]);
  const edit = diffPixels(before, after);
  assert.ok(edit);
  assert.deepEqual([...edit.indices], [1, 4]);
  assert.deepEqual([...edit.before], [0, 0]);
  assert.deepEqual([...edit.after], [1, 1]);
});

test('no change, no edit', () => {
  assert.equal(diffPixels(Uint16Array.from([3, 0, 1]), Uint16Array.from([3, 0, 1])), null);
});

test('undo puts the labelmap back as it was, redo as it became, other pixels untouched', () => {
  const before = Uint16Array.from([0, 0, 7, 0, 300, 0, 0, 0]);
  const after = Uint16Array.from([1, 1, 7, 1, 300, 0, 0, 0]);
  const edit = diffPixels(before, after)!;
  const live = Uint16Array.from(after);
  live[7] = 5; // a later edit elsewhere (another tool) is not the accept's to undo
  applyEdit(live, edit, 'undo');
  assert.deepEqual([...live], [0, 0, 7, 0, 300, 0, 0, 5]);
  applyEdit(live, edit, 'redo');
  assert.deepEqual([...live], [1, 1, 7, 1, 300, 0, 0, 5]);
});

test('images of different sizes are refused, and so is an edit that does not fit', () => {
  assert.throws(() => diffPixels(new Uint8Array(4), new Uint8Array(5)), /one size/);
  const edit = diffPixels(new Uint8Array(8), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1]))!;
  assert.throws(() => applyEdit(new Uint8Array(4), edit, 'undo'), /smaller/);
});

test('a proposal paints only free pixels, and taking it off leaves what other tools did meanwhile', () => {
  const live = Uint8Array.from([0, 0, 2, 0, 0, 0, 0, 0]);
  const painted = paint(live, [1, 1, 1, 1, 0, 0, 0, 0], 1);
  assert.deepEqual([...painted], [0, 1, 3], 'segment 2 keeps its pixel');
  assert.deepEqual([...live], [1, 1, 2, 1, 0, 0, 0, 0]);
  live[6] = 1; // a brush stroke beside the proposal
  live[1] = 0; // an eraser on the proposal
  live[3] = 2; // another segment painted over it
  unpaint(live, painted, 1);
  assert.deepEqual([...live], [0, 0, 2, 2, 0, 0, 1, 0]);
});

test('a proposal that does not fit the labelmap is refused', () => {
  assert.throws(() => paint(new Uint8Array(4), [1, 1], 1), /does not fit/);
});
