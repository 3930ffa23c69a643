/**
 * VOI (window/level) transforms of PS3.3 C.11.2.1.2-3, mapping modality values to 8-bit display
 * values 0..255, and the min/max fallback for images without a window.
 */
import type { Voi } from './image-ref.js';
import type { VoiFunction } from './pixel-module.js';

const Y_MIN = 0;
const Y_MAX = 255;

/**
 * One value through a VOI function, unrounded in [0, 255].
 * - LINEAR (C.11.2.1.2.1): x <= c - 0.5 - (w-1)/2 -> 0; x > c - 0.5 + (w-1)/2 -> 255;
 *   otherwise ((x - (c - 0.5)) / (w-1) + 0.5) * 255. Needs w >= 1 (smaller widths act as 1).
 * - LINEAR_EXACT (C.11.2.1.3.2): ((x - c) / w + 0.5) * 255, clamped. Needs w > 0.
 * - SIGMOID (C.11.2.1.3.1): 255 / (1 + exp(-4 (x - c) / w)).
 */
export function voiValue(x: number, voi: Voi, fn: VoiFunction = 'LINEAR'): number {
  const { center: c } = voi;
  switch (fn) {
    case 'LINEAR_EXACT': {
      const w = Math.max(voi.width, Number.MIN_VALUE);
      if (x <= c - w / 2) return Y_MIN;
      if (x > c + w / 2) return Y_MAX;
      return ((x - c) / w + 0.5) * (Y_MAX - Y_MIN) + Y_MIN;
    }
    case 'SIGMOID': {
      const w = Math.max(voi.width, Number.MIN_VALUE);
      return (Y_MAX - Y_MIN) / (1 + Math.exp((-4 * (x - c)) / w)) + Y_MIN;
    }
    case 'LINEAR': {
      const w = Math.max(voi.width, 1);
      if (x <= c - 0.5 - (w - 1) / 2) return Y_MIN;
      if (x > c - 0.5 + (w - 1) / 2) return Y_MAX;
      return ((x - (c - 0.5)) / (w - 1) + 0.5) * (Y_MAX - Y_MIN) + Y_MIN;
    }
  }
}

/** Applies a VOI to every value, rounding to bytes; `invert` flips the result (MONOCHROME1). */
export function windowToBytes(values: Float32Array, voi: Voi, fn: VoiFunction, invert: boolean): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const y = Math.round(voiValue(values[i]!, voi, fn));
    out[i] = invert ? Y_MAX - y : y;
  }
  return out;
}

/** The smallest and largest value (0, 0 for an empty array). */
function minMax(values: Float32Array): { min: number; max: number } {
  if (values.length === 0) return { min: 0, max: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/**
 * Stretches the frame's own range to 0..255 (min -> 0, max -> 255, linear, rounded); a flat frame
 * maps to 0. `invert` flips the result (MONOCHROME1).
 */
export function minMaxToBytes(values: Float32Array, invert: boolean): Uint8Array {
  const { min, max } = minMax(values);
  const out = new Uint8Array(values.length);
  const scale = max > min ? (Y_MAX - Y_MIN) / (max - min) : 0;
  for (let i = 0; i < values.length; i++) {
    const y = Math.round((values[i]! - min) * scale) + Y_MIN;
    out[i] = invert ? Y_MAX - y : y;
  }
  return out;
}
