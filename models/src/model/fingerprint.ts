/**
 * A content hash of a set of weights (names, shapes and float32 bytes, in name order), so the same
 * model has the same identity whether it came from a .pth or a .safetensors file.
 */
import { createHash } from 'node:crypto';
import { toBytes } from '../tensor.js';
import type { Weights } from '../sam/weights.js';

export function weightsFingerprint(weights: Weights): string {
  const h = createHash('sha256');
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    h.update(`${name}:${t.shape.join('x')};`);
    h.update(toBytes(t.data));
  }
  return h.digest('hex');
}
