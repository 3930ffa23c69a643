/**
 * The parameter inventory of a model: every checkpoint key with its shape, group and init, in
 * declaration order, found by running the model's builders for the config in a recording scope
 * (no weights, no graph). Used to validate checkpoints, to create fresh weights, to choose what
 * trains, and to count parameters.
 */
import type { ModelConfig } from './config.js';
import { samModel } from './model.js';
import { type ParamSpec, ParamScope } from './param-scope.js';

export type { ParamGroup, ParamSpec } from './param-scope.js';

export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const { scope, specs } = ParamScope.recording();
  samModel(scope, c);
  return specs;
}

export interface ParameterCounts {
  total: number;
  encoder: number;
  local_adapter: number;
  global_adapter: number;
  prompt_encoder: number;
  decoder: number;
}

export function countParameters(c: ModelConfig): ParameterCounts {
  const counts: ParameterCounts = { total: 0, encoder: 0, local_adapter: 0, global_adapter: 0, prompt_encoder: 0, decoder: 0 };
  for (const s of parameterSpecs(c)) {
    if (s.buffer) continue;
    const n = s.shape.reduce((a, b) => a * b, 1);
    counts[s.group] += n;
    counts.total += n;
  }
  return counts;
}
