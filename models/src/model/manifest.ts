/**
 * model.json: what an exported model folder holds (config, sizes, parameter counts, checksums),
 * validated whenever a folder is opened.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ModelConfigSchema } from '../sam/config.js';
import { MODEL_DTYPES } from './inference-graphs.js';
import { readJsonFile } from '../util/json-file.js';

export const MODEL_MANIFEST = 'model.json';
export const ENCODER_FILE = 'encoder.onnx';
export const DECODER_FILE = 'decoder.onnx';
export const WEIGHTS_FILE = 'weights.safetensors';

const FileEntry = z.object({ bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

export const ModelManifestSchema = z.object({
  format: z.literal('glmedsa-model'),
  format_version: z.literal(1),
  name: z.string().min(1),
  config: ModelConfigSchema,
  /** Encoder input size the graphs were built for (pixels, square). */
  input_size: z.number().int().positive(),
  /** Precision the graphs compute in (their inputs and outputs are float32 either way). */
  dtype: z.enum(MODEL_DTYPES).default('float32'),
  embedding: z.object({ channels: z.number().int(), size: z.number().int() }),
  low_res_size: z.number().int(),
  mask_tokens: z.number().int(),
  parameter_counts: z.object({
    total: z.number().int(),
    encoder: z.number().int(),
    local_adapter: z.number().int(),
    global_adapter: z.number().int(),
    prompt_encoder: z.number().int(),
    decoder: z.number().int(),
  }),
  /** Content hash of the weights (weightsFingerprint): the model's identity. */
  weights_sha256: z.string(),
  files: z.record(z.string(), FileEntry),
  source: z.object({
    checkpoint: z.string().optional(),
    preset: z.string().optional(),
    initialized_adapters: z.number().int().nonnegative(),
    adapter: z.string().optional(),
  }),
  pixel_mean: z.array(z.number()).length(3),
  pixel_std: z.array(z.number()).length(3),
  opset: z.number().int(),
  ir_version: z.number().int(),
  created_at: z.string(),
  producer: z.string(),
});

export type ModelManifest = z.infer<typeof ModelManifestSchema>;

export interface ModelFolder {
  dir: string;
  manifest: ModelManifest;
  encoderPath: string;
  decoderPath: string;
  /** The weights as safetensors, when the export kept them (needed for training). */
  weightsPath?: string;
}

/** Opens an exported model folder: reads and validates model.json and checks the files exist. */
export async function openModelFolder(dir: string): Promise<ModelFolder> {
  const manifestPath = path.join(dir, MODEL_MANIFEST);
  const manifest = await readJsonFile(
    manifestPath,
    ModelManifestSchema,
    'model manifest',
    `${dir} is not a model folder: it has no ${MODEL_MANIFEST} (make one with 'glmedsa export')`,
  );
  for (const [file, entry] of Object.entries(manifest.files)) {
    if (file.includes('/') || file.includes('\\') || file.startsWith('.')) throw new Error(`${manifestPath}: bad file name '${file}'`);
    const st = await fs.stat(path.join(dir, file)).catch(() => undefined);
    if (!st) throw new Error(`${dir}: ${file} is listed in ${MODEL_MANIFEST} but missing`);
    if (st.size !== entry.bytes) throw new Error(`${dir}: ${file} has ${st.size} bytes, ${MODEL_MANIFEST} says ${entry.bytes} (incomplete copy?)`);
  }
  return {
    dir,
    manifest,
    encoderPath: path.join(dir, ENCODER_FILE),
    decoderPath: path.join(dir, DECODER_FILE),
    ...(manifest.files[WEIGHTS_FILE] ? { weightsPath: path.join(dir, WEIGHTS_FILE) } : {}),
  };
}
