/**
 * Irregular star-shaped blobs for lesions and organs: a radius r(theta) around a centre made of a
 * few random Fourier harmonics, tabulated once so per-pixel tests are an atan2 and a lookup. A
 * star-shaped region (every ray from the centre leaves it once) is one connected piece without holes.
 */
import type { Rng } from '../util/random.js';

const TABLE = 1024;

export interface RadialShape {
  /** Centre in pixel coordinates (pixel (x, y) has its centre at (x + 0.5, y + 0.5)). */
  readonly cx: number;
  readonly cy: number;
  /** Horizontal and vertical stretch of the unit shape (an ellipse when there are no harmonics). */
  readonly sx: number;
  readonly sy: number;
  /** Rotation of the stretched shape, radians. */
  readonly angle: number;
  /** r(theta) of the unit shape at TABLE equally spaced angles (one extra entry closes the loop). */
  readonly table: Float32Array;
  /** Bounds of r(theta) times the larger/smaller stretch: the shape lies in a disc of radius `maxRadius`. */
  readonly maxRadius: number;
  readonly minRadius: number;
}

interface RadialShapeOptions {
  cx: number;
  cy: number;
  /** Radius of the disc with the same area as the shape (before the stretch `aspect`). */
  radius: number;
  /** Total relative amplitude of the harmonics (sum of |a_k|), below 0.8. */
  irregularity: number;
  /** Highest harmonic (2..24). */
  maxHarmonic?: number;
  /** How fast harmonic amplitudes decay with their order k (a_k ~ k^-decay). */
  decay?: number;
  /** sy / sx; the area is kept: sx = radius / sqrt(aspect), sy = radius * sqrt(aspect). */
  aspect?: number;
  angle?: number;
}

/**
 * Draws a blob r(theta) = r0 * (1 + sum_k a_k cos(k theta + phi_k)), k = 2..maxHarmonic, with r0
 * chosen so that its area equals pi * radius^2 exactly (the area is pi r0^2 (1 + sum a_k^2 / 2)).
 */
export function radialShape(rng: Rng, o: RadialShapeOptions): RadialShape {
  const kmax = Math.max(2, Math.min(24, o.maxHarmonic ?? 7));
  const decay = o.decay ?? 1;
  const amps: number[] = [];
  const phases: number[] = [];
  let sumAbs = 0;
  for (let k = 2; k <= kmax; k++) {
    const a = rng.uniform(0.25, 1) / k ** decay;
    amps.push(a);
    phases.push(rng.uniform(0, 2 * Math.PI));
    sumAbs += a;
  }
  const irregularity = Math.max(0, Math.min(0.8, o.irregularity));
  const scale = sumAbs > 0 ? irregularity / sumAbs : 0;
  let sumSq = 0;
  for (let i = 0; i < amps.length; i++) {
    amps[i]! *= scale;
    sumSq += amps[i]! * amps[i]!;
  }
  const r0 = 1 / Math.sqrt(1 + sumSq / 2);
  const table = new Float32Array(TABLE + 1);
  let lo = Infinity;
  let hi = 0;
  for (let i = 0; i <= TABLE; i++) {
    const th = (2 * Math.PI * i) / TABLE;
    let r = 1;
    for (let j = 0; j < amps.length; j++) r += amps[j]! * Math.cos((j + 2) * th + phases[j]!);
    r *= r0;
    table[i] = r;
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  const aspect = o.aspect ?? 1;
  const sx = o.radius / Math.sqrt(aspect);
  const sy = o.radius * Math.sqrt(aspect);
  return {
    cx: o.cx,
    cy: o.cy,
    sx,
    sy,
    angle: o.angle ?? 0,
    table,
    maxRadius: hi * Math.max(sx, sy),
    minRadius: lo * Math.min(sx, sy),
  };
}

/** The same blob moved, or scaled about its centre. */
export function moveShape(s: RadialShape, cx: number, cy: number, scale = 1): RadialShape {
  return { ...s, cx, cy, sx: s.sx * scale, sy: s.sy * scale, maxRadius: s.maxRadius * scale, minRadius: s.minRadius * scale };
}

/**
 * Writes, for every pixel of a w x h grid within the shape's bounding disc (plus `pad` pixels),
 * the normalised radial coordinate q = rho / r(theta) (q < 1 inside, 1 on the border) and the
 * signed radial distance to the border in pixels, d = (r(theta) - rho) in the unstretched frame
 * times the stretch (positive inside). Pixels outside the box are left alone; returns the box.
 */
export function rasterizeShape(
  s: RadialShape,
  w: number,
  h: number,
  q: Float32Array,
  dist: Float32Array,
  pad = 2,
): { x0: number; y0: number; x1: number; y1: number } {
  const x0 = Math.max(0, Math.floor(s.cx - s.maxRadius - pad));
  const y0 = Math.max(0, Math.floor(s.cy - s.maxRadius - pad));
  const x1 = Math.min(w, Math.ceil(s.cx + s.maxRadius + pad));
  const y1 = Math.min(h, Math.ceil(s.cy + s.maxRadius + pad));
  const cos = Math.cos(s.angle);
  const sin = Math.sin(s.angle);
  const isx = 1 / s.sx;
  const isy = 1 / s.sy;
  const table = s.table;
  const k = TABLE / (2 * Math.PI);
  for (let y = y0; y < y1; y++) {
    const dy = y + 0.5 - s.cy;
    for (let x = x0; x < x1; x++) {
      const dx = x + 0.5 - s.cx;
      // into the shape's frame: rotate back, then undo the stretch
      const u = (dx * cos + dy * sin) * isx;
      const v = (-dx * sin + dy * cos) * isy;
      const rho = Math.sqrt(u * u + v * v);
      let th = Math.atan2(v, u);
      if (th < 0) th += 2 * Math.PI;
      const f = th * k;
      const i = f >= TABLE ? TABLE - 1 : f | 0;
      const r = table[i]! + (table[i + 1]! - table[i]!) * (f - i);
      const at = y * w + x;
      q[at] = rho / r;
      // scale the unit-frame distance by the local stretch along this direction
      const stretch = rho > 1e-9 ? Math.sqrt(dx * dx + dy * dy) / rho : Math.min(s.sx, s.sy);
      dist[at] = (r - rho) * stretch;
    }
  }
  return { x0, y0, x1, y1 };
}
