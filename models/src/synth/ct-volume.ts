/**
 * CT phantom volumes: an upper abdomen as a stack of axial slices whose structures continue
 * smoothly from slice to slice (body outline with subcutaneous fat and the abdominal wall, liver,
 * spleen, stomach, kidneys, aorta and inferior vena cava, vertebrae with their discs and the spinal
 * canal, ribs running obliquely round the wall, bowel loops as tubes through the visceral fat,
 * paraspinal and psoas muscles, the scanner table), with one to three irregular 3D lesions inside
 * organs, in Hounsfield units as a site's scanner reconstructs them, and a label volume naming every
 * structure and lesion, each one connected object.
 *
 * Geometry is set in fractions of the slice side (as the 2D phantoms of ct.ts) and along the
 * stack in millimetres from just below the liver dome (slice 0, the most cranial): the default 64
 * slices 2.5 mm apart reach below the kidneys; thicker slices show the same anatomy more coarsely,
 * fewer or more slices cover less or more of it. Everything is derived from the seed;
 * anatomy and lesions do not depend on the site, so two sites' volumes from one seed differ only in
 * how they were acquired.
 */
import { Rng } from '../util/random.js';
import { FastNormal, gaussianBlur, smoothstep, subSeed } from './noise.js';
import { blurAlongSlices, fractalNoise3d } from './noise3d.js';
import { radialShape, rasterizeShape, type RadialShape } from './shape.js';
import { siteProfile, type SiteProfile } from './sites.js';
import type { CtOrgan } from './ct.js';
import type { LabelVolume, StructureClass, VolumeObject } from './volume-objects.js';

export const CT_PHASES = ['unenhanced', 'portal venous'] as const;
export type CtPhase = (typeof CT_PHASES)[number];

export interface CtVolumeOptions {
  /** A site name (see SITES) or a profile: noise, kernel, calibration, lesion contrast. */
  site: string | SiteProfile;
  /** Side of the square slices in pixels (default 256). */
  size?: number;
  /** Number of slices (default 64). */
  slices?: number;
  /** Distance between slice centres, mm (default 2.5); the slices are as thick. */
  sliceSpacingMm?: number;
  /** Lesions: how many (1..3, organs drawn at random) or the organs to put them in; default 1..3 at random. */
  lesions?: number | readonly CtOrgan[];
  /** Contrast phase (default drawn from the seed: 60% unenhanced). */
  phase?: CtPhase;
}

export interface CtVolume extends LabelVolume {
  /** Hounsfield units per voxel (same layout as `labels`). */
  hu: Int16Array;
  /** Width and height of a pixel, mm (the field of view is `columns * pixelSpacingMm`). */
  pixelSpacingMm: number;
  sliceSpacingMm: number;
  site: string;
  phase: CtPhase;
  seed: number;
}

/** The craniocaudal range the anatomy spans, mm, whatever the slice count. */
const COVERAGE_MM = 160;
/** The field of view of a slice, mm. */
const FIELD_OF_VIEW_MM = 380;

// tissues (what sets a voxel's attenuation; the object label says what it belongs to)
const T = {
  AIR: 0,
  FAT: 1,
  MUSCLE: 2,
  VISCERAL_FAT: 3,
  BOWEL_WALL: 4,
  BOWEL_CONTENT: 5,
  GAS: 6,
  LIVER: 7,
  SPLEEN: 8,
  KIDNEY: 9,
  AORTA: 10,
  IVC: 11,
  CORTEX: 12,
  MARROW: 13,
  CSF: 14,
  DISC: 15,
  RIB: 16,
  TABLE: 17,
  STOMACH_WALL: 18,
  STOMACH_CONTENT: 19,
  LESION: 20,
} as const;
const TISSUES = 21;

interface Draft {
  name: string;
  structure: StructureClass;
  within?: number;
}

/** Objects as they are created (ids in creation order), and what each voxel holds. */
class Anatomy {
  readonly drafts: Draft[] = [{ name: '', structure: 'table' }]; // index 0 is nothing
  readonly labels: Uint8Array;
  readonly tissue: Uint8Array;
  readonly plane: number;

  constructor(
    readonly size: number,
    readonly slices: number,
  ) {
    this.plane = size * size;
    this.labels = new Uint8Array(this.plane * slices);
    this.tissue = new Uint8Array(this.plane * slices);
  }

  object(name: string, structure: StructureClass, within?: number): number {
    if (this.drafts.length > 255) throw new Error('internal error: a phantom volume has more than 255 objects');
    this.drafts.push({ name, structure, ...(within !== undefined ? { within } : {}) });
    return this.drafts.length - 1;
  }

  structureAt(i: number): StructureClass | null {
    const l = this.labels[i]!;
    return l ? this.drafts[l]!.structure : null;
  }
}

type Onto = (label: number, tissue: number) => boolean;

/** A radial shape whose outline is a blend of two tables (w = 0: a, 1: b), placed and sized anew. */
function blendShape(a: RadialShape, b: RadialShape, w: number, cx: number, cy: number, radius: number, aspect: number, angle: number): RadialShape {
  const table = new Float32Array(a.table.length);
  let lo = Infinity;
  let hi = 0;
  for (let i = 0; i < table.length; i++) {
    const v = a.table[i]! + (b.table[i]! - a.table[i]!) * w;
    table[i] = v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const sx = radius / Math.sqrt(aspect);
  const sy = radius * Math.sqrt(aspect);
  return { cx, cy, sx, sy, angle, table, maxRadius: hi * Math.max(sx, sy), minRadius: lo * Math.min(sx, sy) };
}

function ellipse(cx: number, cy: number, radius: number, aspect = 1, angle = 0): RadialShape {
  const table = new Float32Array(1025).fill(1);
  const sx = radius / Math.sqrt(aspect);
  const sy = radius * Math.sqrt(aspect);
  return { cx, cy, sx, sy, angle, table, maxRadius: Math.max(sx, sy), minRadius: Math.min(sx, sy) };
}

/** sqrt(1 - ((t - centre) / halfWidth)^2) inside, 0 outside: the cross-section radius profile of an ellipsoid. */
function ellipsoidProfile(t: number, centre: number, halfWidth: number): number {
  const u = (t - centre) / halfWidth;
  return u >= 1 || u <= -1 ? 0 : Math.sqrt(1 - u * u);
}

/** Per-slice scratch buffers for rasterising shapes. */
interface SliceCanvas {
  q: Float32Array;
  dist: Float32Array;
}

/** Sets object `id` and `tissue` on slice z's pixels inside `shape` that `onto` accepts (all when omitted). */
function paint(an: Anatomy, c: SliceCanvas, z: number, shape: RadialShape, id: number, tissue: number, onto?: Onto): void {
  if (shape.maxRadius <= 0) return;
  const S = an.size;
  const { x0, y0, x1, y1 } = rasterizeShape(shape, S, S, c.q, c.dist, 1);
  const base = z * an.plane;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = y * S + x;
      if (c.dist[p]! <= 0) continue;
      const i = base + p;
      if (onto && !onto(an.labels[i]!, an.tissue[i]!)) continue;
      an.labels[i] = id;
      an.tissue[i] = tissue;
    }
  }
}

/** A point of a tube's centre line, in pixels (x, y) and millimetres along the stack (z). */
interface TubePoint {
  x: number;
  y: number;
  zMm: number;
}

/**
 * Paints a tube (a sphere of `radiusMm` swept along `points`) as object `id`; `tissueAt` sets each
 * voxel's tissue from its distance to the centre line (mm) and its offset from the nearest point.
 */
function paintTube(
  an: Anatomy,
  points: readonly TubePoint[],
  radiusMm: number,
  geometry: { pixelMm: number; sliceMm: number },
  id: number,
  onto: Onto,
  tissueAt: (distanceMm: number, dyMm: number, nearest: TubePoint) => number,
): void {
  const S = an.size;
  const { pixelMm, sliceMm } = geometry;
  const rPx = radiusMm / pixelMm;
  // distance to the centre line of every voxel near the tube, in a box around it
  let bx0 = Infinity, by0 = Infinity, bz0 = Infinity, bx1 = -Infinity, by1 = -Infinity, bz1 = -Infinity;
  for (const p of points) {
    bx0 = Math.min(bx0, p.x - rPx);
    bx1 = Math.max(bx1, p.x + rPx);
    by0 = Math.min(by0, p.y - rPx);
    by1 = Math.max(by1, p.y + rPx);
    bz0 = Math.min(bz0, p.zMm - radiusMm);
    bz1 = Math.max(bz1, p.zMm + radiusMm);
  }
  const X0 = Math.max(0, Math.floor(bx0));
  const X1 = Math.min(S, Math.ceil(bx1) + 1);
  const Y0 = Math.max(0, Math.floor(by0));
  const Y1 = Math.min(S, Math.ceil(by1) + 1);
  const Z0 = Math.max(0, Math.floor(bz0 / sliceMm - 0.5));
  const Z1 = Math.min(an.slices, Math.ceil(bz1 / sliceMm - 0.5) + 1);
  if (X0 >= X1 || Y0 >= Y1 || Z0 >= Z1) return;
  const bw = X1 - X0;
  const bh = Y1 - Y0;
  const bd = Z1 - Z0;
  const best = new Float32Array(bw * bh * bd).fill(Infinity);
  const nearest = new Int32Array(bw * bh * bd).fill(-1);
  points.forEach((p, k) => {
    for (let z = Z0; z < Z1; z++) {
      const dz = (z + 0.5) * sliceMm - p.zMm;
      if (Math.abs(dz) >= radiusMm) continue;
      const rr = Math.sqrt(radiusMm * radiusMm - dz * dz) / pixelMm;
      const xa = Math.max(X0, Math.floor(p.x - rr));
      const xb = Math.min(X1, Math.ceil(p.x + rr) + 1);
      const ya = Math.max(Y0, Math.floor(p.y - rr));
      const yb = Math.min(Y1, Math.ceil(p.y + rr) + 1);
      for (let y = ya; y < yb; y++) {
        const dy = (y + 0.5 - p.y) * pixelMm;
        for (let x = xa; x < xb; x++) {
          const dx = (x + 0.5 - p.x) * pixelMm;
          const d2 = dx * dx + dy * dy + dz * dz;
          const j = ((z - Z0) * bh + (y - Y0)) * bw + (x - X0);
          if (d2 < best[j]!) {
            best[j] = d2;
            nearest[j] = k;
          }
        }
      }
    }
  });
  for (let z = Z0; z < Z1; z++) {
    for (let y = Y0; y < Y1; y++) {
      for (let x = X0; x < X1; x++) {
        const j = ((z - Z0) * bh + (y - Y0)) * bw + (x - X0);
        const d2 = best[j]!;
        if (!(d2 < radiusMm * radiusMm)) continue;
        const i = z * an.plane + y * S + x;
        if (!onto(an.labels[i]!, an.tissue[i]!)) continue;
        const p = points[nearest[j]!]!;
        an.labels[i] = id;
        an.tissue[i] = tissueAt(Math.sqrt(d2), (y + 0.5 - p.y) * pixelMm, p);
      }
    }
  }
}

/**
 * One phantom volume. Deterministic in (seed, options); the anatomy and the lesions depend only on
 * the seed, the size and the slice geometry, never on the site.
 */
export function ctVolume(seed: number, options: CtVolumeOptions): CtVolume {
  const S = options.size ?? 256;
  const D = options.slices ?? 64;
  const sliceMm = options.sliceSpacingMm ?? COVERAGE_MM / 64;
  if (!Number.isInteger(S) || S < 32 || S > 2048) throw new Error(`the slice size must be an integer in 32..2048, got ${S}`);
  if (!Number.isInteger(D) || D < 1 || D > 1024) throw new Error(`the slice count must be an integer in 1..1024, got ${D}`);
  if (!(sliceMm > 0 && sliceMm <= 20)) throw new Error(`the slice spacing must be in (0, 20] mm, got ${sliceMm}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`the seed must be an integer, got ${seed}`);
  const site = typeof options.site === 'string' ? siteProfile(options.site) : options.site;
  const root = new Rng(seed >>> 0 ^ Math.floor(seed / 4294967296));
  const anatomyRng = new Rng(subSeed(root));
  const lesionRng = new Rng(subSeed(root));
  const textureRng = new Rng(subSeed(root));
  const scannerRng = new Rng(subSeed(root));
  const phaseDraw = root.next();
  const phase: CtPhase = options.phase ?? (phaseDraw < 0.6 ? 'unenhanced' : 'portal venous');

  const an = new Anatomy(S, D);
  const pixelMm = FIELD_OF_VIEW_MM / S;
  const geometry = { pixelMm, sliceMm };
  const canvas: SliceCanvas = { q: new Float32Array(S * S), dist: new Float32Array(S * S) };
  /** Position of slice z along the anatomy: 0 just below the liver dome, 1 below the kidneys (COVERAGE_MM further down). */
  const tOf = (z: number) => ((z + 0.5) * sliceMm) / COVERAGE_MM;
  const A = anatomyRng;

  // --- the patient's build ---
  const a0 = A.uniform(0.38, 0.45) * S; // half width
  const b0 = A.uniform(0.27, 0.33) * S; // half height
  const bx = S * (0.5 + A.normal(0, 0.01));
  const by = S * (0.46 + A.normal(0, 0.01));
  const widen = A.uniform(-0.06, 0.08);
  const bodyA = radialShape(A, { cx: 0, cy: 0, radius: 1, irregularity: 0.05, maxHarmonic: 4 });
  const bodyB = radialShape(A, { cx: 0, cy: 0, radius: 1, irregularity: 0.05, maxHarmonic: 4 });
  const fat0 = A.uniform(0.05, 0.15);
  const wall = A.uniform(0.04, 0.07);
  const half = (t: number) => ({ a: a0 * (1 + widen * (t - 0.5)), b: b0 * (1 + 0.5 * widen * (t - 0.5)) });
  const fatAt = (t: number) => fat0 * (1 + 0.15 * Math.sin(2 * t + 1));
  const bMax = b0 * (1 + 0.5 * Math.abs(widen));

  // objects (created in this order; empty ones are dropped at the end)
  const id = {
    table: an.object('table', 'table'),
    subcutaneousFat: an.object('subcutaneous fat', 'subcutaneous fat'),
    wallMuscle: an.object('abdominal wall muscles', 'muscle'),
    visceralFat: an.object('visceral fat', 'visceral fat'),
    paraspinalR: an.object('right paraspinal muscle', 'muscle'),
    paraspinalL: an.object('left paraspinal muscle', 'muscle'),
    psoasR: an.object('right psoas', 'muscle'),
    psoasL: an.object('left psoas', 'muscle'),
    liver: an.object('liver', 'liver'),
    spleen: an.object('spleen', 'spleen'),
    stomach: an.object('stomach', 'stomach'),
    kidneyR: an.object('right kidney', 'kidney'),
    kidneyL: an.object('left kidney', 'kidney'),
    aorta: an.object('aorta', 'aorta'),
    ivc: an.object('inferior vena cava', 'vena cava'),
    canal: an.object('spinal canal', 'spinal canal'),
  };

  // table under the patient, the whole length
  const tableTop = Math.round(by + bMax * 1.02 + 0.015 * S);
  const tableH = Math.max(2, Math.round(0.025 * S));
  for (let z = 0; z < D; z++) {
    for (let y = tableTop; y < Math.min(S, tableTop + tableH); y++) {
      for (let x = Math.floor(0.08 * S); x < Math.ceil(0.92 * S); x++) {
        const i = z * an.plane + y * S + x;
        an.labels[i] = id.table;
        an.tissue[i] = T.TABLE;
      }
    }
  }

  // body: subcutaneous fat, the muscle wall, and visceral fat inside (what the organs are painted onto)
  for (let z = 0; z < D; z++) {
    const t = tOf(z);
    const { a, b } = half(t);
    const body = blendShape(bodyA, bodyB, smoothstep(0, 1, t), bx, by, Math.sqrt(a * b), b / a, 0);
    const { x0, y0, x1, y1 } = rasterizeShape(body, S, S, canvas.q, canvas.dist, 1);
    const fat = fatAt(t);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const p = y * S + x;
        if (canvas.dist[p]! <= 0) continue;
        const q = canvas.q[p]!;
        const i = z * an.plane + p;
        if (q > 1 - fat) {
          an.labels[i] = id.subcutaneousFat;
          an.tissue[i] = T.FAT;
        } else if (q > 1 - fat - wall) {
          an.labels[i] = id.wallMuscle;
          an.tissue[i] = T.MUSCLE;
        } else {
          an.labels[i] = id.visceralFat;
          an.tissue[i] = T.VISCERAL_FAT;
        }
      }
    }
  }
  const isVisceral: Onto = (l) => l === id.visceralFat;
  const inside: Onto = (l) => l === id.visceralFat || l === id.wallMuscle;

  // spine geometry
  const spineDy = A.uniform(0.55, 0.62);
  const vr = A.uniform(0.085, 0.1) * a0;
  const spineY = (t: number) => by + spineDy * half(t).b;
  const vertebraMm = A.uniform(31, 37);
  const discMm = A.uniform(7, 10);
  const vertebraPhaseMm = A.uniform(0, vertebraMm);
  const LEVELS = ['T10', 'T11', 'T12', 'L1', 'L2', 'L3', 'L4', 'L5', 'S1'];
  const firstLevel = A.int(0, 2);

  // muscles beside the spine: paraspinal all along, psoas growing from the middle down
  for (let z = 0; z < D; z++) {
    const t = tOf(z);
    const { a } = half(t);
    const sy = spineY(t);
    paint(an, canvas, z, ellipse(bx - 0.2 * a, sy + 1.6 * vr, 0.13 * a, 0.8, -0.3), id.paraspinalR, T.MUSCLE, inside);
    paint(an, canvas, z, ellipse(bx + 0.2 * a, sy + 1.6 * vr, 0.13 * a, 0.8, 0.3), id.paraspinalL, T.MUSCLE, inside);
    const psoas = smoothstep(0.4, 0.95, t);
    if (psoas > 0.05) {
      const r = psoas * 0.55 * vr;
      paint(an, canvas, z, ellipse(bx - 1.25 * vr - r * 0.5, sy - 0.1 * vr, r, 1.2, 0.4), id.psoasR, T.MUSCLE, isVisceral);
      paint(an, canvas, z, ellipse(bx + 1.25 * vr + r * 0.5, sy - 0.1 * vr, r, 1.2, -0.4), id.psoasL, T.MUSCLE, isVisceral);
    }
  }

  // solid organs: each an irregular outline blended between two shapes along its length
  const organ = (o: {
    id: number;
    tissue: number;
    centre: number;
    halfWidth: number;
    radius: number;
    aspect: [number, number];
    angle: number;
    at: (t: number, a: number, b: number) => [number, number];
    irregularity: number;
    onto: Onto;
  }) => {
    const s0 = radialShape(A, { cx: 0, cy: 0, radius: 1, irregularity: o.irregularity, maxHarmonic: 5 });
    const s1 = radialShape(A, { cx: 0, cy: 0, radius: 1, irregularity: o.irregularity, maxHarmonic: 5 });
    for (let z = 0; z < D; z++) {
      const t = tOf(z);
      const prof = ellipsoidProfile(t, o.centre, o.halfWidth);
      if (prof <= 0) continue;
      const { a, b } = half(t);
      const [cx, cy] = o.at(t, a, b);
      const w = smoothstep(o.centre - o.halfWidth, o.centre + o.halfWidth, t);
      const aspect = o.aspect[0] + (o.aspect[1] - o.aspect[0]) * w;
      paint(an, canvas, z, blendShape(s0, s1, w, cx, cy, o.radius * a * prof, aspect, o.angle), o.id, o.tissue, o.onto);
    }
  };
  const kidneyT = A.uniform(0.58, 0.66);
  const liverLow = A.uniform(0.55, 0.7);
  organ({
    id: id.kidneyR, tissue: T.KIDNEY, centre: kidneyT + 0.04, halfWidth: A.uniform(0.27, 0.33), radius: A.uniform(0.12, 0.15),
    aspect: [A.uniform(1.3, 1.7), A.uniform(1.3, 1.7)], angle: A.uniform(0.2, 0.5), irregularity: 0.06, onto: inside,
    at: (_t, a, b) => [bx - 0.32 * a, by + 0.43 * b],
  });
  organ({
    id: id.kidneyL, tissue: T.KIDNEY, centre: kidneyT, halfWidth: A.uniform(0.27, 0.33), radius: A.uniform(0.12, 0.15),
    aspect: [A.uniform(1.3, 1.7), A.uniform(1.3, 1.7)], angle: -A.uniform(0.2, 0.5), irregularity: 0.06, onto: inside,
    at: (_t, a, b) => [bx + 0.32 * a, by + 0.43 * b],
  });
  const liverShift = A.uniform(0.36, 0.44);
  organ({
    id: id.liver, tissue: T.LIVER, centre: liverLow / 2 - 0.12, halfWidth: liverLow / 2 + 0.12, radius: A.uniform(0.46, 0.55),
    aspect: [A.uniform(0.95, 1.2), A.uniform(1.1, 1.5)], angle: A.uniform(-0.3, 0.3), irregularity: A.uniform(0.08, 0.15), onto: inside,
    at: (t, a, b) => [bx - (liverShift + 0.12 * t) * a, by - (0.12 - 0.25 * t) * b],
  });
  organ({
    id: id.spleen, tissue: T.SPLEEN, centre: A.uniform(0.15, 0.25), halfWidth: A.uniform(0.22, 0.3), radius: A.uniform(0.17, 0.23),
    aspect: [A.uniform(1.3, 1.7), A.uniform(1.3, 1.7)], angle: A.uniform(-0.6, -0.2), irregularity: 0.1, onto: inside,
    at: (_t, a, b) => [bx + 0.56 * a, by + 0.08 * b],
  });
  // great vessels in front of the spine
  const aortaDx = A.uniform(0.04, 0.1);
  const aortaR = A.uniform(0.65, 0.85) * vr;
  const ivcDx = A.uniform(0.1, 0.16);
  for (let z = 0; z < D; z++) {
    const t = tOf(z);
    const { a } = half(t);
    const sy = spineY(t);
    paint(an, canvas, z, ellipse(bx + aortaDx * a, sy - 1.1 * vr - aortaR, aortaR * (1 - 0.1 * t)), id.aorta, T.AORTA, inside);
    const ivcOnto: Onto = (l, ti) => inside(l, ti) || l === id.liver;
    paint(an, canvas, z, ellipse(bx - ivcDx * a, sy - 1.15 * vr - 0.6 * vr, 0.7 * vr, 0.7, 0.2), id.ivc, T.IVC, ivcOnto);
  }

  // the stomach: wall, fluid, and gas in front (the patient lies on the back)
  {
    const s0 = radialShape(A, { cx: 0, cy: 0, radius: 1, irregularity: 0.12, maxHarmonic: 5 });
    const s1 = radialShape(A, { cx: 0, cy: 0, radius: 1, irregularity: 0.12, maxHarmonic: 5 });
    const centre = A.uniform(0.12, 0.2);
    const halfWidth = A.uniform(0.2, 0.3);
    const radius = A.uniform(0.16, 0.22);
    const gas = A.uniform(0.15, 0.5);
    const wallPx = Math.max(1, 2.5 / pixelMm);
    for (let z = 0; z < D; z++) {
      const t = tOf(z);
      const prof = ellipsoidProfile(t, centre, halfWidth);
      if (prof <= 0) continue;
      const { a, b } = half(t);
      const shape = blendShape(s0, s1, smoothstep(0, 1, t), bx + 0.22 * a, by - 0.32 * b, radius * a * prof, 0.8, 0.3);
      const { x0, y0, x1, y1 } = rasterizeShape(shape, S, S, canvas.q, canvas.dist, 1);
      const level = shape.cy - shape.maxRadius + gas * 2 * shape.maxRadius;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const p = y * S + x;
          const d = canvas.dist[p]!;
          const i = z * an.plane + p;
          if (d <= 0 || !isVisceral(an.labels[i]!, an.tissue[i]!)) continue;
          an.labels[i] = id.stomach;
          an.tissue[i] = d < wallPx ? T.STOMACH_WALL : y + 0.5 < level ? T.GAS : T.STOMACH_CONTENT;
        }
      }
    }
  }

  // bowel loops: tubes wandering through the visceral fat below the liver and the stomach
  {
    const loops = A.int(4, 9);
    for (let k = 0; k < loops; k++) {
      const loopId = an.object(`bowel loop ${k + 1}`, 'bowel');
      const colon = k < 2;
      const radiusMm = colon ? A.uniform(12, 17) : A.uniform(7, 11);
      const wallMm = A.uniform(1.5, 3);
      const gas = A.next() < 0.35 ? A.uniform(0.15, 0.5) : 0;
      // start low and in front, wander with a slowly turning direction, kept inside the abdomen
      let x = bx + A.uniform(-0.5, 0.5) * a0;
      let y = by + A.uniform(-0.55, 0.2) * b0;
      let zMm = A.uniform(0.35, 1.05) * COVERAGE_MM;
      let theta = A.uniform(0, 2 * Math.PI);
      let phi = A.uniform(-0.6, 0.6);
      const steps = A.int(100, 260);
      const points: TubePoint[] = [];
      const stepPx = 1.2;
      for (let s = 0; s < steps; s++) {
        points.push({ x, y, zMm });
        theta += A.normal(0, 0.18);
        phi = Math.max(-1.2, Math.min(1.2, phi + A.normal(0, 0.12)));
        const t = zMm / COVERAGE_MM;
        const { a, b } = half(Math.min(1, Math.max(0, t)));
        // pull back towards the lower abdomen's centre when near the wall or the spine
        const u = (x - bx) / (0.62 * a);
        const v = (y - (by - 0.12 * b)) / (0.55 * b);
        if (u * u + v * v > 1) theta = Math.atan2(-(y - by), -(x - bx)) + A.normal(0, 0.3);
        if (t < 0.3) phi = Math.abs(phi) + 0.2;
        if (t > 1.05) phi = -Math.abs(phi) - 0.2;
        x += stepPx * Math.cos(theta) * Math.cos(phi);
        y += stepPx * Math.sin(theta) * Math.cos(phi);
        zMm += stepPx * pixelMm * Math.sin(phi);
      }
      const gasLevelMm = radiusMm * (2 * gas - 1);
      paintTube(an, points, radiusMm, geometry, loopId, isVisceral, (d, dy) =>
        d > radiusMm - wallMm ? T.BOWEL_WALL : gas > 0 && dy < gasLevelMm ? T.GAS : T.BOWEL_CONTENT,
      );
    }
  }

  // the vertebral column: vertebrae (body, and the arch round the canal on most of their height) and discs
  {
    const vertebraIds = new Map<number, number>();
    const discIds = new Map<number, number>();
    const period = vertebraMm + discMm;
    for (let z = 0; z < D; z++) {
      const t = tOf(z);
      const sy = spineY(t);
      const pos = (z + 0.5) * sliceMm + vertebraPhaseMm;
      const k = Math.floor(pos / period);
      const u = (pos - k * period) / period;
      const disc = u > vertebraMm / period;
      const level = LEVELS[Math.min(LEVELS.length - 1, firstLevel + k)]!;
      const any: Onto = () => true;
      if (disc) {
        let d = discIds.get(k);
        if (d === undefined) {
          d = an.object(`disc ${level}-${LEVELS[Math.min(LEVELS.length - 1, firstLevel + k + 1)]}`, 'intervertebral disc');
          discIds.set(k, d);
        }
        paint(an, canvas, z, ellipse(bx, sy, vr * 0.97, 0.85), d, T.DISC, any);
      } else {
        let v = vertebraIds.get(k);
        if (v === undefined) {
          v = an.object(`vertebra ${level}`, 'vertebra');
          vertebraIds.set(k, v);
        }
        const cortexPx = Math.max(1.2, 0.012 * S);
        paint(an, canvas, z, ellipse(bx, sy, vr, 0.85), v, T.CORTEX, any);
        paint(an, canvas, z, ellipse(bx, sy, vr - cortexPx, 0.85), v, T.MARROW, any);
        const uv = u / (vertebraMm / period);
        if (uv > 0.1 && uv < 0.8) {
          // pedicles, the lamina ring round the canal and the spinous process, joined to the body
          paint(an, canvas, z, ellipse(bx - 0.45 * vr, sy + 0.95 * vr, 0.3 * vr, 1.6), v, T.CORTEX, any);
          paint(an, canvas, z, ellipse(bx + 0.45 * vr, sy + 0.95 * vr, 0.3 * vr, 1.6), v, T.CORTEX, any);
          paint(an, canvas, z, ellipse(bx, sy + 1.35 * vr, 0.55 * vr), v, T.CORTEX, any);
          paint(an, canvas, z, ellipse(bx, sy + 2.05 * vr, 0.42 * vr, 2.4), v, T.CORTEX, any);
        }
      }
      paint(an, canvas, z, ellipse(bx, sy + 1.35 * vr, 0.33 * vr), id.canal, T.CSF, () => true);
    }
  }

  // ribs: oblique tubes round the wall, from behind (high) to the front (low), below the top of the stack
  {
    const ribR = Math.max(1.5, 0.014 * S) * pixelMm;
    const spacingMm = A.uniform(22, 28);
    const startMm = -A.uniform(30, 60);
    const lowest = A.uniform(0.55, 0.7) * COVERAGE_MM;
    const slope = A.uniform(22, 34); // mm lower per radian towards the front
    for (const side of [-1, 1]) {
      for (let r = 0; startMm + r * spacingMm < lowest; r++) {
        const z0 = startMm + r * spacingMm + (side > 0 ? A.uniform(-4, 4) : 0);
        const ribId = an.object(`${side < 0 ? 'right' : 'left'} rib ${r + 1}`, 'rib');
        const th0 = A.uniform(0.35, 0.55);
        const th1 = A.uniform(1.9, 2.4) - 0.15 * r;
        const points: TubePoint[] = [];
        for (let th = th0; th <= th1; th += 0.01) {
          const zMm = z0 + slope * (th - th0);
          const t = Math.min(1, Math.max(0, zMm / COVERAGE_MM));
          const { a, b } = half(t);
          const k = 1 - fatAt(t) - wall * 0.5;
          points.push({ x: bx + side * Math.sin(th) * a * k * 0.98, y: by + Math.cos(th) * b * k * 0.98, zMm });
        }
        paintTube(an, points, ribR, geometry, ribId, (l) => l === id.wallMuscle || l === id.subcutaneousFat, () => T.RIB);
      }
    }
  }

  // lesions: irregular 3D blobs well inside an organ
  const organIds: Record<CtOrgan, number[]> = { liver: [id.liver], spleen: [id.spleen], kidney: [id.kidneyR, id.kidneyL] };
  const lesionOrgans: CtOrgan[] = [];
  if (Array.isArray(options.lesions)) lesionOrgans.push(...(options.lesions as CtOrgan[]));
  else {
    const count = typeof options.lesions === 'number' ? options.lesions : lesionRng.int(1, 4);
    if (!Number.isInteger(count) || count < 1 || count > 3) throw new Error(`a phantom volume has 1 to 3 lesions, got ${count}`);
    for (let k = 0; k < count; k++) {
      const p = lesionRng.next();
      lesionOrgans.push(p < 0.6 ? 'liver' : p < 0.8 ? 'spleen' : 'kidney');
    }
  }
  if (lesionOrgans.length < 1 || lesionOrgans.length > 3) throw new Error(`a phantom volume has 1 to 3 lesions, got ${lesionOrgans.length}`);
  const lesionHu = new Map<number, number>();
  const lesionTexture = new Map<number, number>();
  lesionOrgans.forEach((o, k) => {
    if (!(o in organIds)) throw new Error(`unknown lesion organ '${String(o)}' (choose liver, spleen, kidney)`);
    // an organ this stack shows (a short stack may miss the kidneys): the largest one when the asked one is absent
    const voxels = (id: number) => {
      let n = 0;
      for (let i = 0; i < an.labels.length; i++) if (an.labels[i] === id) n++;
      return n;
    };
    let candidates = organIds[o].filter((id) => voxels(id) > 0);
    if (!candidates.length) {
      const all = [id.liver, id.spleen, id.kidneyR, id.kidneyL].map((i) => ({ i, n: voxels(i) })).sort((a, b) => b.n - a.n);
      if (!all[0]!.n) throw new Error('this phantom volume shows no organ to put a lesion in (too few slices?)');
      candidates = [all[0]!.i];
    }
    const organId = candidates[lesionRng.int(0, candidates.length)]!;
    const lesionId = an.object(`lesion ${k + 1}`, 'lesion', organId);
    placeLesion(an, lesionRng, organId, lesionId, geometry);
    lesionHu.set(lesionId, lesionRng.next() < 0.7 ? -1 : 1);
    lesionTexture.set(lesionId, lesionRng.uniform(0.8, 1.2));
  });

  connectObjects(an);

  // attenuation per tissue for this patient and phase
  const X = textureRng;
  const portal = phase === 'portal venous';
  const hu0 = new Float32Array(TISSUES);
  hu0[T.AIR] = -1000;
  hu0[T.FAT] = X.uniform(-115, -90);
  hu0[T.MUSCLE] = portal ? X.uniform(55, 65) : X.uniform(45, 55);
  hu0[T.VISCERAL_FAT] = X.uniform(-110, -80);
  hu0[T.BOWEL_WALL] = portal ? X.uniform(80, 110) : X.uniform(35, 48);
  hu0[T.BOWEL_CONTENT] = X.uniform(5, 25);
  hu0[T.GAS] = -990;
  hu0[T.LIVER] = portal ? X.uniform(100, 120) : X.uniform(54, 66);
  hu0[T.SPLEEN] = portal ? X.uniform(105, 125) : X.uniform(44, 52);
  hu0[T.KIDNEY] = portal ? X.uniform(150, 190) : X.uniform(28, 36);
  hu0[T.AORTA] = portal ? X.uniform(140, 190) : X.uniform(38, 50);
  hu0[T.IVC] = portal ? X.uniform(110, 140) : X.uniform(36, 48);
  hu0[T.CORTEX] = X.uniform(650, 900);
  hu0[T.MARROW] = X.uniform(180, 280);
  hu0[T.CSF] = X.uniform(5, 15);
  hu0[T.DISC] = X.uniform(70, 95);
  hu0[T.RIB] = X.uniform(400, 650);
  hu0[T.TABLE] = X.uniform(150, 300);
  hu0[T.STOMACH_WALL] = portal ? X.uniform(70, 95) : X.uniform(35, 45);
  hu0[T.STOMACH_CONTENT] = X.uniform(0, 20);
  const organTissue = (organId: number) => (organId === id.liver ? T.LIVER : organId === id.spleen ? T.SPLEEN : T.KIDNEY);
  const lesionValue = new Float32Array(256);
  for (const [lid, sign] of lesionHu) {
    const within = an.drafts[lid]!.within!;
    const contrast = site.ct.lesionContrastHu * (portal ? 1.4 : 1) * lesionTexture.get(lid)!;
    lesionValue[lid] = hu0[organTissue(within)]! + sign * contrast;
  }

  const n = an.plane * D;
  const mottle = fractalNoise3d(X, S, S, D, [10 * (S / 256), 10 * (S / 256), Math.max(1, (10 * pixelMm) / sliceMm)], 3, 0.5);
  const inner = fractalNoise3d(X, S, S, D, [5 * (S / 256), 5 * (S / 256), Math.max(1, (5 * pixelMm) / sliceMm)], 2, 0.5);
  const hu = new Float32Array(n);
  const soft = new Uint8Array(TISSUES);
  for (const t of [T.MUSCLE, T.BOWEL_WALL, T.BOWEL_CONTENT, T.LIVER, T.SPLEEN, T.KIDNEY, T.AORTA, T.IVC, T.CSF, T.DISC, T.STOMACH_WALL, T.STOMACH_CONTENT, T.LESION]) soft[t] = 1;
  for (let i = 0; i < n; i++) {
    const ti = an.tissue[i]!;
    let v = ti === T.LESION ? lesionValue[an.labels[i]!]! : hu0[ti]!;
    if (soft[ti]) v += 5 * mottle[i]!;
    if (ti === T.LESION) v += 0.12 * site.ct.lesionContrastHu * inner[i]!;
    if (ti === T.MARROW || ti === T.RIB) v += 40 * inner[i]!;
    hu[i] = v;
  }

  // the scanner: in-plane kernel, slice thickness, correlated noise, calibration offset
  const plane = an.plane;
  const scratch = new Float32Array(plane);
  const scale = S / 256;
  for (let z = 0; z < D; z++) gaussianBlur(hu.subarray(z * plane, (z + 1) * plane), S, S, site.ct.blurSigma * scale, scratch);
  blurAlongSlices(hu, plane, D, 0.15);
  const normal = new FastNormal(scannerRng);
  const noise = new Float32Array(plane);
  const out = new Int16Array(n);
  for (let z = 0; z < D; z++) {
    noise.fill(0);
    normal.addTo(noise, 1);
    gaussianBlur(noise, S, S, 0.7 * scale, scratch);
    let ss = 0;
    for (let i = 0; i < plane; i++) ss += noise[i]! * noise[i]!;
    const k = site.ct.noiseHu / Math.sqrt(ss / plane || 1);
    for (let i = 0; i < plane; i++) {
      let v = Math.round(hu[z * plane + i]! + k * noise[i]! + site.ct.huOffset);
      v = v < -1024 ? -1024 : v > 3071 ? 3071 : v;
      out[z * plane + i] = v;
    }
  }

  const objects = numberObjects(an);
  return { columns: S, rows: S, slices: D, labels: an.labels, objects, hu: out, pixelSpacingMm: pixelMm, sliceSpacingMm: sliceMm, site: site.name, phase, seed };
}

/**
 * Places lesion `lesionId` in organ `organId`: a star-shaped blob (an ellipsoid whose radius varies
 * smoothly with direction), 4-22 mm in radius, whose voxels and a rim of 1.5 pixels and one slice
 * around them all belong to the organ; shrinks and retries until it fits (a few voxels at worst).
 */
function placeLesion(an: Anatomy, rng: Rng, organId: number, lesionId: number, g: { pixelMm: number; sliceMm: number }): void {
  const S = an.size;
  const organVoxels: number[] = [];
  for (let i = 0; i < an.labels.length; i++) if (an.labels[i] === organId) organVoxels.push(i);
  if (!organVoxels.length) throw new Error(`internal error: the phantom's ${an.drafts[organId]!.name} has no voxels`);
  const bumps = Array.from({ length: 6 }, () => {
    const u = [rng.normal(), rng.normal(), rng.normal()];
    const len = Math.hypot(u[0]!, u[1]!, u[2]!) || 1;
    return { u: u.map((v) => v / len) as [number, number, number], a: rng.uniform(-1, 1) };
  });
  const irregularity = rng.uniform(0.08, 0.3);
  const angle = rng.uniform(0, Math.PI);
  const aspect = rng.uniform(0.75, 1.3);
  const zAspect = rng.uniform(0.7, 1.3);
  let radiusMm = rng.uniform(6, 22);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  // r(direction) of the unit blob
  const shapeAt = (dx: number, dy: number, dz: number): number => {
    const len = Math.hypot(dx, dy, dz) || 1;
    let f = 0;
    for (const b of bumps) f += b.a * Math.exp(3 * ((dx * b.u[0] + dy * b.u[1] + dz * b.u[2]) / len - 1));
    return 1 + irregularity * Math.max(-1, Math.min(1, f));
  };
  const blob = (cx: number, cy: number, cz: number, rMm: number, marginPx: number, marginSlices: number, visit: (i: number) => boolean): boolean => {
    const rx = (rMm * Math.sqrt(aspect)) / g.pixelMm;
    const ry = rMm / Math.sqrt(aspect) / g.pixelMm;
    const rz = (rMm * zAspect) / g.sliceMm;
    const reach = (Math.max(rx, ry) * (1 + irregularity)) + marginPx + 1;
    const reachZ = rz * (1 + irregularity) + marginSlices + 1;
    for (let z = Math.max(0, Math.floor(cz - reachZ)); z < Math.min(an.slices, Math.ceil(cz + reachZ) + 1); z++) {
      for (let y = Math.max(0, Math.floor(cy - reach)); y < Math.min(S, Math.ceil(cy + reach) + 1); y++) {
        for (let x = Math.max(0, Math.floor(cx - reach)); x < Math.min(S, Math.ceil(cx + reach) + 1); x++) {
          const ex = x + 0.5 - cx;
          const ey = y + 0.5 - cy;
          const ez = z + 0.5 - cz;
          const u = (ex * cos + ey * sin) / (rx + marginPx);
          const v = (-ex * sin + ey * cos) / (ry + marginPx);
          const w = ez / (rz + marginSlices);
          const rho = Math.sqrt(u * u + v * v + w * w);
          if (rho < shapeAt(u, v, w) && !visit(z * an.plane + y * S + x)) return false;
        }
      }
    }
    return true;
  };
  for (let attempt = 0; attempt < 120; attempt++) {
    if (attempt > 0 && attempt % 12 === 0) radiusMm = Math.max(2, radiusMm * 0.8);
    const at = organVoxels[rng.int(0, organVoxels.length)]!;
    const cz = Math.floor(at / an.plane) + 0.5;
    const cy = Math.floor((at % an.plane) / S) + 0.5;
    const cx = (at % S) + 0.5;
    if (!blob(cx, cy, cz, radiusMm, 1.5, 1, (i) => an.labels[i] === organId)) continue;
    blob(cx, cy, cz, radiusMm, 0, 0, (i) => {
      an.labels[i] = lesionId;
      an.tissue[i] = T.LESION;
      return true;
    });
    if (an.labels[at] === lesionId) return;
  }
  // the organ is too thin anywhere for more: a single voxel in its middle
  const at = organVoxels[Math.floor(organVoxels.length / 2)]!;
  an.labels[at] = lesionId;
  an.tissue[at] = T.LESION;
}

/**
 * Makes every object one connected piece (6-connected): an object's largest piece keeps it, other
 * pieces of at least 1% of it (and 40 voxels) become objects of their own ('... part 2'), smaller
 * ones join the object they touch most and take its tissue.
 */
function connectObjects(an: Anatomy): void {
  const { labels, tissue, size: S, slices: D, plane } = an;
  const n = labels.length;
  const comp = new Int32Array(n);
  const sizes: number[] = [0];
  const owner: number[] = [0];
  const stack = new Int32Array(n);
  for (let s = 0; s < n; s++) {
    const l = labels[s]!;
    if (!l || comp[s]) continue;
    const c = sizes.length;
    let top = 0;
    let size = 0;
    stack[top++] = s;
    comp[s] = c;
    while (top) {
      const i = stack[--top]!;
      size++;
      const x = i % S;
      const y = Math.floor(i / S) % S;
      const z = Math.floor(i / plane);
      const visit = (j: number) => {
        if (!comp[j] && labels[j] === l) {
          comp[j] = c;
          stack[top++] = j;
        }
      };
      if (x > 0) visit(i - 1);
      if (x < S - 1) visit(i + 1);
      if (y > 0) visit(i - S);
      if (y < S - 1) visit(i + S);
      if (z > 0) visit(i - plane);
      if (z < D - 1) visit(i + plane);
    }
    sizes.push(size);
    owner.push(l);
  }
  const largest = new Map<number, number>();
  for (let c = 1; c < sizes.length; c++) {
    const best = largest.get(owner[c]!);
    if (best === undefined || sizes[c]! > sizes[best]!) largest.set(owner[c]!, c);
  }
  const relabel = new Int32Array(sizes.length); // 0: keep, > 0: a new object, -1: merge into a neighbour
  const parts = new Map<number, number>();
  for (let c = 1; c < sizes.length; c++) {
    const l = owner[c]!;
    const main = largest.get(l)!;
    if (c === main) continue;
    const d = an.drafts[l]!;
    if (sizes[c]! >= Math.max(40, 0.01 * sizes[main]!) && d.structure !== 'lesion') {
      const k = (parts.get(l) ?? 1) + 1;
      parts.set(l, k);
      relabel[c] = an.object(`${d.name} part ${k}`, d.structure, d.within);
    } else {
      relabel[c] = -1;
    }
  }
  // a small piece joins the label most of its outside neighbours carry, with that neighbour's tissue
  const votes = new Map<number, Map<number, { count: number; tissue: number }>>();
  for (let i = 0; i < n; i++) {
    const c = comp[i]!;
    if (!c || relabel[c] !== -1) continue;
    const x = i % S;
    const y = Math.floor(i / S) % S;
    const z = Math.floor(i / plane);
    for (const j of [x > 0 ? i - 1 : -1, x < S - 1 ? i + 1 : -1, y > 0 ? i - S : -1, y < S - 1 ? i + S : -1, z > 0 ? i - plane : -1, z < D - 1 ? i + plane : -1]) {
      if (j < 0 || comp[j] === c) continue;
      // the label the neighbouring piece ends with (air, its own object or its new 'part'); merged pieces do not count
      const cj = comp[j]!;
      if (cj && relabel[cj] === -1) continue;
      const label = cj ? (relabel[cj]! > 0 ? relabel[cj]! : labels[j]!) : 0;
      let v = votes.get(c);
      if (!v) votes.set(c, (v = new Map()));
      const e = v.get(label);
      if (e) e.count++;
      else v.set(label, { count: 1, tissue: tissue[j]! });
    }
  }
  const into = new Map<number, { label: number; tissue: number }>();
  for (const [c, v] of votes) {
    let best: { label: number; tissue: number; count: number } | null = null;
    for (const [label, e] of v) if (!best || e.count > best.count || (e.count === best.count && label < best.label)) best = { label, ...e };
    into.set(c, { label: best!.label, tissue: best!.tissue });
  }
  for (let i = 0; i < n; i++) {
    const c = comp[i]!;
    if (!c) continue;
    const r = relabel[c]!;
    if (r > 0) labels[i] = r;
    else if (r === -1) {
      const t = into.get(c) ?? { label: 0, tissue: T.AIR };
      labels[i] = t.label;
      tissue[i] = t.tissue;
    }
  }
}

/** Drops objects without voxels, numbers the rest 1.. in creation order, and writes the legend. */
function numberObjects(an: Anatomy): VolumeObject[] {
  const { labels, plane } = an;
  const n = labels.length;
  const count = new Int32Array(an.drafts.length);
  const first = new Int32Array(an.drafts.length).fill(-1);
  const last = new Int32Array(an.drafts.length).fill(-1);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    if (!l) continue;
    count[l]!++;
    const z = Math.floor(i / plane);
    if (first[l] === -1) first[l] = z;
    last[l] = z;
  }
  const renumber = new Uint8Array(256);
  let next = 1;
  for (let l = 1; l < an.drafts.length; l++) if (count[l]) renumber[l] = next++;
  const objects: VolumeObject[] = [];
  for (let l = 1; l < an.drafts.length; l++) {
    if (!count[l]) continue;
    const d = an.drafts[l]!;
    objects.push({
      id: renumber[l]!,
      name: d.name,
      structure: d.structure,
      firstSlice: first[l]!,
      lastSlice: last[l]!,
      voxels: count[l]!,
      ...(d.within !== undefined && renumber[d.within] ? { within: renumber[d.within]! } : {}),
    });
  }
  for (let i = 0; i < n; i++) labels[i] = renumber[labels[i]!]!;
  return objects;
}
