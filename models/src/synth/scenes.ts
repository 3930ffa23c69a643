/**
 * Generic scenes: procedurally generated images of overlapping shapes (ellipses, irregular blobs,
 * polygons, rotated rectangles, rings, bands) filled with flat colours, gradients, stripes,
 * checkers or noise, over a textured background, then blurred, noised and tone-mapped, in grey or in
 * colour; every shape's visible part is labelled. They carry no anatomy at all: a model that learns
 * to segment them learns to follow the boundary round the clicked point, which is what lets it say
 * something sensible about an image unlike anything it was trained on.
 *
 * Each shape's colour is drawn to differ visibly from what lies under it, so every labelled
 * boundary can be seen in the image.
 */
import { rgbImage, type RgbImage } from '../image/rgb-image.js';
import { Rng } from '../util/random.js';
import { FastNormal, fractalNoise, gaussianBlur, subSeed } from './noise.js';
import { radialShape, rasterizeShape } from './shape.js';

export interface LabelledScene {
  image: RgbImage;
  /** Shape number per pixel (1..count, later shapes on top); 0 is the background. */
  labels: Uint8Array;
  /** Number of shapes drawn (some may be hidden by later ones). */
  count: number;
}

type Rgb = [number, number, number];

/** A fill: the colour (0..255) of pixel (x, y). */
type Fill = (x: number, y: number) => Rgb;

function randomColour(rng: Rng, grey: boolean): Rgb {
  if (grey) {
    const v = rng.uniform(0, 255);
    return [v, v, v];
  }
  return [rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)];
}

function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** A fill around `base`: flat, a linear gradient, stripes, a checker or smooth noise. */
function randomFill(rng: Rng, size: number, base: Rgb, grey: boolean): Fill {
  const kind = rng.int(0, 5);
  const other = (): Rgb => {
    const d = rng.uniform(20, 60) * (rng.next() < 0.5 ? -1 : 1);
    const c = grey ? [d, d, d] : [d * rng.uniform(0.3, 1.3), d * rng.uniform(0.3, 1.3), d * rng.uniform(0.3, 1.3)];
    return [base[0] + c[0]!, base[1] + c[1]!, base[2] + c[2]!];
  };
  if (kind === 0) return () => base;
  if (kind === 1) {
    const to = other();
    const th = rng.uniform(0, 2 * Math.PI);
    const ux = Math.cos(th) / size;
    const uy = Math.sin(th) / size;
    return (x, y) => {
      const t = Math.max(0, Math.min(1, 0.5 + (x - size / 2) * ux + (y - size / 2) * uy));
      return [base[0] + (to[0] - base[0]) * t, base[1] + (to[1] - base[1]) * t, base[2] + (to[2] - base[2]) * t];
    };
  }
  if (kind === 2) {
    const to = other();
    const th = rng.uniform(0, Math.PI);
    const period = rng.uniform(3, 16);
    const c = Math.cos(th);
    const s = Math.sin(th);
    return (x, y) => (Math.floor((x * c + y * s) / period) % 2 === 0 ? base : to);
  }
  if (kind === 3) {
    const to = other();
    const period = rng.uniform(3, 14);
    return (x, y) => ((Math.floor(x / period) + Math.floor(y / period)) % 2 === 0 ? base : to);
  }
  const field = fractalNoise(rng, size, size, rng.uniform(4, 24), 3, 0.5);
  const amp = rng.uniform(10, 45);
  const tint: Rgb = grey ? [1, 1, 1] : [rng.uniform(0.5, 1.2), rng.uniform(0.5, 1.2), rng.uniform(0.5, 1.2)];
  return (x, y) => {
    const v = amp * field[Math.min(size - 1, y) * size + Math.min(size - 1, x)]!;
    return [base[0] + v * tint[0], base[1] + v * tint[1], base[2] + v * tint[2]];
  };
}

/** Point-in-polygon (even-odd) for a closed polygon given as [x0, y0, x1, y1, ...]. */
function insidePolygon(px: number, py: number, poly: number[]): boolean {
  let inside = false;
  const n = poly.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = poly[2 * i]!;
    const yi = poly[2 * i + 1]!;
    const xj = poly[2 * j]!;
    const yj = poly[2 * j + 1]!;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Distance from (px, py) to the polyline segment a-b. */
function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy || 1;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/** A shape as an inside test over a bounding box. */
interface ShapeMask {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  inside: (x: number, y: number) => boolean;
}

function randomShape(rng: Rng, size: number, q: Float32Array, dist: Float32Array): ShapeMask {
  const kind = rng.int(0, 6);
  const cx = rng.uniform(0.05, 0.95) * size;
  const cy = rng.uniform(0.05, 0.95) * size;
  const r = size * Math.exp(rng.uniform(Math.log(0.03), Math.log(0.3)));
  const clampBox = (x0: number, y0: number, x1: number, y1: number) => ({
    x0: Math.max(0, Math.floor(x0)),
    y0: Math.max(0, Math.floor(y0)),
    x1: Math.min(size, Math.ceil(x1) + 1),
    y1: Math.min(size, Math.ceil(y1) + 1),
  });
  if (kind <= 1) {
    // an ellipse (kind 0) or an irregular blob (kind 1), through the radial-shape rasteriser
    const shape = radialShape(rng, {
      cx,
      cy,
      radius: r,
      irregularity: kind === 0 ? 0 : rng.uniform(0.1, 0.45),
      maxHarmonic: rng.int(3, 9),
      aspect: rng.uniform(0.4, 2.5),
      angle: rng.uniform(0, Math.PI),
    });
    const box = rasterizeShape(shape, size, size, q, dist, 1);
    const inside = new Uint8Array((box.x1 - box.x0) * (box.y1 - box.y0));
    for (let y = box.y0; y < box.y1; y++) for (let x = box.x0; x < box.x1; x++) inside[(y - box.y0) * (box.x1 - box.x0) + x - box.x0] = dist[y * size + x]! > 0 ? 1 : 0;
    return { ...box, inside: (x, y) => inside[(y - box.y0) * (box.x1 - box.x0) + x - box.x0] === 1 };
  }
  if (kind === 2 || kind === 3) {
    // a convex-ish or star polygon (kind 2), a rotated rectangle (kind 3)
    const poly: number[] = [];
    if (kind === 3) {
      const w = r * rng.uniform(0.5, 1.5);
      const h = r * rng.uniform(0.3, 1.2);
      const th = rng.uniform(0, Math.PI);
      for (const [u, v] of [[-1, -1], [1, -1], [1, 1], [-1, 1]] as const) {
        poly.push(cx + u * w * Math.cos(th) - v * h * Math.sin(th), cy + u * w * Math.sin(th) + v * h * Math.cos(th));
      }
    } else {
      const n = rng.int(3, 9);
      const star = rng.next() < 0.3;
      const angles = Array.from({ length: n }, (_, i) => (2 * Math.PI * (i + rng.uniform(-0.3, 0.3))) / n).sort((a, b) => a - b);
      angles.forEach((a, i) => {
        const rr = r * (star && i % 2 ? rng.uniform(0.35, 0.6) : rng.uniform(0.7, 1.1));
        poly.push(cx + rr * Math.cos(a), cy + rr * Math.sin(a));
      });
    }
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < poly.length; i += 2) {
      x0 = Math.min(x0, poly[i]!);
      x1 = Math.max(x1, poly[i]!);
      y0 = Math.min(y0, poly[i + 1]!);
      y1 = Math.max(y1, poly[i + 1]!);
    }
    return { ...clampBox(x0, y0, x1, y1), inside: (x, y) => insidePolygon(x + 0.5, y + 0.5, poly) };
  }
  if (kind === 4) {
    // a ring
    const outer = r;
    const inner = r * rng.uniform(0.4, 0.8);
    const aspect = rng.uniform(0.6, 1.6);
    return {
      ...clampBox(cx - outer * 1.3, cy - outer * 1.3, cx + outer * 1.3, cy + outer * 1.3),
      inside: (x, y) => {
        const d = Math.hypot((x + 0.5 - cx) / Math.sqrt(aspect), (y + 0.5 - cy) * Math.sqrt(aspect));
        return d < outer && d > inner;
      },
    };
  }
  // a curved band: a thick polyline along a smooth random walk
  const width = Math.max(1.5, r * rng.uniform(0.1, 0.35));
  const pts: number[] = [cx, cy];
  let th = rng.uniform(0, 2 * Math.PI);
  const steps = rng.int(4, 12);
  const step = r * rng.uniform(0.3, 0.6);
  for (let i = 0; i < steps; i++) {
    th += rng.normal(0, 0.5);
    pts.push(pts[pts.length - 2]! + step * Math.cos(th), pts[pts.length - 1]! + step * Math.sin(th));
  }
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < pts.length; i += 2) {
    x0 = Math.min(x0, pts[i]!);
    x1 = Math.max(x1, pts[i]!);
    y0 = Math.min(y0, pts[i + 1]!);
    y1 = Math.max(y1, pts[i + 1]!);
  }
  return {
    ...clampBox(x0 - width, y0 - width, x1 + width, y1 + width),
    inside: (x, y) => {
      for (let i = 0; i + 3 < pts.length; i += 2) if (segmentDistance(x + 0.5, y + 0.5, pts[i]!, pts[i + 1]!, pts[i + 2]!, pts[i + 3]!) < width) return true;
      return false;
    },
  };
}

/** Scene `seed` at size x size pixels. Deterministic in (seed, size). */
export function genericScene(seed: number, size: number): LabelledScene {
  if (!Number.isInteger(size) || size < 16 || size > 4096) throw new Error(`scene size must be an integer in 16..4096, got ${size}`);
  const rng = new Rng(seed >>> 0);
  const grey = rng.next() < 0.4;
  const n = size * size;
  const rgb = new Float32Array(n * 3);
  const labels = new Uint8Array(n);
  const q = new Float32Array(n);
  const dist = new Float32Array(n);
  const background = randomFill(new Rng(subSeed(rng)), size, randomColour(rng, grey), grey);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const c = background(x, y);
      const i = (y * size + x) * 3;
      rgb[i] = c[0];
      rgb[i + 1] = c[1];
      rgb[i + 2] = c[2];
    }
  }
  const count = rng.int(2, 13);
  for (let k = 1; k <= count; k++) {
    const shape = randomShape(new Rng(subSeed(rng)), size, q, dist);
    // a colour that stands out from the mean colour of what the shape covers
    let sum: Rgb = [0, 0, 0];
    let area = 0;
    for (let y = shape.y0; y < shape.y1; y++) {
      for (let x = shape.x0; x < shape.x1; x++) {
        if (!shape.inside(x, y)) continue;
        const i = (y * size + x) * 3;
        sum = [sum[0] + rgb[i]!, sum[1] + rgb[i + 1]!, sum[2] + rgb[i + 2]!];
        area++;
      }
    }
    if (!area) continue;
    const under: Rgb = [sum[0] / area, sum[1] / area, sum[2] / area];
    let colour = randomColour(rng, grey);
    for (let attempt = 0; attempt < 8 && distance(colour, under) < (grey ? 45 : 70); attempt++) colour = randomColour(rng, grey);
    const fill = randomFill(new Rng(subSeed(rng)), size, colour, grey);
    for (let y = shape.y0; y < shape.y1; y++) {
      for (let x = shape.x0; x < shape.x1; x++) {
        if (!shape.inside(x, y)) continue;
        const c = fill(x, y);
        const i = y * size + x;
        labels[i] = k;
        rgb[3 * i] = c[0];
        rgb[3 * i + 1] = c[1];
        rgb[3 * i + 2] = c[2];
      }
    }
  }
  // acquisition: blur, noise, contrast and gamma
  const planes = [0, 1, 2].map((c) => {
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) p[i] = rgb[3 * i + c]!;
    return p;
  });
  const sigma = rng.next() < 0.5 ? rng.uniform(0, 1.6) : 0;
  const noiseSigma = rng.next() < 0.6 ? rng.uniform(0, 14) : 0;
  const scratch = new Float32Array(n);
  const normal = new FastNormal(rng);
  const gamma = Math.exp(rng.uniform(-0.4, 0.4));
  const contrast = rng.uniform(0.6, 1.2);
  for (const p of planes) {
    gaussianBlur(p, size, size, sigma, scratch);
    if (noiseSigma > 0) {
      if (grey && p !== planes[0]) p.set(planes[0]!);
      else normal.addTo(p, noiseSigma);
    }
  }
  const image = rgbImage(size, size);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      let v = planes[c]![i]! / 255;
      v = 0.5 + (v - 0.5) * contrast;
      v = v <= 0 ? 0 : v >= 1 ? 1 : v ** gamma;
      image.data[3 * i + c] = Math.round(v * 255);
    }
  }
  return { image, labels, count };
}
