/**
 * float32 -> IEEE 754 binary16 conversion (Node 20 has no Float16Array): round to nearest, ties
 * to even, as a Cast to float16 does; finite values beyond the half range saturate at +-65504 so
 * a large weight becomes the largest half rather than infinity. toFloat32 in tensor.ts is the
 * way back.
 */
import { type Tensor, tensor } from '../tensor.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const MAX_HALF = 0x7bff;

/** The binary16 bit pattern nearest to `value`. */
export function halfBits(value: number): number {
  f32[0] = value;
  return halfFromFloatBits(u32[0]!);
}

/** The binary16 bit pattern nearest to the float32 with bit pattern `x`. */
function halfFromFloatBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // infinity or NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | MAX_HALF;
  if (e <= 0) {
    // A half subnormal: m * 2^-24 with m = the full 24-bit significand shifted right by 14 - e.
    if (e < -10) return sign;
    return sign | roundShift(mantissa | 0x800000, 14 - e);
  }
  const h = (e << 10) + roundShift(mantissa, 13); // a carry out of the mantissa bumps the exponent
  return sign | Math.min(h, MAX_HALF);
}

/** value >> shift, rounded to nearest with ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && kept & 1) ? kept + 1 : kept;
}

/** A float32 tensor in half precision. */
export function toFloat16(t: Tensor<'float32'>): Tensor<'float16'> {
  const out = tensor('float16', t.shape);
  const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
  for (let i = 0; i < bits.length; i++) out.data[i] = halfFromFloatBits(bits[i]!);
  return out;
}
