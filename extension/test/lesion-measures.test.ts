/**
 * The lesion's figures the panel shows, against geometry worked out by hand: a rectangle's
 * diameter on the outline through its pixels' edge midpoints (with square and with unequal pixel
 * spacing, which must not be swapped), a disc's diameter, a sphere's volume and diameter on a CT
 * grid (4/3 pi r^3 and 2r, within the voxelisation's error), and the slice the longest diameter is on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lesionMeasures, sliceDiameter } from '../src/measure/lesion-measures.js';

const one = (v: number) => v === 1;

function rect(w: number, h: number, rw: number, rh: number, x0: number, y0: number): Uint8Array {
  const px = new Uint8Array(w * h);
  for (let y = y0; y < y0 + rh; y++) for (let x = x0; x < x0 + rw; x++) px[y * w + x] = 1;
  return px;
}

test("a rectangle's diameter is its longest chord between edge midpoints of its outline", () => {
  // 10 x 4 pixels: the extreme outline points are (-0.5, 0)-(9.5, 3) and (0, -0.5)-(9, 3.5)
  const px = rect(20, 10, 10, 4, 3, 2);
  const d = sliceDiameter(px, 20, 10, { row: 1, column: 1 }, one)!;
  assert.ok(Math.abs(d.mm - Math.max(Math.hypot(10, 3), Math.hypot(9, 4))) < 1e-9, `${d.mm}`);
  // pixels 0.5 mm wide and 2 mm tall: x scales by the column spacing, y by the row spacing
  const a = sliceDiameter(px, 20, 10, { row: 2, column: 0.5 }, one)!;
  assert.ok(Math.abs(a.mm - Math.max(Math.hypot(10 * 0.5, 3 * 2), Math.hypot(9 * 0.5, 4 * 2))) < 1e-9, `${a.mm}`);
  // one pixel measures one pixel across; nothing measures nothing
  assert.equal(sliceDiameter(rect(5, 5, 1, 1, 2, 2), 5, 5, { row: 0.7, column: 0.7 }, one)!.mm.toFixed(6), (0.7).toFixed(6));
  assert.equal(sliceDiameter(new Uint8Array(25), 5, 5, { row: 1, column: 1 }, one), null);
  assert.throws(() => sliceDiameter(new Uint8Array(24), 5, 5, { row: 1, column: 1 }, one), /25 pixels/);
});

test('a disc of radius r pixels measures 2r across, within a pixel', () => {
  const n = 101;
  for (const r of [3.5, 10.2, 40]) {
    const px = new Uint8Array(n * n);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if ((x - 50) ** 2 + (y - 50) ** 2 <= r * r) px[y * n + x] = 1;
    const d = sliceDiameter(px, n, n, { row: 1, column: 1 }, one)!;
    assert.ok(Math.abs(d.mm - 2 * r) <= 1, `r ${r}: ${d.mm}`);
  }
});

test('islands beside a lesion do not stretch its diameter: it is measured on the largest connected piece', () => {
  // a 10 x 4 lesion with one more pixel on its right edge (the same piece), and a 2 x 2 island far to its right
  const px = rect(40, 10, 10, 4, 3, 2);
  for (const [x, y] of [[35, 7], [36, 7], [35, 8], [36, 8], [13, 5]] as const) px[y * 40 + x] = 1;
  const d = sliceDiameter(px, 40, 10, { row: 1, column: 1 }, one)!;
  // the outline of the lesion with its extra pixel: from (2.5, 2) to (13.5, 5), every other pair shorter
  assert.ok(Math.abs(d.mm - Math.hypot(11, 3)) < 1e-9, `${d.mm}`);
  assert.ok(d.to[0] < 20 && d.from[0] < 20, 'both ends on the lesion, none on the island');
  // the island alone on its slice is measured as it is
  const island = rect(40, 10, 2, 2, 35, 7);
  assert.ok(Math.abs(sliceDiameter(island, 40, 10, { row: 1, column: 1 }, one)!.mm - Math.hypot(2, 1)) < 1e-9);
});

test('a sphere on a CT grid: volume 4/3 pi r^3 and longest axial diameter 2r, on its middle slice', () => {
  const w = 96;
  const h = 96;
  const spacing = { row: 0.75, column: 0.75, slice: 2.5 };
  const radius = 20; // mm
  const centre = { x: 48 * spacing.column, y: 47 * spacing.row, z: 20 * spacing.slice };
  const slices: Uint8Array[] = [];
  for (let z = 0; z < 40; z++) {
    const px = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const d2 = (x * spacing.column - centre.x) ** 2 + (y * spacing.row - centre.y) ** 2 + (z * spacing.slice - centre.z) ** 2;
        if (d2 <= radius * radius) px[y * w + x] = 1;
      }
    }
    slices.push(px);
  }
  const m = lesionMeasures(slices, w, h, spacing, one);
  const exact = ((4 / 3) * Math.PI * radius ** 3) / 1000;
  assert.ok(Math.abs(m.volumeMl - exact) / exact < 0.03, `volume ${m.volumeMl} mL, exact ${exact}`);
  let voxels = 0;
  for (const s of slices) for (const v of s) voxels += v;
  assert.equal(m.voxels, voxels);
  assert.ok(Math.abs(m.volumeMl - (voxels * 0.75 * 0.75 * 2.5) / 1000) < 1e-12, 'voxels x voxel volume');
  assert.ok(m.longestAxial && Math.abs(m.longestAxial.mm - 2 * radius) <= spacing.column, `diameter ${m.longestAxial?.mm}`);
  assert.equal(m.longestAxial!.slice, 20);
  assert.equal(m.slices, 17, 'slices 12-28: within 20 mm of the centre (8 slices of 2.5 mm each side), the two ends one voxel each');
});

test('slices known to be empty are skipped, and values other than the lesion do not count', () => {
  const px = Uint16Array.from([0, 2, 1, 255, 1, 0]);
  const m = lesionMeasures([null, px, null], 3, 2, { row: 1, column: 1, slice: 1 }, one);
  assert.equal(m.voxels, 2);
  assert.equal(m.slices, 1);
  assert.equal(m.longestAxial?.slice, 1);
  const withProposal = lesionMeasures([px], 3, 2, { row: 1, column: 1, slice: 1 }, (v) => v === 1 || v === 255);
  assert.equal(withProposal.voxels, 3);
  assert.equal(lesionMeasures([null, new Uint8Array(6)], 3, 2, { row: 1, column: 1, slice: 1 }, one).longestAxial, null);
});
