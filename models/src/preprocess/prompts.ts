/**
 * SAM's prompt rules as the decoder's tensors. The rules themselves (coordinate scaling, box
 * corners, the padding point, validation) are the decode core's (`decode/prompt-inputs.ts`, shared
 * with the browser); this wraps its arrays as `Tensor`s for graph code and fixtures.
 */

import { type Prompts, type SizeHW, promptInputs } from '../decode/prompt-inputs.js';
import { type Tensor, float32 } from '../tensor.js';

export {
  LABEL_BOX_BOTTOM_RIGHT,
  LABEL_BOX_TOP_LEFT,
  LABEL_NEGATIVE,
  LABEL_PADDING,
  LABEL_POSITIVE,
  type Box,
  type Point,
  type Prompts,
  validatePrompts,
} from '../decode/prompt-inputs.js';

/** The decoder's sparse prompt inputs. */
export interface EncodedPrompts {
  /** float32 `[1, N, 2]`, (x, y) in the resized frame. */
  readonly pointCoords: Tensor<'float32'>;
  /** float32 `[1, N]`: 1, 0, 2, 3 or -1 (see decode/prompt-inputs.ts). */
  readonly pointLabels: Tensor<'float32'>;
}

/**
 * Encodes the prompts for one image of `originalSize` (H, W) whose long side is resized to
 * `longSide`, as SAM's ONNX decoder expects them.
 */
export function encodePrompts(prompts: Prompts, originalSize: SizeHW, longSide: number): EncodedPrompts {
  const { coords, labels, n } = promptInputs(prompts, originalSize, longSide);
  return { pointCoords: float32([1, n, 2], coords), pointLabels: float32([1, n], labels) };
}
