/**
 * A stack of CT phantom slices through one lesion, for propagation through a series until the
 * CT volume phantoms (whole anatomy continuing from slice to slice) are available: one axial
 * phantom slice (ct.ts) repeated, its lesion resized slice by slice along an ellipsoid profile
 * and drifting sideways, with fresh scanner noise on every slice. Slices beyond the lesion's ends
 * show the organ alone, so a propagation must find where the lesion stops. The lesion mask of
 * each slice is known exactly (`masks`), which is what an evaluation of propagation needs.
 */
import type { RgbImage } from '../image/rgb-image.js';
import { Rng } from '../util/random.js';
import { CT_WINDOW, ctPhantom, windowToRgb, type CtOrgan } from './ct.js';
import { FastNormal, gaussianBlur, subSeed } from './noise.js';
import { siteProfile, type SiteProfile } from './sites.js';

export interface LesionStackOptions {
  /** A site name (see SITES) or a profile (default 'A'). */
  site?: string | SiteProfile;
  /** Side of the square slices in pixels (default 128). */
  size?: number;
  /** Number of slices (default 32); the lesion spans 5 to 24 of them, with at least 3 free slices at each end. */
  slices?: number;
}

export interface LesionStack {
  size: number;
  /** Hounsfield units per slice, row-major size * size. */
  hu: Int16Array[];
  /** The lesion on each slice, 0/1 per pixel (empty beyond its ends). */
  masks: Uint8Array[];
  /** The first and last slices holding the lesion, and the one where it is largest. */
  lesion: { first: number; last: number; largest: number };
  organ: CtOrgan;
  site: string;
}

/** One lesion stack, deterministic in `seed`. */
export function lesionStack(seed: number, o: LesionStackOptions = {}): LesionStack {
  const site = typeof o.site === 'object' ? o.site : siteProfile(o.site ?? 'A');
  const size = o.size ?? 128;
  const slices = o.slices ?? 32;
  if (!Number.isInteger(slices) || slices < 11) throw new Error(`a lesion stack needs at least 11 slices, got ${slices}`);
  const rng = new Rng(seed);
  const base = ctPhantom(new Rng(subSeed(rng)), size, site);
  const shape = new Rng(subSeed(rng));
  const noise = new FastNormal(new Rng(subSeed(rng)));
  const n = size * size;

  // the lesion's centre (centroid) and how it runs along the stack
  let cx = 0;
  let cy = 0;
  let area = 0;
  for (let i = 0; i < n; i++) {
    if (!base.mask[i]) continue;
    cx += i % size;
    cy += Math.floor(i / size);
    area++;
  }
  cx /= area;
  cy /= area;
  const radius = Math.sqrt(area / Math.PI);
  const extent = shape.int(5, Math.min(24, slices - 6) + 1);
  const half = extent / 2;
  const first = shape.int(3, slices - 3 - extent + 1);
  const z0 = first + (extent - 1) / 2;
  const drift = shape.uniform(0, 0.35) * radius;
  const angle = shape.uniform(0, 2 * Math.PI);
  const contrast = base.lesionHu - base.organHu;

  const hu: Int16Array[] = [];
  const masks: Uint8Array[] = [];
  const delta = new Float32Array(n);
  const scratch = new Float32Array(n);
  const grain = new Float32Array(n);
  let largest = first;
  let largestArea = -1;
  let firstFound = -1;
  let lastFound = -1;
  for (let z = 0; z < slices; z++) {
    const t = (z - z0) / half;
    const s = Math.sqrt(Math.max(0, 1 - t * t));
    const dx = t * drift * Math.cos(angle);
    const dy = t * drift * Math.sin(angle);
    const mask = new Uint8Array(n);
    if (s * radius >= 0.7) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const i = y * size + x;
          if (!base.organMask[i]) continue;
          const sx = Math.round(cx + (x - cx - dx) / s);
          const sy = Math.round(cy + (y - cy - dy) / s);
          if (sx >= 0 && sy >= 0 && sx < size && sy < size && base.mask[sy * size + sx]) mask[i] = 1;
        }
      }
    }
    let a = 0;
    for (let i = 0; i < n; i++) a += mask[i]!;
    if (a > 0) {
      if (firstFound < 0) firstFound = z;
      lastFound = z;
    }
    if (a > largestArea) {
      largestArea = a;
      largest = z;
    }
    // the lesion's attenuation where this slice's lesion is, the organ's where the template's was
    for (let i = 0; i < n; i++) delta[i] = (mask[i]! - base.mask[i]!) * contrast;
    gaussianBlur(delta, size, size, site.ct.blurSigma * (size / 256), scratch);
    grain.fill(0);
    noise.addTo(grain, 1);
    gaussianBlur(grain, size, size, 0.7 * (size / 256), scratch);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.max(-1024, Math.min(3071, Math.round(base.hu[i]! + delta[i]! + 0.6 * site.ct.noiseHu * grain[i]!)));
    hu.push(out);
    masks.push(mask);
  }
  return { size, hu, masks, lesion: { first: firstFound, last: lastFound, largest }, organ: base.organ, site: site.name };
}

/** A slice of a lesion stack as the model sees it: the soft-tissue window of the CT phantoms. */
export function lesionStackImage(stack: LesionStack, index: number): RgbImage {
  return windowToRgb(stack.hu[index]!, stack.size, CT_WINDOW.center, CT_WINDOW.width);
}
