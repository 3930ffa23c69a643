/**
 * Interpolation along one axis as a constant matrix M [out, in] (y = M x), with PyTorch's
 * F.interpolate semantics (align_corners=False). Used to resize position tables when the encoder
 * runs at another input size than its checkpoint; as matrices they stay differentiable in-graph.
 */
import { type Tensor, float32 } from '../tensor.js';

/** mode='linear' (and each axis of 'bilinear'): source index clamped at 0, neighbour clamped at the end. */
export function linearMatrix(inSize: number, outSize: number): Tensor<'float32'> {
  const m = float32([outSize, inSize]);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(scale * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    const l1 = src - i0;
    m.data[o * inSize + i0]! += 1 - l1;
    m.data[o * inSize + i1]! += l1;
  }
  return m;
}

/** mode='bicubic' (A = -0.75, no antialiasing, border indices clamped), as upsample_bicubic2d. */
export function bicubicMatrix(inSize: number, outSize: number): Tensor<'float32'> {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  const m = float32([outSize, inSize]);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = scale * (o + 0.5) - 0.5;
    const base = Math.floor(src);
    const t = src - base;
    const w = [far(t + 1), near(t), near(1 - t), far(2 - t)];
    for (let k = 0; k < 4; k++) {
      const idx = Math.min(Math.max(base - 1 + k, 0), inSize - 1);
      m.data[o * inSize + idx]! += w[k]!;
    }
  }
  return m;
}
