/** glmedsa export: checkpoint (or preset with random weights) -> model folder. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportModel } from '../model/export.js';
import { loadCheckpoint } from '../model/load-checkpoint.js';
import { MODEL_DTYPES, type ModelDtype } from '../model/inference-graphs.js';
import { loadModelWithAdapter } from '../model/load-model.js';
import type { ModelManifest } from '../model/manifest.js';
import { PRESETS, VARIANTS, type Variant, parseModelConfig, readConfigFile } from '../sam/config.js';
import { randomWeights } from '../sam/weights.js';
import { consoleProgress } from '../util/progress.js';
import { UsageError, parseChoice, parseInteger, requireString } from './args.js';

export const exportHelp = `glmedsa export --out DIR (--checkpoint FILE | --random-weights) (--preset vit_b|vit_l|vit_h | --config FILE.json)
               [--variant sam|medsa|gmedsa|glmedsa] [--input-size N] [--dtype float32|float16] [--name NAME]
               [--no-weights] [--seed N]
glmedsa export --out DIR --model DIR [--adapter DIR] [--input-size N] [--dtype float32|float16] [--name NAME]

Builds encoder.onnx, decoder.onnx (SAM's official ONNX decoder interface), model.json and
weights.safetensors in DIR. The checkpoint may be a PyTorch .pth or a .safetensors file; adapters
that a plain SAM checkpoint lacks start at zero (the model then equals SAM). --input-size runs the
encoder at another size than the checkpoint's (e.g. 512 on a CPU), resizing position tables.
--dtype float16 makes the graphs compute in half precision for GPUs (LayerNorm, softmax and sums
stay float32; inputs and outputs stay float32); weights.safetensors keeps float32.
The second form re-exports a model folder, with a fine-tuned adapter applied (from 'glmedsa train').`;

async function rawConfig(preset: string | undefined, configFile: string | undefined): Promise<Record<string, unknown>> {
  if (preset && configFile) throw new UsageError('give either --preset or --config, not both');
  if (preset) {
    if (!(preset in PRESETS)) throw new UsageError(`unknown preset '${preset}' (choose ${Object.keys(PRESETS).join(', ')})`);
    return { ...PRESETS[preset as keyof typeof PRESETS] };
  }
  if (!configFile) throw new UsageError('--preset or --config is required');
  return readConfigFile(configFile).catch((err: Error) => {
    throw new UsageError(err.message);
  });
}

export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      checkpoint: { type: 'string' },
      config: { type: 'string' },
      preset: { type: 'string' },
      variant: { type: 'string' },
      'input-size': { type: 'string' },
      dtype: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      'no-weights': { type: 'boolean' },
      'random-weights': { type: 'boolean' },
      seed: { type: 'string' },
      model: { type: 'string' },
      adapter: { type: 'string' },
    },
    strict: true,
  });
  const out = requireString(values.out, '--out');
  if (values.model) {
    if (values.checkpoint || values.preset || values.config || values['random-weights']) {
      throw new UsageError('--model re-exports a model folder; it takes no --checkpoint, --preset, --config or --random-weights');
    }
    await exportFromModel(values.model, values.adapter, out, values['input-size'], values.dtype, values.name, !values['no-weights']);
    return;
  }
  if (values.adapter) throw new UsageError('--adapter applies to a model folder given with --model');
  const raw = await rawConfig(values.preset, values.config);
  if (values.variant !== undefined) raw['variant'] = parseChoice(values.variant, '--variant', VARIANTS, 'sam' as Variant);
  const seed = parseInteger(values.seed, '--seed', 0);
  let loaded;
  if (values.checkpoint) {
    if (values['random-weights']) throw new UsageError('give either --checkpoint or --random-weights');
    process.stderr.write(`reading ${values.checkpoint}\n`);
    loaded = await loadCheckpoint(values.checkpoint, raw, { seed });
  } else if (values['random-weights']) {
    const config = parseModelConfig(raw);
    loaded = { config, weights: randomWeights(config, seed), initialized: [] as string[] };
  } else {
    throw new UsageError('--checkpoint FILE is required (or --random-weights for a test model)');
  }
  const { config, weights, initialized } = loaded;
  if (initialized.length) {
    process.stderr.write(`the checkpoint has no ${config.variant} adapters: ${initialized.length} adapter tensors start fresh (fc2 = 0, output equals the base model)\n`);
  }
  const inputSize = parseInteger(values['input-size'], '--input-size', config.img_size, config.patch_size, 4096);
  const manifest = await exportModel({
    config,
    weights,
    outDir: out,
    inputSize,
    dtype: parseDtype(values.dtype, 'float32'),
    ...(values.name ? { name: values.name } : {}),
    keepWeights: !values['no-weights'],
    source: {
      ...(values.checkpoint ? { checkpoint: path.basename(values.checkpoint) } : {}),
      ...(values.preset ? { preset: values.preset } : {}),
      initialized_adapters: initialized.length,
    },
    progress: consoleProgress(),
  });
  printSummary(manifest, out);
}

async function exportFromModel(
  modelDir: string,
  adapterDir: string | undefined,
  out: string,
  inputSizeArg: string | undefined,
  dtypeArg: string | undefined,
  name: string | undefined,
  keepWeights: boolean,
): Promise<void> {
  const model = await loadModelWithAdapter(modelDir, adapterDir);
  const m = model.folder.manifest;
  const inputSize = parseInteger(inputSizeArg, '--input-size', m.input_size, model.config.patch_size, 4096);
  const manifest = await exportModel({
    config: model.config,
    weights: model.weights,
    outDir: out,
    inputSize,
    dtype: parseDtype(dtypeArg, m.dtype),
    name: name ?? (model.adapterName ? `${m.name}+${model.adapterName}` : m.name),
    keepWeights,
    source: { ...m.source, ...(model.adapterName ? { adapter: model.adapterName } : {}) },
    progress: consoleProgress(),
  });
  printSummary(manifest, out);
}

const parseDtype = (value: string | undefined, fallback: ModelDtype) => parseChoice(value, '--dtype', MODEL_DTYPES, fallback);

function printSummary(manifest: ModelManifest, out: string): void {
  const config = manifest.config;
  const c = manifest.parameter_counts;
  process.stdout.write(
    `exported ${manifest.name} to ${out}: ${config.variant}, encoder input ${manifest.input_size}px, embeddings ${manifest.embedding.channels}x${manifest.embedding.size}x${manifest.embedding.size}, computing in ${manifest.dtype}\n` +
      `parameters: total ${c.total.toLocaleString('en-US')} (encoder ${c.encoder.toLocaleString('en-US')}, adapters ${(c.local_adapter + c.global_adapter).toLocaleString('en-US')}, decoder ${c.decoder.toLocaleString('en-US')})\n`,
  );
}
