/**
 * Dermoscopy-like phantoms: textured skin seen through a dermatoscope (circular field, vignetting),
 * hair strands, and one irregular pigmented lesion whose exact extent is the mask.
 *
 * The mask is the set the generator filled: the pixels whose centres lie inside the lesion's
 * radial shape. The image draws the lesion edge with at most a one-pixel ramp (radial distance to
 * the border, which is never wider than the true one), so the mask is the truth up to that ramp;
 * a site's optical blur softens every edge afterwards, as a real camera would.
 *
 * Randomness comes in independent sub-streams (lesion geometry, skin, lesion appearance, hair,
 * acquisition), so the same generator state gives the same lesion shape and position whatever the
 * site: two sites' phantoms from one seed differ only in how they were "acquired".
 */
import { rgbImage, type RgbImage } from '../image/rgb-image.js';
import { Rng } from '../util/random.js';
import { FastNormal, clamp01, fractalNoise, gaussianBlur, smoothstep, subSeed } from './noise.js';
import { radialShape, rasterizeShape, type RadialShape } from './shape.js';
import type { SiteProfile } from './sites.js';

export interface Phantom {
  /** The rendered image, size x size. */
  image: RgbImage;
  /** The lesion, 0/1 per pixel, row-major size * size. */
  mask: Uint8Array;
}

/** Lesion size bounds: the diameter of the disc with the lesion's area, as a fraction of the image side. */
export const DERMOSCOPY_LESION_DIAMETER = Object.freeze({ min: 0.14, max: 0.38 });

type Rgb = readonly [number, number, number];

// Skin as seen under a dermatoscope (0..1), from very light to dark.
const SKIN: readonly Rgb[] = [
  [0.93, 0.76, 0.7],
  [0.86, 0.64, 0.54],
  [0.72, 0.5, 0.38],
  [0.5, 0.34, 0.25],
];
// Pigment from light brown to almost black, and the blue-grey of deep pigment/regression.
const PIGMENT: readonly Rgb[] = [
  [0.62, 0.44, 0.33],
  [0.47, 0.31, 0.22],
  [0.32, 0.2, 0.15],
  [0.18, 0.12, 0.1],
];
const BLUE_GREY: Rgb = [0.36, 0.38, 0.45];

/** Piecewise-linear colour ramp lookup, t in [0, 1]; writes into `out`. */
function ramp(stops: readonly Rgb[], t: number, out: number[]): void {
  const f = clamp01(t) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(f));
  const u = f - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  out[0] = a[0] + (b[0] - a[0]) * u;
  out[1] = a[1] + (b[1] - a[1]) * u;
  out[2] = a[2] + (b[2] - a[2]) * u;
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 16 || size > 8192) throw new Error(`phantom size must be an integer in 16..8192, got ${size}`);
}

/** The lesion's outline: a star-shaped blob placed anywhere with a margin of 4% of the side. */
function lesionShape(rng: Rng, size: number): RadialShape {
  const diameter = rng.uniform(DERMOSCOPY_LESION_DIAMETER.min, DERMOSCOPY_LESION_DIAMETER.max) * size;
  const shape = radialShape(rng, {
    cx: 0,
    cy: 0,
    radius: diameter / 2,
    irregularity: rng.uniform(0.1, 0.42),
    maxHarmonic: rng.int(4, 11),
    decay: rng.uniform(0.5, 1.2),
    aspect: rng.uniform(0.75, 1.33),
    angle: rng.uniform(0, Math.PI),
  });
  const margin = 0.04 * size;
  const lo = margin + shape.maxRadius;
  const hi = size - margin - shape.maxRadius;
  const cx = lo < hi ? rng.uniform(lo, hi) : size / 2;
  const cy = lo < hi ? rng.uniform(lo, hi) : size / 2;
  return { ...shape, cx, cy };
}

/** Skin: base tone with low-frequency colour variation, redness and fine texture. */
function paintSkin(rng: Rng, size: number, site: SiteProfile, R: Float32Array, G: Float32Array, B: Float32Array): number {
  const scale = size / 256;
  const tone = rng.uniform(site.skinTone[0], site.skinTone[1]);
  const base = [0, 0, 0];
  ramp(SKIN, tone, base);
  const shade = fractalNoise(rng, size, size, 0.6 * size, 3, 0.5);
  const red = fractalNoise(rng, size, size, 0.35 * size, 2, 0.5);
  const texture = fractalNoise(rng, size, size, 7 * scale, 2, 0.6);
  const pores = fractalNoise(rng, size, size, 2.2 * scale, 1);
  const lineWarp = fractalNoise(rng, size, size, 18 * scale, 2, 0.5);
  const redness = rng.uniform(0.02, 0.09) * (1 - 0.6 * tone);
  const lineAngle = rng.uniform(0, Math.PI);
  const kl = (2 * Math.PI) / (rng.uniform(9, 15) * scale);
  const la = Math.cos(lineAngle) * kl;
  const lb = Math.sin(lineAngle) * kl;
  const [r0, g0, b0] = base as [number, number, number];
  for (let i = 0; i < size * size; i++) {
    // skin furrows: two crossing families of faint darker lines, wavy
    const x = i % size;
    const y = (i - x) / size;
    const wv = 3 * lineWarp[i]!;
    const f1 = Math.abs(Math.sin(x * la + y * lb + wv));
    const f2 = Math.abs(Math.sin(-x * lb * 0.7 + y * la * 0.7 - wv));
    const furrow = smoothstep(0.25, 0, Math.min(f1, f2));
    const s = 1 + 0.1 * shade[i]! + 0.05 * texture[i]! + 0.04 * pores[i]! - 0.025 * furrow;
    const e = red[i]! > 0 ? redness * red[i]! * 2 : 0;
    R[i] = r0 * s + e * 0.6;
    G[i] = g0 * s - e * 0.5;
    B[i] = b0 * s - e * 0.25;
  }
  return tone;
}

/** Paints the lesion over the skin (pigment variegation, network, dots) and fills the mask. */
function paintLesion(
  rng: Rng,
  size: number,
  site: SiteProfile,
  shape: RadialShape,
  skinTone: number,
  R: Float32Array,
  G: Float32Array,
  B: Float32Array,
  mask: Uint8Array,
): void {
  const scale = size / 256;
  const q = new Float32Array(size * size);
  const dist = new Float32Array(size * size).fill(-Infinity);
  const { x0, y0, x1, y1 } = rasterizeShape(shape, size, size, q, dist, 2);
  const bw = Math.max(1, x1 - x0);
  const bh = Math.max(1, y1 - y0);
  const radius = Math.sqrt(shape.sx * shape.sy);

  // appearance of this lesion
  const atypical = rng.next() < 0.45;
  // pigment stays darker than the skin around it: darker skin, darker pigment
  const darkness = rng.uniform(0.2, 0.65) + 0.45 * skinTone;
  const deep = 1 - 0.45 * skinTone;
  const variation = atypical ? rng.uniform(0.4, 0.75) : rng.uniform(0.12, 0.3);
  const centreDark = rng.uniform(0, 0.35);
  const blue = atypical ? rng.uniform(0.2, 0.6) : rng.uniform(0, 0.15);
  const blueAt = rng.uniform(0.05, 0.45);
  const netStrength = rng.uniform(0.12, 0.42);
  const netPeriod = rng.uniform(4, 7) * scale;
  const netAngle = rng.uniform(0, Math.PI);
  const edgeFloor = rng.uniform(0.45, 0.75);
  const fade = Math.max(1, rng.uniform(0.08, 0.3) * radius);
  const opacity = site.lesionContrast;

  const tone = fractalNoise(rng, bw, bh, Math.max(4, 0.7 * radius), 3, 0.55);
  const patches = fractalNoise(rng, bw, bh, Math.max(4, 0.5 * radius), 2, 0.5);
  const netRegion = fractalNoise(rng, bw, bh, Math.max(4, 0.6 * radius), 2, 0.5);
  const warp = fractalNoise(rng, bw, bh, Math.max(3, 2.5 * netPeriod), 2, 0.5);

  const k = (2 * Math.PI) / netPeriod;
  const c1 = Math.cos(netAngle) * k;
  const s1 = Math.sin(netAngle) * k;
  const c2 = Math.cos(netAngle + (2 * Math.PI) / 3) * k;
  const s2 = Math.sin(netAngle + (2 * Math.PI) / 3) * k;
  const c3 = Math.cos(netAngle + (4 * Math.PI) / 3) * k;
  const s3 = Math.sin(netAngle + (4 * Math.PI) / 3) * k;
  const pig = [0, 0, 0];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * size + x;
      const d = dist[i]!;
      if (d <= -0.5) continue;
      if (d > 0) mask[i] = 1;
      const j = (y - y0) * bw + (x - x0);
      const t = q[i]!;
      ramp(PIGMENT, darkness + variation * tone[j]! + centreDark * (1 - t), pig);
      const bl = blue * smoothstep(blueAt, blueAt + 0.35, patches[j]!);
      let pr = pig[0]! + (BLUE_GREY[0] * deep - pig[0]!) * bl;
      let pg = pig[1]! + (BLUE_GREY[1] * deep - pig[1]!) * bl;
      let pb = pig[2]! + (BLUE_GREY[2] * deep - pig[2]!) * bl;
      // pigment network: a warped honeycomb of darker lines (three plane waves 120 degrees apart),
      // present in patches, with holes of varying brightness
      const w = 2 * warp[j]!;
      const px = x + w * netPeriod * 0.5;
      const py = y - w * netPeriod * 0.5;
      const hex = Math.cos(px * c1 + py * s1) + Math.cos(px * c2 + py * s2) + Math.cos(px * c3 + py * s3);
      const line = smoothstep(-0.35, -1.3, hex);
      const net = 1 - netStrength * line * smoothstep(-0.2, 0.3, netRegion[j]!);
      pr *= net;
      pg *= net;
      pb *= net;
      const edge = clamp01(d + 0.5); // <= 1 px ramp, >= 0.5 exactly on mask pixels
      const a = edge * opacity * (edgeFloor + (1 - edgeFloor) * smoothstep(0, fade, d));
      R[i] = R[i]! + (pr - R[i]!) * a;
      G[i] = G[i]! + (pg - G[i]!) * a;
      B[i] = B[i]! + (pb - B[i]!) * a;
    }
  }

  // dark dots and globules, only on mask pixels
  const dots = atypical ? rng.int(2, 16) : rng.int(0, 7);
  for (let n = 0; n < dots; n++) {
    const th = rng.uniform(0, 2 * Math.PI);
    const rr = Math.sqrt(rng.next()) * 0.85 * radius;
    const cx = shape.cx + rr * Math.cos(th);
    const cy = shape.cy + rr * Math.sin(th);
    const r = rng.uniform(0.6, 2.2) * scale;
    const strength = opacity * rng.uniform(0.5, 0.9);
    const dr = 0.13;
    const dg = 0.08;
    const db = 0.07;
    for (let y = Math.max(0, Math.floor(cy - r - 1)); y < Math.min(size, Math.ceil(cy + r + 1)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r - 1)); x < Math.min(size, Math.ceil(cx + r + 1)); x++) {
        const i = y * size + x;
        if (!mask[i]) continue;
        const dd = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        const a = strength * clamp01(r + 0.5 - dd);
        if (a <= 0) continue;
        R[i] = R[i]! + (dr - R[i]!) * a;
        G[i] = G[i]! + (dg - G[i]!) * a;
        B[i] = B[i]! + (db - B[i]!) * a;
      }
    }
  }
}

/**
 * Hair: thin dark curved strands, tapered, some through the lesion. Coverage goes to `cover`
 * (max over strands) and the strand's colour factor to `tint`; the mask is never touched.
 */
function drawHair(rng: Rng, size: number, site: SiteProfile, lesion: RadialShape, cover: Float32Array, tint: Float32Array): void {
  const scale = size / 256;
  const count = Math.floor(site.hairDensity * rng.uniform(0.3, 1.7) + rng.next());
  const lesionRadius = Math.sqrt(lesion.sx * lesion.sy);
  for (let n = 0; n < count; n++) {
    const through = (n === 0 && rng.next() < 0.7) || rng.next() < 0.25;
    const mx = through ? lesion.cx + rng.normal(0, 0.5 * lesionRadius) : rng.uniform(-0.1, 1.1) * size;
    const my = through ? lesion.cy + rng.normal(0, 0.5 * lesionRadius) : rng.uniform(-0.1, 1.1) * size;
    const heading = rng.uniform(0, 2 * Math.PI);
    const half = rng.uniform(0.18, 0.55) * size;
    const curvature = rng.normal(0, 1.1 / size);
    const width = rng.uniform(0.7, 1.8) * scale;
    const opacity = rng.uniform(0.7, 0.95);
    const shade = rng.uniform(0.75, 1.3);
    const step = Math.max(1, 1.5 * scale);
    for (const dir of [1, -1]) {
      let x = mx;
      let y = my;
      let th = dir > 0 ? heading : heading + Math.PI;
      for (let s = 0; s < half; s += step) {
        th += dir * curvature * step + rng.normal(0, 0.015);
        const nx = x + Math.cos(th) * step;
        const ny = y + Math.sin(th) * step;
        const taper = 1 - 0.75 * (s / half) ** 2;
        capsule(size, x, y, nx, ny, 0.5 * width * taper, opacity, shade, cover, tint);
        x = nx;
        y = ny;
      }
    }
  }
}

/** Anti-aliased coverage of the segment (ax, ay)-(bx, by) with half-width hw, max-combined into `cover`. */
function capsule(
  size: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  hw: number,
  opacity: number,
  shade: number,
  cover: Float32Array,
  tint: Float32Array,
): void {
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - hw - 1));
  const x1 = Math.min(size, Math.ceil(Math.max(ax, bx) + hw + 1));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - hw - 1));
  const y1 = Math.min(size, Math.ceil(Math.max(ay, by) + hw + 1));
  const ex = bx - ax;
  const ey = by - ay;
  const len2 = ex * ex + ey * ey || 1;
  // a strand thinner than a pixel covers part of it: keep its darkness proportional to its width
  const thin = Math.min(1, 2 * hw);
  const reach = Math.max(hw, 0.5);
  for (let y = y0; y < y1; y++) {
    const py = y + 0.5 - ay;
    for (let x = x0; x < x1; x++) {
      const px = x + 0.5 - ax;
      let t = (px * ex + py * ey) / len2;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const dx = px - t * ex;
      const dy = py - t * ey;
      const d = Math.sqrt(dx * dx + dy * dy);
      const c = opacity * thin * clamp01(reach + 0.5 - d);
      const i = y * size + x;
      if (c > cover[i]!) {
        cover[i] = c;
        tint[i] = shade;
      }
    }
  }
}

/**
 * One dermoscopy phantom of size x size pixels as the site's device would show it. Deterministic
 * in the state of `rng` (which it advances).
 */
export function dermoscopyPhantom(rng: Rng, size: number, site: SiteProfile): Phantom {
  checkSize(size);
  const geometry = new Rng(subSeed(rng));
  const skin = new Rng(subSeed(rng));
  const look = new Rng(subSeed(rng));
  const hair = new Rng(subSeed(rng));
  const camera = new Rng(subSeed(rng));
  const n = size * size;
  const scale = size / 256;
  const R = new Float32Array(n);
  const G = new Float32Array(n);
  const B = new Float32Array(n);
  const mask = new Uint8Array(n);

  const shape = lesionShape(geometry, size);
  const tone = paintSkin(skin, size, site, R, G, B);
  paintLesion(look, size, site, shape, tone, R, G, B, mask);

  const cover = new Float32Array(n);
  const tint = new Float32Array(n);
  drawHair(hair, size, site, shape, cover, tint);
  const hairColour = [0, 0, 0];
  ramp(PIGMENT, hair.uniform(0.6, 1), hairColour);
  const [hr, hg, hb] = hairColour as [number, number, number];

  // acquisition: uneven light, dermatoscope field and vignetting, white balance, contrast, gamma
  const lightAngle = camera.uniform(0, 2 * Math.PI);
  const lx = (Math.cos(lightAngle) * site.unevenLight) / (0.5 * size);
  const ly = (Math.sin(lightAngle) * site.unevenLight) / (0.5 * size);
  const vx = size * (0.5 + camera.normal(0, 0.02));
  const vy = size * (0.5 + camera.normal(0, 0.02));
  const fieldRadius = size * (0.74 - 0.12 * site.vignetting) * camera.uniform(0.96, 1.04);
  const soft = 0.07 * size;
  const [gr, gg, gb] = site.colourGains;
  const contrast = site.contrast;
  const gamma = site.gamma;
  const v = site.vignetting;
  const falloff = 0.3 / (0.49 * size * size);
  // gamma through a table (linear interpolation over 1024 steps) instead of three pow() per pixel
  const GAMMA_STEPS = 1024;
  const gammaTable = new Float32Array(GAMMA_STEPS + 2);
  for (let i = 0; i <= GAMMA_STEPS + 1; i++) gammaTable[i] = Math.min(1, i / GAMMA_STEPS) ** gamma;
  const applyGamma = (x: number): number => {
    const f = clamp01(x) * GAMMA_STEPS;
    const i = f | 0;
    return gammaTable[i]! + (gammaTable[i + 1]! - gammaTable[i]!) * (f - i);
  };
  for (let y = 0; y < size; y++) {
    const dy = y + 0.5 - vy;
    const ly0 = 1 + (y + 0.5 - size / 2) * ly;
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const c = cover[i]!;
      const ts = tint[i]!;
      let r = R[i]! + (hr * ts - R[i]!) * c;
      let g = G[i]! + (hg * ts - G[i]!) * c;
      let b = B[i]! + (hb * ts - B[i]!) * c;
      const dx = x + 0.5 - vx;
      const rho2 = dx * dx + dy * dy;
      const field = 1 - v * (smoothstep(fieldRadius - soft, fieldRadius + soft, Math.sqrt(rho2)) + falloff * rho2);
      const light = (ly0 + (x + 0.5 - size / 2) * lx) * (field > 0 ? field : 0);
      r = 0.5 + (clamp01(r * light * gr) - 0.5) * contrast;
      g = 0.5 + (clamp01(g * light * gg) - 0.5) * contrast;
      b = 0.5 + (clamp01(b * light * gb) - 0.5) * contrast;
      R[i] = applyGamma(r);
      G[i] = applyGamma(g);
      B[i] = applyGamma(b);
    }
  }
  const sigma = site.blurSigma * scale;
  const scratch = new Float32Array(n);
  gaussianBlur(R, size, size, sigma, scratch);
  gaussianBlur(G, size, size, sigma, scratch);
  gaussianBlur(B, size, size, sigma, scratch);
  const noise = new FastNormal(camera);
  const ns = site.noiseSigma / 255;
  noise.addTo(R, ns);
  noise.addTo(G, ns);
  noise.addTo(B, ns);

  const image = rgbImage(size, size);
  const out = image.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    out[j] = Math.round(clamp01(R[i]!) * 255);
    out[j + 1] = Math.round(clamp01(G[i]!) * 255);
    out[j + 2] = Math.round(clamp01(B[i]!) * 255);
  }
  return { image, mask };
}
