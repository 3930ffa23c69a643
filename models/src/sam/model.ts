/**
 * The whole model as its builders declare it: the image encoder, prompt encoder and mask decoder
 * under their checkpoint prefixes and parameter groups. Running it in a recording scope gives the
 * parameter inventory; in a binding scope, the modules' forward functions for a graph.
 */
import type { Graph } from '../ir/graph.js';
import type { Tensor } from '../tensor.js';
import type { ModelConfig } from './config.js';
import { imageEncoder } from './image-encoder.js';
import { maskDecoder } from './mask-decoder.js';
import { ParamScope } from './param-scope.js';
import { type PromptEncoder, promptEncoder } from './prompt-encoder.js';

export interface SamModel {
  imageEncoder: ReturnType<typeof imageEncoder>;
  promptEncoder: PromptEncoder;
  maskDecoder: ReturnType<typeof maskDecoder>;
}

export function samModel(s: ParamScope, c: ModelConfig): SamModel {
  return {
    imageEncoder: imageEncoder(s.child('image_encoder', { group: 'encoder' }), c),
    promptEncoder: promptEncoder(s.child('prompt_encoder', { group: 'prompt_encoder' }), c),
    maskDecoder: maskDecoder(s.child('mask_decoder', { group: 'decoder' }), c),
  };
}

/** The model's modules with `weights` as the initializers of `g`. */
export function bindModel(g: Graph, c: ModelConfig, weights: ReadonlyMap<string, Tensor<'float32'>>): SamModel {
  return samModel(ParamScope.binding(g, weights), c);
}
