/** The undo record of an accepted mask: only changed pixels are kept, undo and redo restore each side exactly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyEdit, diffPixels, lighter, paint, PREVIEW_SEGMENT_INDEX, previewIndexFor, promote, unpaint } from '../src/labelmap-edit.js';

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

test('accepting a proposal turns its remaining preview pixels into the segment, and undo takes exactly those off', () => {
  const live = Uint8Array.from([0, 0, 2, 0, 0, 0, 0, 0]);
  const painted = paint(live, [1, 1, 1, 1, 1, 0, 0, 0], 255);
  assert.deepEqual([...live], [255, 255, 2, 255, 255, 0, 0, 0]);
  live[1] = 1; // a brush stroke of the proposal's own segment over the proposal
  live[3] = 0; // an eraser on the proposal
  live[4] = 3; // another segment painted over it
  live[6] = 1; // a stroke beside it
  const edit = promote(live, painted, 255, 1);
  assert.ok(edit);
  assert.deepEqual([...live], [1, 1, 2, 0, 3, 0, 1, 0]);
  assert.deepEqual([...edit.indices], [0], 'only the pixel still held by the preview');
  applyEdit(live, edit, 'undo');
  assert.deepEqual([...live], [0, 1, 2, 0, 3, 0, 1, 0], 'undo leaves the hand-painted pixels');
  applyEdit(live, edit, 'redo');
  assert.deepEqual([...live], [1, 1, 2, 0, 3, 0, 1, 0]);
});

test('a rejected preview leaves a stroke of its own segment drawn over it', () => {
  const live = new Uint8Array(6);
  const painted = paint(live, [0, 1, 1, 1, 0, 0], 255);
  live[2] = 1;
  unpaint(live, painted, 255);
  assert.deepEqual([...live], [0, 0, 1, 0, 0, 0]);
});

test('accepting a proposal nothing is left of records nothing', () => {
  const live = new Uint8Array(4);
  const painted = paint(live, [1, 1, 0, 0], 255);
  live.fill(0);
  assert.equal(promote(live, painted, 255, 1), null);
});

test('a proposal that does not fit the labelmap is refused', () => {
  assert.throws(() => paint(new Uint8Array(4), [1, 1], 1), /does not fit/);
});

test("the preview is painted with Cornerstone's preview index, in a lighter shade of the segment's colour", () => {
  assert.equal(previewIndexFor(1), PREVIEW_SEGMENT_INDEX);
  assert.equal(PREVIEW_SEGMENT_INDEX, 255);
  assert.notEqual(previewIndexFor(255), 255, 'a segment numbered 255 gets another preview index');
  assert.deepEqual(lighter([221, 84, 0, 255]), [238, 170, 128, 255]);
  assert.deepEqual(lighter([255, 255, 255, 128]), [255, 255, 255, 128]);
});
