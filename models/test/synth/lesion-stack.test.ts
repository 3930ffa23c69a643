/** The lesion-stack phantom: one lesion through consecutive slices, free slices at both ends, fresh noise per slice. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lesionStack, lesionStackImage } from '../../src/synth/lesion-stack.js';

test('a lesion stack holds one lesion over consecutive slices, largest inside, with free slices at both ends, deterministically', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    for (const site of ['A', 'B']) {
      const s = lesionStack(seed, { site, size: 64, slices: 20 });
      const areas = s.masks.map((m) => m.reduce((a, b) => a + b, 0));
      const on = areas.map((a, z) => (a > 0 ? z : -1)).filter((z) => z >= 0);
      assert.equal(on[0], s.lesion.first);
      assert.equal(on[on.length - 1], s.lesion.last);
      assert.equal(on.length, s.lesion.last - s.lesion.first + 1, 'consecutive');
      assert.ok(s.lesion.first >= 3 && s.lesion.last <= 16, JSON.stringify(s.lesion));
      assert.equal(Math.max(...areas), areas[s.lesion.largest]);
      // the lesion shrinks towards its ends
      assert.ok(areas[s.lesion.first]! <= areas[s.lesion.largest]! && areas[s.lesion.last]! <= areas[s.lesion.largest]!);
      // where the lesion is, the slice differs from the organ around it
      const z = s.lesion.largest;
      const inside: number[] = [];
      s.masks[z]!.forEach((v, i) => v && inside.push(s.hu[z]![i]!));
      const meanInside = inside.reduce((a, b) => a + b, 0) / inside.length;
      const beyond = s.hu[0]!;
      const meanThere = inside.length ? s.masks[z]!.reduce((acc, v, i) => acc + (v ? beyond[i]! : 0), 0) / inside.length : 0;
      assert.ok(Math.abs(meanInside - meanThere) > 10, `site ${site} seed ${seed}: lesion ${meanInside} HU vs ${meanThere} HU on a free slice`);
    }
  }
  const a = lesionStack(7, { size: 64, slices: 16 });
  const b = lesionStack(7, { size: 64, slices: 16 });
  assert.deepEqual(a.hu[5], b.hu[5]);
  assert.notDeepEqual(a.hu[0], a.hu[1], 'each slice has its own noise');
  assert.equal(lesionStackImage(a, 3).width, 64);
  assert.throws(() => lesionStack(1, { slices: 8 }), /at least 11 slices/);
});
