/**
 * The adapter artifact a fine-tuning run produces: adapter.safetensors (the trained tensors under
 * their checkpoint names) and adapter.json (base model, variant, data, training, metrics).
 * Applying it to its base model gives the fine-tuned model.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readSafetensors, writeSafetensors } from '../checkpoint/index.js';
import { VARIANTS, type ModelConfig, parseModelConfig } from '../sam/config.js';
import { type Weights, weightsForVariant } from '../sam/weights.js';
import { type Tensor, toFloat32 } from '../tensor.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import { readJsonFile } from '../util/json-file.js';

export const ADAPTER_TENSORS = 'adapter.safetensors';
export const ADAPTER_MANIFEST = 'adapter.json';

/**
 * What an adapter records of the run that made it, and what `glmedsa train` offers: the weights it
 * trained (train/trainable.ts names them) and the loss it trained with (train/loss.ts builds it).
 * Declared with the file format, so that reading an adapter needs nothing of the training code.
 */
export const TRAINABLE_SETS = ['adapters', 'decoder', 'all'] as const;
export const LOSS_KINDS = ['sam', 'medsa'] as const;

const Metrics = z.object({ dice: z.number(), iou: z.number(), n: z.number().int().optional(), clicks: z.number().int().optional() });

export const AdapterManifestSchema = z.object({
  format: z.literal('glmedsa-adapter'),
  format_version: z.literal(1),
  name: z.string(),
  variant: z.enum(VARIANTS),
  trainable: z.enum(TRAINABLE_SETS),
  base: z.object({ name: z.string(), weights_sha256: z.string() }),
  tensors: z.number().int().nonnegative(),
  parameters: z.number().int().nonnegative(),
  data: z.object({ description: z.string(), fingerprint: z.string(), count: z.number().int() }),
  training: z.object({
    steps: z.number().int(),
    batch: z.number().int(),
    lr: z.number(),
    seed: z.number().int(),
    clicks: z.number().int(),
    loss: z.enum(LOSS_KINDS).optional(),
    seconds: z.number(),
    final_loss: z.number().nullable(),
    images_per_second: z.number(),
  }),
  metrics: z.object({ train: Metrics.optional(), validation: Metrics.optional() }),
  created_at: z.string(),
});

export type AdapterManifest = z.infer<typeof AdapterManifestSchema>;

export async function writeAdapter(dir: string, tensors: Map<string, Tensor<'float32'>>, manifest: AdapterManifest): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.rm(path.join(dir, ADAPTER_MANIFEST), { force: true });
  await writeSafetensors(path.join(dir, ADAPTER_TENSORS), tensors, { variant: manifest.variant, base: manifest.base.weights_sha256 });
  await writeJsonAtomic(path.join(dir, ADAPTER_MANIFEST), AdapterManifestSchema.parse(manifest));
}

export async function readAdapter(dir: string): Promise<{ manifest: AdapterManifest; tensors: Map<string, Tensor> }> {
  const manifest = await readJsonFile(
    path.join(dir, ADAPTER_MANIFEST),
    AdapterManifestSchema,
    'adapter manifest',
    `${dir} is not an adapter folder: it has no ${ADAPTER_MANIFEST} (make one with 'glmedsa train')`,
  );
  const tensors = await readSafetensors(path.join(dir, ADAPTER_TENSORS));
  if (tensors.size !== manifest.tensors) {
    throw new Error(`${dir}: ${ADAPTER_TENSORS} holds ${tensors.size} tensors, the manifest says ${manifest.tensors}`);
  }
  return { manifest, tensors };
}

/**
 * The fine-tuned model: the base weights with the adapter's tensors applied, under the adapter's
 * variant. Refuses an adapter trained on another base model.
 */
export function applyAdapter(
  baseConfig: ModelConfig,
  baseWeights: Weights,
  baseFingerprint: string,
  adapter: { manifest: AdapterManifest; tensors: Map<string, Tensor> },
): { config: ModelConfig; weights: Weights } {
  const m = adapter.manifest;
  if (m.base.weights_sha256 !== baseFingerprint) {
    throw new Error(`adapter '${m.name}' was trained on base model ${m.base.name} (${m.base.weights_sha256.slice(0, 12)}), not on this one (${baseFingerprint.slice(0, 12)})`);
  }
  const config = parseModelConfig({ ...baseConfig, variant: m.variant });
  const dict = new Map<string, Tensor>(baseWeights);
  for (const [k, t] of adapter.tensors) dict.set(k, toFloat32(t));
  const { weights } = weightsForVariant(config, dict, { source: `adapter ${m.name}` });
  return { config, weights };
}
