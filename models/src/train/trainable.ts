/** Which parameters a fine-tuning run updates (docs/architecture.md, "Training recipe": adapters + the whole mask decoder). */
import type { ModelConfig } from '../sam/config.js';
import type { TRAINABLE_SETS } from '../model/adapter-artifact.js';
import { parameterSpecs } from '../sam/parameters.js';

export type TrainableSet = (typeof TRAINABLE_SETS)[number];

export function trainableNames(config: ModelConfig, set: TrainableSet): string[] {
  return parameterSpecs(config)
    .filter((s) => !s.buffer)
    .filter((s) => {
      switch (set) {
        case 'decoder':
          return s.group === 'decoder';
        case 'adapters':
          return s.group === 'decoder' || s.group === 'local_adapter' || s.group === 'global_adapter';
        case 'all':
          return true;
      }
      return false;
    })
    .map((s) => s.name);
}
