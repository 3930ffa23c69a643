/**
 * CT-like phantoms: one axial slice of an abdomen in Hounsfield units (air, subcutaneous fat,
 * abdominal wall muscle, bowel and visceral fat, liver, spleen, kidneys, vessels, a vertebra with
 * its cortical ring, ribs, the scanner table) with one irregular lesion inside an organ, rendered
 * with a soft-tissue window. The site sets the reconstruction kernel (blur), the noise and a
 * calibration offset, and how much the lesion differs from its organ.
 *
 * The mask is the set of pixels whose centres lie inside the lesion's shape; the lesion is placed
 * so that the shape and a 1.5 px rim lie inside its organ.
 */
import { rgbImage, type RgbImage } from '../image/rgb-image.js';
import { Rng } from '../util/random.js';
import type { Phantom } from './dermoscopy.js';
import { FastNormal, fractalNoise, gaussianBlur, subSeed } from './noise.js';
import { moveShape, radialShape, rasterizeShape, type RadialShape } from './shape.js';
import type { SiteProfile } from './sites.js';

/** The soft-tissue window the phantoms are rendered with. */
export const CT_WINDOW = Object.freeze({ center: 40, width: 400 });

export type CtOrgan = 'liver' | 'spleen' | 'kidney';

export interface CtPhantom extends Phantom {
  /** Hounsfield units, row-major size * size. */
  hu: Int16Array;
  /** The organ that holds the lesion, 0/1 per pixel (lesion pixels included). */
  organMask: Uint8Array;
  organ: CtOrgan;
  /** Nominal attenuation of the organ and of the lesion, HU, before noise, blur and the site's offset. */
  organHu: number;
  lesionHu: number;
}

// tissue labels
const AIR = 0;
const FAT = 1;
const MUSCLE = 2;
const BOWEL = 3;
const VISCERAL_FAT = 4;
const GAS = 5;
const LIVER = 6;
const SPLEEN = 7;
const KIDNEY_R = 8;
const KIDNEY_L = 9;
const VESSEL = 10;
const CORTEX = 11;
const MARROW = 12;
const CSF = 13;
const TABLE = 14;
const LESION = 15;
const LABELS = 16;

/**
 * Renders HU values with a window (centre, width) as gray RGB: values at or below
 * centre - width/2 are black, at or above centre + width/2 white, linear in between.
 */
export function windowToRgb(hu: ArrayLike<number>, size: number, center: number = CT_WINDOW.center, width: number = CT_WINDOW.width): RgbImage {
  if (hu.length !== size * size) throw new Error(`${hu.length} HU values do not fit a ${size}x${size} image`);
  if (!(width > 0)) throw new Error(`window width must be positive, got ${width}`);
  const image = rgbImage(size, size);
  const out = image.data;
  const lo = center - width / 2;
  for (let i = 0, j = 0; i < hu.length; i++, j += 3) {
    let v = Math.round(((hu[i]! - lo) * 255) / width);
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    out[j] = v;
    out[j + 1] = v;
    out[j + 2] = v;
  }
  return image;
}

/** Scratch buffers for rasterising shapes over the whole slice. */
interface Canvas {
  size: number;
  label: Uint8Array;
  q: Float32Array;
  dist: Float32Array;
}

/** Sets `label` on the pixels inside `shape` whose current label passes `onto` (all when omitted). */
function paint(c: Canvas, shape: RadialShape, label: number, onto?: (l: number) => boolean): number {
  const { x0, y0, x1, y1 } = rasterizeShape(shape, c.size, c.size, c.q, c.dist, 1);
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * c.size + x;
      if (c.dist[i]! > 0 && (!onto || onto(c.label[i]!))) {
        c.label[i] = label;
        n++;
      }
    }
  }
  return n;
}

function ellipse(cx: number, cy: number, radius: number, aspect = 1, angle = 0): RadialShape {
  // a RadialShape without harmonics (no randomness needed)
  const table = new Float32Array(1025).fill(1);
  const sx = radius / Math.sqrt(aspect);
  const sy = radius * Math.sqrt(aspect);
  return { cx, cy, sx, sy, angle, table, maxRadius: Math.max(sx, sy), minRadius: Math.min(sx, sy) };
}

const isVisceral = (l: number): boolean => l === BOWEL || l === VISCERAL_FAT || l === GAS;
const isSoft = (l: number): boolean => l !== AIR && l !== FAT && l !== TABLE && l !== CORTEX && l !== MARROW;

/**
 * One CT phantom of size x size pixels as the site's scanner would reconstruct it. Deterministic
 * in the state of `rng` (which it advances); lesion geometry does not depend on the site.
 */
export function ctPhantom(rng: Rng, size: number, site: SiteProfile): CtPhantom {
  if (!Number.isInteger(size) || size < 16 || size > 8192) throw new Error(`phantom size must be an integer in 16..8192, got ${size}`);
  const anatomy = new Rng(subSeed(rng));
  const lesionRng = new Rng(subSeed(rng));
  const texture = new Rng(subSeed(rng));
  const scanner = new Rng(subSeed(rng));
  const n = size * size;
  const scale = size / 256;
  const c: Canvas = { size, label: new Uint8Array(n), q: new Float32Array(n), dist: new Float32Array(n) };

  // body outline and its layers
  const a = anatomy.uniform(0.4, 0.46) * size; // half width
  const b = anatomy.uniform(0.28, 0.34) * size; // half height
  const bx = size * (0.5 + anatomy.normal(0, 0.01));
  const by = size * (0.46 + anatomy.normal(0, 0.01));
  const body = radialShape(anatomy, { cx: bx, cy: by, radius: Math.sqrt(a * b), irregularity: 0.05, maxHarmonic: 4, aspect: b / a });
  const fat = anatomy.uniform(0.06, 0.15);
  const wall = anatomy.uniform(0.04, 0.07);
  // table under the patient
  const tableTop = by + b * 1.02 + 0.015 * size;
  const tableH = Math.max(2, 0.025 * size);
  for (let y = Math.floor(tableTop); y < Math.min(size, Math.ceil(tableTop + tableH)); y++) {
    for (let x = Math.floor(0.08 * size); x < Math.ceil(0.92 * size); x++) c.label[y * size + x] = TABLE;
  }
  {
    const { x0, y0, x1, y1 } = rasterizeShape(body, size, size, c.q, c.dist, 1);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const i = y * size + x;
        if (c.dist[i]! <= 0) continue;
        const q = c.q[i]!;
        c.label[i] = q > 1 - fat ? FAT : q > 1 - fat - wall ? MUSCLE : BOWEL;
      }
    }
  }
  // bowel loops and visceral fat, gas pockets
  // bowel loops: the zero crossings of a smooth field, widened, in visceral fat
  const viscera = fractalNoise(anatomy, size, size, 0.14 * size, 2, 0.4);
  const loopWidth = anatomy.uniform(0.07, 0.14);
  for (let i = 0; i < n; i++) if (c.label[i] === BOWEL && Math.abs(viscera[i]!) > loopWidth) c.label[i] = VISCERAL_FAT;
  const gasCount = anatomy.int(2, 8);
  for (let g = 0; g < gasCount; g++) {
    const gx = bx + anatomy.uniform(-0.5, 0.5) * a;
    const gy = by + anatomy.uniform(-0.6, 0.1) * b;
    paint(c, ellipse(gx, gy, anatomy.uniform(0.008, 0.03) * size, anatomy.uniform(0.6, 1.6), anatomy.uniform(0, Math.PI)), GAS, isVisceral);
  }
  const inside = (l: number): boolean => isVisceral(l) || l === MUSCLE;

  // organs (image left = patient's right)
  const liver = radialShape(anatomy, {
    cx: bx - anatomy.uniform(0.36, 0.44) * a,
    cy: by - anatomy.uniform(0.05, 0.18) * b,
    radius: anatomy.uniform(0.44, 0.54) * a,
    irregularity: anatomy.uniform(0.08, 0.16),
    maxHarmonic: 5,
    aspect: anatomy.uniform(0.95, 1.25),
    angle: anatomy.uniform(-0.3, 0.3),
  });
  const spleen = radialShape(anatomy, {
    cx: bx + anatomy.uniform(0.5, 0.6) * a,
    cy: by + anatomy.uniform(-0.05, 0.15) * b,
    radius: anatomy.uniform(0.17, 0.23) * a,
    irregularity: 0.1,
    maxHarmonic: 4,
    aspect: anatomy.uniform(1.3, 1.7),
    angle: anatomy.uniform(-0.6, -0.2),
  });
  const kidneyR = radialShape(anatomy, {
    cx: bx - anatomy.uniform(0.28, 0.36) * a,
    cy: by + anatomy.uniform(0.38, 0.48) * b,
    radius: anatomy.uniform(0.11, 0.14) * a,
    irregularity: 0.06,
    maxHarmonic: 3,
    aspect: anatomy.uniform(1.3, 1.7),
    angle: anatomy.uniform(0.2, 0.5),
  });
  const kidneyL = radialShape(anatomy, {
    cx: bx + anatomy.uniform(0.28, 0.36) * a,
    cy: by + anatomy.uniform(0.38, 0.48) * b,
    radius: anatomy.uniform(0.11, 0.14) * a,
    irregularity: 0.06,
    maxHarmonic: 3,
    aspect: anatomy.uniform(1.3, 1.7),
    angle: -anatomy.uniform(0.2, 0.5),
  });
  // paraspinal muscles, then the organs, vessels and the vertebra
  const spineY = by + anatomy.uniform(0.55, 0.62) * b;
  const vr = anatomy.uniform(0.085, 0.1) * a;
  for (const side of [-1, 1]) paint(c, ellipse(bx + side * 0.2 * a, spineY + 1.6 * vr, 0.13 * a, 0.8, side * 0.3), MUSCLE, inside);
  paint(c, kidneyR, KIDNEY_R, inside);
  paint(c, kidneyL, KIDNEY_L, inside);
  paint(c, liver, LIVER, inside);
  paint(c, spleen, SPLEEN, inside);
  paint(c, ellipse(bx + 0.07 * a, spineY - 1.45 * vr, 0.45 * vr), VESSEL, inside); // aorta
  paint(c, ellipse(bx - 0.12 * a, spineY - 1.35 * vr, 0.45 * vr, 0.7), VESSEL, (l) => inside(l) || l === LIVER); // IVC
  paint(c, ellipse(bx, spineY, vr, 0.85), CORTEX);
  paint(c, ellipse(bx, spineY, vr - Math.max(1.2, 0.012 * size), 0.85), MARROW);
  paint(c, ellipse(bx, spineY + 1.35 * vr, 0.4 * vr), CORTEX);
  paint(c, ellipse(bx, spineY + 1.35 * vr, 0.28 * vr), CSF);
  paint(c, ellipse(bx, spineY + 2.1 * vr, 0.45 * vr, 2.2), CORTEX);
  // ribs in the abdominal wall, laterally and posteriorly
  const ribR = Math.max(1.5, 0.014 * size);
  for (const side of [-1, 1]) {
    for (let r = 0; r < 4; r++) {
      const th = anatomy.uniform(-0.15, 0.45) * Math.PI;
      const rx = Math.cos(th);
      const ry = Math.sin(th);
      const t = 1 - fat - wall * 0.5;
      paint(c, ellipse(bx + side * rx * a * t * 0.98, by + ry * b * t * 0.98, ribR, 1.3, th), CORTEX, (l) => l === MUSCLE || l === FAT);
    }
  }

  // the lesion, inside one organ
  const pick = lesionRng.next();
  const organ: CtOrgan = pick < 0.7 ? 'liver' : pick < 0.85 ? 'spleen' : 'kidney';
  const organLabel = organ === 'liver' ? LIVER : organ === 'spleen' ? SPLEEN : lesionRng.next() < 0.5 ? KIDNEY_R : KIDNEY_L;
  const organPixels: number[] = [];
  for (let i = 0; i < n; i++) if (c.label[i] === organLabel) organPixels.push(i);
  if (organPixels.length === 0) throw new Error('internal error: the phantom organ has no pixels');
  const organRadius = Math.sqrt(organPixels.length / Math.PI);
  let radius = Math.max(4 * scale, lesionRng.uniform(0.22, 0.45) * organRadius);
  const template = radialShape(lesionRng, {
    cx: 0,
    cy: 0,
    radius: 1,
    irregularity: lesionRng.uniform(0.06, 0.3),
    maxHarmonic: lesionRng.int(3, 8),
    aspect: lesionRng.uniform(0.8, 1.25),
    angle: lesionRng.uniform(0, Math.PI),
  });
  let lesion: RadialShape | undefined;
  for (let attempt = 0; attempt < 80 && !lesion; attempt++) {
    if (attempt > 0 && attempt % 10 === 0) radius = Math.max(1, radius * 0.8);
    const at = organPixels[lesionRng.int(0, organPixels.length)]!;
    const candidate = moveShape(template, (at % size) + 0.5, Math.floor(at / size) + 0.5, radius);
    if (fitsOrgan(c, candidate, organLabel)) lesion = candidate;
  }
  if (!lesion) {
    // a one-pixel lesion at an organ pixel: the organ is too thin for anything larger
    const at = organPixels[Math.floor(organPixels.length / 2)]!;
    lesion = moveShape(template, (at % size) + 0.5, Math.floor(at / size) + 0.5, 0.3);
  }
  const organMask = new Uint8Array(n);
  for (const i of organPixels) organMask[i] = 1;
  const mask = new Uint8Array(n);
  const lesionPixels = paint(c, lesion, LESION, (l) => l === organLabel);
  for (let i = 0; i < n; i++) if (c.label[i] === LESION) mask[i] = 1;
  if (lesionPixels === 0) {
    const at = organPixels[Math.floor(organPixels.length / 2)]!;
    mask[at] = 1;
    c.label[at] = LESION;
  }

  // attenuation per tissue, with per-patient variation
  const hu0 = new Float32Array(LABELS);
  hu0[AIR] = -1000;
  hu0[FAT] = texture.uniform(-115, -90);
  hu0[MUSCLE] = texture.uniform(45, 55);
  hu0[BOWEL] = texture.uniform(20, 40);
  hu0[VISCERAL_FAT] = texture.uniform(-110, -80);
  hu0[GAS] = -990;
  hu0[LIVER] = texture.uniform(54, 66);
  hu0[SPLEEN] = texture.uniform(44, 52);
  hu0[KIDNEY_R] = texture.uniform(28, 36);
  hu0[KIDNEY_L] = hu0[KIDNEY_R]! + texture.uniform(-2, 2);
  hu0[VESSEL] = texture.uniform(38, 50);
  hu0[CORTEX] = texture.uniform(650, 900);
  hu0[MARROW] = texture.uniform(180, 280);
  hu0[CSF] = texture.uniform(5, 15);
  hu0[TABLE] = texture.uniform(150, 300);
  const organHu = hu0[organLabel]!;
  const contrast = site.ct.lesionContrastHu * texture.uniform(0.8, 1.2);
  const lesionHu = texture.next() < 0.7 ? organHu - contrast : organHu + contrast;
  hu0[LESION] = lesionHu;

  const mottle = fractalNoise(texture, size, size, 10 * scale, 3, 0.5);
  const inner = fractalNoise(texture, size, size, Math.max(3, 0.5 * Math.sqrt(lesion.sx * lesion.sy)), 2, 0.5);
  const hu = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const l = c.label[i]!;
    let v = hu0[l]!;
    if (isSoft(l) && l !== GAS) v += 5 * mottle[i]!;
    if (l === LESION) v += 0.12 * contrast * inner[i]!;
    hu[i] = v;
  }

  // scanner: reconstruction kernel, correlated noise, calibration offset
  const scratch = new Float32Array(n);
  gaussianBlur(hu, size, size, site.ct.blurSigma * scale, scratch);
  const noise = new Float32Array(n);
  new FastNormal(scanner).addTo(noise, 1);
  gaussianBlur(noise, size, size, 0.7 * scale, scratch);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += noise[i]! * noise[i]!;
  const k = site.ct.noiseHu / Math.sqrt(ss / n || 1);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let v = Math.round(hu[i]! + k * noise[i]! + site.ct.huOffset);
    v = v < -1024 ? -1024 : v > 3071 ? 3071 : v;
    out[i] = v;
  }
  return {
    hu: out,
    image: windowToRgb(out, size, CT_WINDOW.center, CT_WINDOW.width),
    mask,
    organMask,
    organ,
    organHu,
    lesionHu,
  };
}

/** Whether every pixel of `shape` and of a 1.5 px rim around it carries the organ's label. */
function fitsOrgan(c: Canvas, shape: RadialShape, organLabel: number): boolean {
  const { size } = c;
  if (shape.cx - shape.maxRadius < 2 || shape.cy - shape.maxRadius < 2) return false;
  if (shape.cx + shape.maxRadius > size - 2 || shape.cy + shape.maxRadius > size - 2) return false;
  const { x0, y0, x1, y1 } = rasterizeShape(shape, size, size, c.q, c.dist, 3);
  let inside = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * size + x;
      const d = c.dist[i]!;
      if (d > -1.5 && c.label[i] !== organLabel) return false;
      if (d > 0) inside++;
    }
  }
  return inside > 0;
}
