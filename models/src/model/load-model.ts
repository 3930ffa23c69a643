/** Loading an exported model folder's weights (and optionally an adapter on top) for training or evaluation. */
import { readSafetensors } from '../checkpoint/index.js';
import type { ModelConfig } from '../sam/config.js';
import { type Weights, bindWeights } from '../sam/weights.js';
import { applyAdapter, readAdapter } from './adapter-artifact.js';
import { weightsFingerprint } from './fingerprint.js';
import { type ModelFolder, openModelFolder } from './manifest.js';

export interface LoadedModel {
  folder: ModelFolder;
  config: ModelConfig;
  weights: Weights;
  /** Identity of the folder's weights (model.json weights_sha256). */
  fingerprint: string;
}

export async function loadModelWeights(dir: string): Promise<LoadedModel> {
  const folder = await openModelFolder(dir);
  if (!folder.weightsPath) {
    throw new Error(`${dir} was exported without its weights (--no-weights); re-export it to train or apply adapters`);
  }
  const dict = await readSafetensors(folder.weightsPath);
  const { weights } = bindWeights(folder.manifest.config, dict, { source: folder.weightsPath, initMissingAdapters: false });
  return { folder, config: folder.manifest.config, weights, fingerprint: folder.manifest.weights_sha256 };
}

/** A model folder with an adapter applied (when given). */
export async function loadModelWithAdapter(dir: string, adapterDir?: string): Promise<LoadedModel & { adapterName?: string }> {
  const base = await loadModelWeights(dir);
  if (!adapterDir) return base;
  const adapter = await readAdapter(adapterDir);
  const { config, weights } = applyAdapter(base.config, base.weights, base.fingerprint, adapter);
  return { ...base, config, weights, fingerprint: weightsFingerprint(weights), adapterName: adapter.manifest.name };
}
