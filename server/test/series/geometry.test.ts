/**
 * Series geometry on hand-made series: the order comes from positions along the slice normal
 * (never instance numbers), oblique and sheared (gantry tilt) stacks are volumes, and each kind of
 * series that is not one is refused with its own reason and a sentence naming the images.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type FrameGeometry, NotAVolume, type Vec3, sortVolume } from '../../src/series/geometry.js';
import { framesOf, isImage } from '../../src/series/series-frames.js';
import type { DicomJsonDataset } from '../../src/dicom/dicom-json.js';

const AXIAL = [1, 0, 0, 0, 1, 0] as const;

function frame(i: number, position: Vec3 | null, o: Partial<FrameGeometry> = {}): FrameGeometry {
  return { sopInstanceUID: `1.2.3.${i}`, frame: 1, rows: 64, columns: 64, samplesPerPixel: 1, position, orientation: AXIAL, instanceNumber: i, ...o };
}

/** A regular axial stack: slice k at z = z0 + k * step. */
function stack(n: number, step = 2.5, z0 = -100): FrameGeometry[] {
  return Array.from({ length: n }, (_, k) => frame(k + 1, [10, 20, z0 + k * step]));
}

function refused(frames: FrameGeometry[], reason: string, says: RegExp): void {
  assert.throws(
    () => sortVolume(frames),
    (err: unknown) => {
      assert.ok(err instanceof NotAVolume, String(err));
      assert.equal(err.reason, reason);
      assert.equal(err.kind, 'unprocessable-image');
      assert.equal(err.code, `not-a-volume-${reason}`);
      assert.match(err.message, says);
      return true;
    },
  );
}

describe('ordering', () => {
  test('slices are ordered by position along the normal, whatever their instance numbers say', () => {
    // Instance numbers run head to feet while positions run feet to head, and the PACS lists them shuffled.
    const frames = stack(12).map((f, k) => ({ ...f, instanceNumber: 12 - k }));
    const shuffled = [5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6].map((k) => frames[k]!);
    const v = sortVolume(shuffled);
    assert.deepEqual(
      v.slices.map((s) => s.position![2]),
      frames.map((f) => f.position![2]),
    );
    assert.deepEqual(
      v.slices.map((s) => s.instanceNumber),
      Array.from({ length: 12 }, (_, k) => 12 - k),
    );
    assert.deepEqual(v.slices.map((s) => s.index), [...Array(12).keys()]);
    assert.deepEqual(v.normal, [0, 0, 1]);
    assert.ok(Math.abs(v.spacing - 2.5) < 1e-9);
    assert.deepEqual(v.missing, []);
    assert.equal(v.rows, 64);
  });

  test('an oblique stack is ordered along its own normal, with its own step', () => {
    const c = Math.SQRT1_2;
    // Rows along (1, 1, 0)/sqrt2, columns along z: the normal is (1, -1, 0)/sqrt2.
    const orientation = [c, c, 0, 0, 0, -1] as const;
    const normal: Vec3 = [-c, c, 0]; // row x column
    const frames = Array.from({ length: 9 }, (_, k) => {
      const d = 3 * k;
      // in-plane offsets must not change the order: add some along the row direction
      const inPlane = (k % 3) * 7;
      return frame(k + 1, [50 + d * normal[0] + inPlane * c, -20 + d * normal[1] + inPlane * c, 5], { orientation });
    });
    const v = sortVolume([...frames].reverse());
    assert.deepEqual(v.slices.map((s) => s.instanceNumber), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(Math.abs(v.spacing - 3) < 1e-9, String(v.spacing));
    assert.ok(Math.abs(v.normal[0] + c) < 1e-12 && Math.abs(v.normal[1] - c) < 1e-12);
  });

  test('a gantry-tilted acquisition (same orientation, positions sheared) is a volume with the step along the normal', () => {
    // Each slice 2 mm along z and 0.7 mm along y: a tilt of the gantry, not of the slices.
    const frames = Array.from({ length: 6 }, (_, k) => frame(k + 1, [0, 0.7 * k, 2 * k]));
    const v = sortVolume(frames);
    assert.ok(Math.abs(v.spacing - 2) < 1e-9);
    assert.deepEqual(v.slices.map((s) => s.instanceNumber), [1, 2, 3, 4, 5, 6]);
  });

  test('a missing slice is reported and skipped over; several missing in one gap are counted', () => {
    const frames = stack(10).filter((_, k) => k !== 4 && k !== 7 && k !== 8);
    const v = sortVolume(frames);
    assert.equal(v.slices.length, 7);
    assert.ok(Math.abs(v.spacing - 2.5) < 1e-9);
    assert.deepEqual(v.missing, [
      { after: 3, count: 1 },
      { after: 5, count: 2 },
    ]);
    assert.deepEqual(v.slices.map((s) => s.instanceNumber), [1, 2, 3, 4, 6, 7, 10]);
  });

  test('positions given as slightly noisy values (rounded DS strings) still make a volume', () => {
    const frames = stack(8, 1.25).map((f, k) => ({ ...f, position: [f.position![0], f.position![1], f.position![2] + (k % 2 ? 0.004 : -0.003)] as Vec3 }));
    assert.equal(sortVolume(frames).slices.length, 8);
  });
});

describe('series that are not volumes', () => {
  test('no images, or a single image', () => {
    refused([], 'no-images', /no images/);
    refused([frame(1, [0, 0, 0])], 'single-image', /single image/);
  });

  test('an image without a position or without an orientation', () => {
    const frames = stack(5);
    frames[2] = { ...frames[2]!, position: null };
    refused(frames, 'missing-position', /^The series cannot be ordered as a volume: 1 of its 5 images \(image 3 first\) have no position/);
    const unoriented = stack(5);
    unoriented[4] = { ...unoriented[4]!, orientation: [0, 0, 0, 0, 0, 0] };
    refused(unoriented, 'missing-orientation', /image 5/);
  });

  test('mixed sizes', () => {
    const frames = stack(6);
    frames[3] = { ...frames[3]!, rows: 32, columns: 48 };
    refused(frames, 'mixed-size', /1 of its 6 images \(image 4 first\) are 48x32 pixels where the others are 64x64/);
    const colour = stack(6);
    colour[0] = { ...colour[0]!, samplesPerPixel: 3 };
    refused(colour, 'mixed-size', /3 samples per pixel/);
  });

  test('mixed orientations (gantry tilt changed within the series, or a localizer in it)', () => {
    const t = (10 * Math.PI) / 180;
    const tilted = [1, 0, 0, 0, Math.cos(t), Math.sin(t)] as const;
    const frames = stack(8).map((f, k) => (k >= 5 ? { ...f, orientation: tilted } : f));
    refused(frames, 'mixed-orientation', /3 of its 8 images \(image 6 first\) are tilted/);
    // a small difference within the tolerance is the same orientation
    const nearly = stack(8).map((f, k) => (k === 2 ? { ...f, orientation: [1, 0.005, 0, 0, 1, 0.004] as const } : f));
    assert.equal(sortVolume(nearly).slices.length, 8);
  });

  test('two images at one position (two acquisitions or a time series in one series)', () => {
    const frames = [...stack(6), frame(7, [10, 20, -100 + 2 * 2.5])];
    refused(frames, 'duplicate-position', /^Image (3|7) and image (3|7) lie at the same position \(-95 mm along the slice normal\)/);
    const cine = Array.from({ length: 5 }, (_, k) => frame(k + 1, [0, 0, 12]));
    refused(cine, 'duplicate-position', /\(and 3 more\)/);
  });

  test('a gap that is not a whole number of slices', () => {
    const frames = [...stack(5), frame(6, [10, 20, -100 + 4 * 2.5 + 1.1]), frame(7, [10, 20, -100 + 4 * 2.5 + 3.6])];
    refused(frames, 'irregular-spacing', /between image 5 and image 6 is 1.1 mm where the slices are 2.5 mm apart/);
    // 1.5 steps is neither one slice nor two
    refused([...stack(5), frame(6, [10, 20, -100 + 4 * 2.5 + 1.5 * 2.5])], 'irregular-spacing', /3.75 mm/);
  });
});

describe('frames of multi-frame images and non-images (DICOM JSON)', () => {
  const seq = (...items: Record<string, unknown>[]) => ({ vr: 'SQ', Value: items });
  const ds = (tags: Record<string, unknown>) => tags as unknown as DicomJsonDataset;

  test('an enhanced multi-frame image is ordered by its per-frame positions, the orientation shared', () => {
    const zs = [40, 30, 20, 10, 0]; // frames stored head to feet
    const image = ds({
      '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2.1'] },
      '00080018': { vr: 'UI', Value: ['1.2.3.99'] },
      '00280010': { vr: 'US', Value: [32] },
      '00280011': { vr: 'US', Value: [32] },
      '00280008': { vr: 'IS', Value: ['5'] },
      '52009229': seq({ '00209116': seq({ '00200037': { vr: 'DS', Value: ['1', '0', '0', '0', '1', '0'] } }) }),
      '52009230': seq(...zs.map((z) => ({ '00209113': seq({ '00200032': { vr: 'DS', Value: ['0', '0', String(z)] } }) }))),
    });
    assert.ok(isImage(image));
    const frames = framesOf(image);
    assert.equal(frames.length, 5);
    const v = sortVolume(frames);
    assert.deepEqual(v.slices.map((s) => s.frame), [5, 4, 3, 2, 1]);
    assert.equal(v.spacing, 10);
  });

  test('a multi-frame image whose frames carry no positions of their own is not a volume; one shared position makes them duplicates', () => {
    const base = {
      '00080018': { vr: 'UI', Value: ['1.2.3.98'] },
      '00280010': { vr: 'US', Value: [16] },
      '00280011': { vr: 'US', Value: [16] },
      '00280008': { vr: 'IS', Value: [4] },
      '00200032': { vr: 'DS', Value: [0, 0, 0] },
      '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    };
    refused(framesOf(ds(base)), 'missing-position', /4 of its 4 frames \(image 1.2.3.98 frame 1 first\)/);
    const shared = ds({ ...base, '52009229': seq({ '00209113': seq({ '00200032': { vr: 'DS', Value: [0, 0, 5] } }) }) });
    refused(framesOf(shared), 'duplicate-position', /^Image 1.2.3.98 frame 1 and image 1.2.3.98 frame 2 \(and 2 more\) lie at the same position/);
  });

  test('segmentations and objects without rows and columns are not images', () => {
    assert.equal(isImage(ds({ '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.66.4'] }, '00280010': { vr: 'US', Value: [8] }, '00280011': { vr: 'US', Value: [8] } })), false);
    assert.equal(isImage(ds({ '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.88.11'] } })), false);
    assert.equal(isImage(ds({ '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] }, '00280010': { vr: 'US', Value: [8] }, '00280011': { vr: 'US', Value: [8] } })), true);
  });
});
