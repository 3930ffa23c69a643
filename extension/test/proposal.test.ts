/**
 * The 3D proposal's bookkeeping outside the browser: which propagation's mask each slice shows
 * (a refinement replaces the slices beyond it, older propagations' late masks are refused, a gap
 * filled from both ends keeps the mask nearer its own seed and both where they are equally near),
 * where a refined slice is carried, the gaps between accepted slices, the series' order by position,
 * and a labelmap's pixels as the API's run lengths.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMask } from '@glmedsa/server/api';
import { runsOf } from '../src/labelmap-edit.js';
import { gapsBetween, outwardFrom, ProposalSlices } from '../src/propagation/proposal-slices.js';
import { orderSlices, SeriesIndex } from '../src/propagation/series-slices.js';

const SERIES = { lo: 0, hi: 63 };

test('a propagation from slice 30 through the series: every slice it reaches is shown once', () => {
  const p = new ProposalSlices();
  const g = p.nextGeneration();
  const origin = { generation: g, seed: 30, range: SERIES };
  assert.equal(p.offer(30, origin), 'set');
  assert.deepEqual(p.claim(g, SERIES, 30), [], 'nothing older to take off');
  for (const i of [31, 29, 32, 28]) assert.equal(p.offer(i, origin), 'set');
  assert.deepEqual(p.indices(), [28, 29, 30, 31, 32]);
  assert.equal(p.get(32)?.distance, 2);
  assert.equal(p.offer(70, origin), 'refused', 'outside its range');
});

test('a click on slice 33 replaces the slices beyond it; the first propagation, still running, can no longer write there', () => {
  const p = new ProposalSlices();
  const g1 = p.nextGeneration();
  const first = { generation: g1, seed: 30, range: SERIES };
  for (let i = 25; i <= 36; i++) p.offer(i, first);
  const out = outwardFrom(33, p.ownerNear(33), SERIES);
  assert.deepEqual(out.runs, [{ direction: 'forward', maxSlices: 30, range: { lo: 34, hi: 63 } }]);
  const g2 = p.nextGeneration();
  assert.equal(p.offer(33, { generation: g2, seed: 33, range: { lo: 33, hi: 63 } }), 'set', 'the corrected slice');
  assert.deepEqual(p.claim(g2, out.range, 33), [34, 35, 36], 'the slices beyond come off');
  assert.equal(p.offer(37, first), 'refused', 'a late slice of the first propagation beyond the click');
  assert.equal(p.offer(24, first), 'set', 'the first propagation still writes on the other side');
  assert.equal(p.offer(34, { generation: g2, seed: 33, range: out.range }), 'set');
  assert.equal(p.superseded(g1, SERIES, 30), false, 'the first propagation still has slices below the seed to give');
  assert.equal(p.superseded(g1, { lo: 31, hi: 63 }, 30), true, 'one going forward only from 30 has nothing left: 31-32 given, 33 corrected, the rest claimed');
  assert.deepEqual(p.indices(), [24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
});

test('filling a gap from both ends: the mask nearer its own seed wins, both where equally near', () => {
  const p = new ProposalSlices();
  const g = p.nextGeneration();
  const range = { lo: 11, hi: 15 }; // accepted slices 10 and 16
  p.claim(g, range, -1);
  const fromLow = { generation: g, seed: 10, range };
  const fromHigh = { generation: g, seed: 16, range };
  // the low end's propagation runs through the whole gap first
  for (let i = 11; i <= 15; i++) assert.equal(p.offer(i, fromLow), 'set');
  // then the high end's arrives: nearer to it on 15 and 14, as near on 13, farther on 12 and 11
  assert.equal(p.offer(15, fromHigh), 'set');
  assert.equal(p.offer(14, fromHigh), 'set');
  assert.equal(p.offer(13, fromHigh), 'union');
  assert.equal(p.offer(12, fromHigh), 'refused');
  assert.equal(p.offer(11, fromHigh), 'refused');
  assert.deepEqual([11, 12, 13, 14, 15].map((i) => p.get(i)?.seed), [10, 10, 10, 16, 16]);
  // and in the other order the same masks are kept
  const q = new ProposalSlices();
  const h = q.nextGeneration();
  q.claim(h, range, -1);
  for (let i = 15; i >= 11; i--) q.offer(i, { ...fromHigh, generation: h });
  for (let i = 11; i <= 15; i++) q.offer(i, { ...fromLow, generation: h });
  assert.deepEqual([11, 12, 13, 14, 15].map((i) => q.get(i)?.seed), [10, 10, 16, 16, 16], 'the union slice keeps the first holder as its owner; its mask holds both');
});

test('where a corrected slice is carried: outward from the seed, both ways on the seed, back over slices not reached, afresh outside the range', () => {
  const p = new ProposalSlices();
  const g = p.nextGeneration();
  const origin = { generation: g, seed: 30, range: SERIES };
  for (let i = 25; i <= 40; i++) p.offer(i, origin);
  assert.deepEqual(outwardFrom(27, p.ownerNear(27), SERIES).runs, [{ direction: 'backward', maxSlices: 27, range: { lo: 0, hi: 26 } }]);
  assert.deepEqual(outwardFrom(30, p.ownerNear(30), SERIES).runs, [{ direction: 'both', maxSlices: 33, range: SERIES }]);
  // slice 44: the propagation stopped at 40; forward from 44 and back over 41-43
  const beyond = outwardFrom(44, p.ownerNear(44), SERIES);
  assert.deepEqual(beyond.runs, [
    { direction: 'forward', maxSlices: 19, range: { lo: 45, hi: 63 } },
    { direction: 'backward', maxSlices: 3, range: { lo: 41, hi: 43 } },
  ]);
  assert.deepEqual(beyond.range, { lo: 41, hi: 63 });
  // a gap fill's slice: forward within the gap only
  const f = new ProposalSlices();
  const h = f.nextGeneration();
  const gap = { lo: 11, hi: 19 };
  f.offer(13, { generation: h, seed: 10, range: gap });
  assert.deepEqual(outwardFrom(13, f.ownerNear(13), SERIES).runs, [{ direction: 'forward', maxSlices: 6, range: { lo: 14, hi: 19 } }]);
  assert.deepEqual(outwardFrom(25, f.ownerNear(25), SERIES).runs, [{ direction: 'both', maxSlices: 38, range: SERIES }], 'outside the gap: afresh through the series');
  assert.deepEqual(outwardFrom(5, null, SERIES).runs, [{ direction: 'both', maxSlices: 58, range: SERIES }]);
});

test('gaps are empty slices with a mask on both sides', () => {
  assert.deepEqual(gapsBetween([20, 10, 11, 30, 31, 10]), [{ from: 11, to: 20 }, { from: 20, to: 30 }]);
  assert.deepEqual(gapsBetween([4, 5, 6]), []);
  assert.deepEqual(gapsBetween([7]), []);
});

test('a series is ordered by position along the slice normal, not by the order it came in; the step is the median gap', () => {
  // Axial slices 2.5 mm apart, listed head to feet (positions falling), slice at 5.0 missing.
  const zs = [12.5, 10, 7.5, 2.5, 0];
  const inputs = zs.map((z, i) => ({ imageId: `img${i}`, sopInstanceUID: `1.2.${i}`, frame: 1, position: [-100, -100, z], orientation: [1, 0, 0, 0, 1, 0], pixelSpacing: [0.8, 0.7] }));
  const s = orderSlices(inputs);
  assert.equal(s.positioned, true);
  assert.deepEqual(s.slices.map((x) => x.viewIndex), [4, 3, 2, 1, 0], 'lowest position first');
  assert.deepEqual(s.slices.map((x) => x.position), [0, 2.5, 7.5, 10, 12.5]);
  assert.equal(s.sliceSpacing, 2.5, 'the missing slice does not widen the step');
  assert.deepEqual(s.pixelSpacing, { row: 0.8, column: 0.7 });
  // Coronal slices: the normal is row (1,0,0) x column (0,0,-1) = (0,1,0), so the order is by y
  const coronal = orderSlices([6, 0, 3].map((y, k) => ({ imageId: `c${k}`, sopInstanceUID: `1.3.${k}`, frame: 1, position: [5, y, -40], orientation: [1, 0, 0, 0, 0, -1] })));
  assert.deepEqual(coronal.slices.map((x) => x.viewIndex), [1, 2, 0]);
  assert.equal(coronal.sliceSpacing, 3);
  const index = new SeriesIndex(s);
  assert.equal(index.ofRef('1.2.3', 1)?.index, 1);
  assert.equal(index.ofImageId('img0')?.index, 4);
  // Without positions the viewer's own order is kept, with a step of 1
  const bare = orderSlices([{ imageId: 'a', sopInstanceUID: '1', frame: 1 }, { imageId: 'b', sopInstanceUID: '2', frame: 1 }]);
  assert.equal(bare.positioned, false);
  assert.deepEqual(bare.slices.map((x) => x.viewIndex), [0, 1]);
  assert.equal(bare.pixelSpacingKnown, false);
});

test("a labelmap's pixels of one segment become the API's run lengths, and decode back", () => {
  const px = Uint16Array.from([2, 2, 0, 1, 1, 255, 1, 0, 0, 2, 1, 1]);
  const { counts, area } = runsOf(px, (v) => v === 1);
  assert.deepEqual(counts, [3, 2, 1, 1, 3, 2]);
  assert.equal(area, 5);
  assert.deepEqual([...decodeMask(counts, 4, 3)], [...px].map((v) => (v === 1 ? 1 : 0)));
  assert.deepEqual(runsOf(new Uint8Array(4), (v) => v === 1).counts, [4], 'an empty slice is one background run');
  assert.deepEqual(runsOf(Uint8Array.from([1, 1]), (v) => v === 1).counts, [0, 2], 'a foreground first pixel starts with an empty background run');
});
