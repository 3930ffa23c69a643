/**
 * `glmedsa export`: builds encoder.onnx and decoder.onnx from a config and weights, keeps the
 * weights as safetensors (training and re-export start from them), and writes model.json last,
 * so a folder with a manifest is always complete.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeSafetensors } from '../checkpoint/index.js';
import { IR_VERSION, OPSET, writeModel } from '../onnx/serialize.js';
import { PIXEL_MEAN, PIXEL_STD } from '../preprocess/index.js';
import { type ModelConfig, embedGrid } from '../sam/config.js';
import { countParameters } from '../sam/parameters.js';
import type { Weights } from '../sam/weights.js';
import { type ProgressSink, silentProgress } from '../util/progress.js';
import { weightsFingerprint } from './fingerprint.js';
import { type ModelDtype, decoderGraph, encoderGraph } from './inference-graphs.js';
import { DECODER_FILE, ENCODER_FILE, MODEL_MANIFEST, type ModelManifest, ModelManifestSchema, WEIGHTS_FILE } from './manifest.js';
import { writeJsonAtomic } from '../util/atomic-file.js';

export interface ExportOptions {
  config: ModelConfig;
  weights: Weights;
  outDir: string;
  /** Encoder input size (default: the checkpoint's img_size). */
  inputSize?: number;
  /** Precision of the graphs (default float32); weights.safetensors stays float32. */
  dtype?: ModelDtype;
  name?: string;
  source?: ModelManifest['source'];
  /** Keep weights.safetensors in the folder (default true). */
  keepWeights?: boolean;
  progress?: ProgressSink;
}

async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return h.digest('hex');
}

export async function exportModel(o: ExportOptions): Promise<ModelManifest> {
  const { config, weights } = o;
  const S = o.inputSize ?? config.img_size;
  if (S % config.patch_size !== 0) throw new Error(`input size ${S} must be a multiple of the patch size ${config.patch_size}`);
  const dtype = o.dtype ?? 'float32';
  const progress = o.progress ?? silentProgress;
  await fs.mkdir(o.outDir, { recursive: true });
  // An interrupted export must not leave a manifest that describes files being replaced.
  await fs.rm(path.join(o.outDir, MODEL_MANIFEST), { force: true });

  const task = `export ${config.variant} (${config.embed_dim}x${config.depth}) at ${S}px in ${dtype}`;
  let weightBytes = 0;
  for (const t of weights.values()) weightBytes += t.data.byteLength;
  const keep = o.keepWeights ?? true;
  const totalBytes = weightBytes * ((dtype === 'float16' ? 0.5 : 1) + (keep ? 1 : 0)) + 1;
  let base = 0;
  const onBytes = (written: number) => progress({ task, done: Math.min(base + written, totalBytes), total: totalBytes });
  progress({ task, done: 0, total: totalBytes });

  const files: ModelManifest['files'] = {};
  // float32 graphs stay byte for byte what they were before the dtype option existed.
  const metadata = { variant: config.variant, ...(dtype === 'float32' ? {} : { dtype }) };
  const encoder = encoderGraph(config, weights, { inputSize: S, dtype });
  const enc = await writeModel(encoder, path.join(o.outDir, ENCODER_FILE), { onBytes, metadata });
  files[ENCODER_FILE] = { bytes: enc.bytes, sha256: enc.sha256 };
  if (enc.externalData) files[path.basename(enc.externalData.path)] = { bytes: enc.externalData.bytes, sha256: enc.externalData.sha256 };
  base += enc.bytes + (enc.externalData?.bytes ?? 0);

  const decoder = decoderGraph(config, weights, { inputSize: S, dtype });
  const dec = await writeModel(decoder, path.join(o.outDir, DECODER_FILE), { onBytes, metadata });
  files[DECODER_FILE] = { bytes: dec.bytes, sha256: dec.sha256 };
  base += dec.bytes;

  const weightsPath = path.join(o.outDir, WEIGHTS_FILE);
  if (keep) {
    await writeSafetensors(weightsPath, weights, { format: 'pt', variant: config.variant });
    const st = await fs.stat(weightsPath);
    files[WEIGHTS_FILE] = { bytes: st.size, sha256: await fileSha256(weightsPath) };
  } else {
    await fs.rm(weightsPath, { force: true });
  }

  const E = embedGrid(config, S);
  const manifest: ModelManifest = ModelManifestSchema.parse({
    format: 'glmedsa-model',
    format_version: 1,
    name: o.name ?? path.basename(path.resolve(o.outDir)),
    config,
    input_size: S,
    dtype,
    embedding: { channels: config.prompt_dim, size: E },
    low_res_size: 4 * E,
    mask_tokens: config.num_multimask_outputs + 1,
    parameter_counts: countParameters(config),
    weights_sha256: weightsFingerprint(weights),
    files,
    source: o.source ?? { initialized_adapters: 0 },
    pixel_mean: [...PIXEL_MEAN],
    pixel_std: [...PIXEL_STD],
    opset: OPSET,
    ir_version: IR_VERSION,
    created_at: new Date().toISOString(),
    producer: 'glmedsa 0.1.0',
  });
  await writeJsonAtomic(path.join(o.outDir, MODEL_MANIFEST), manifest);
  progress({ task, done: totalBytes, total: totalBytes });
  return manifest;
}
