/**
 * The two inference graphs of an exported model in the precision it is exported in. float16
 * models compute in half precision from the encoder's image and the decoder's embeddings on
 * (ir/float16.ts) and keep float32 inputs and outputs, so callers feed and read float32 either way.
 */
import { convertToFloat16 } from '../ir/float16.js';
import type { Graph } from '../ir/graph.js';
import type { ModelConfig } from '../sam/config.js';
import { ENCODER_INPUT, buildDecoderGraph, buildEncoderGraph } from '../sam/graphs.js';
import type { Weights } from '../sam/weights.js';

export const MODEL_DTYPES = ['float32', 'float16'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

interface InferenceGraphOptions {
  /** Encoder input size in pixels (default: the checkpoint's img_size). */
  inputSize?: number;
  dtype?: ModelDtype;
}

function inPrecision(g: Graph, dtype: ModelDtype, halfInput: string): Graph {
  return dtype === 'float16' ? convertToFloat16(g, { halfInputs: [halfInput] }) : g;
}

export function encoderGraph(config: ModelConfig, weights: Weights, o: InferenceGraphOptions = {}): Graph {
  return inPrecision(buildEncoderGraph(config, weights, o), o.dtype ?? 'float32', ENCODER_INPUT);
}

export function decoderGraph(config: ModelConfig, weights: Weights, o: InferenceGraphOptions = {}): Graph {
  return inPrecision(buildDecoderGraph(config, weights, o), o.dtype ?? 'float32', 'image_embeddings');
}
