/** glmedsa train: fine-tune adapters (or the decoder, or everything) on a dataset folder. */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type LoadedModel, loadModelWeights } from '../model/load-model.js';
import { VARIANTS, type Variant, parseModelConfig } from '../sam/config.js';
import { weightsForVariant } from '../sam/weights.js';
import { type Tensor, numel } from '../tensor.js';
import { ADAPTER_MANIFEST, LOSS_KINDS, TRAINABLE_SETS, writeAdapter } from '../model/adapter-artifact.js';
import { CHECKPOINT_FILE } from '../train/checkpoint.js';
import { datasetSource } from '../train/dataset-source.js';
import { trainableNames } from '../train/trainable.js';
import { TrainingCancelled, type TrainResult, train } from '../train/trainer.js';
import { validate } from '../train/validation.js';
import { consoleProgress } from '../util/progress.js';
import { UsageError, parseChoice, parseFloatArg, parseInteger, requireString } from './args.js';
import { CLI_EXIT, type TrainEvent } from './contract.js';

export const trainHelp = `glmedsa train --base MODEL --variant sam|medsa|gmedsa|glmedsa --trainable adapters|decoder|all
              --data DIR --steps N --batch B --lr X --out DIR [--resume] [--seed K] [--clicks K] [--loss sam|medsa]
              [--weight-decay X] [--warmup N] [--checkpoint-every N] [--no-augment] [--device auto|cpu|cuda]
              [--threads N] [--events] [--validation-data DIR [--validate-every N]]

Fine-tunes a base model folder (from 'glmedsa export') on a dataset folder (from 'glmedsa synth'
or exported annotations). 'adapters' trains the variant's adapters and the mask decoder (Med-SA's
recipe), 'decoder' the mask decoder only, 'all' every weight (training a small model from scratch).
Writes DIR/adapter.safetensors + DIR/adapter.json; DIR/checkpoint.safetensors lets --resume
continue an interrupted run exactly where it stopped. --loss sam (default) trains the three
candidate masks on single clicks and the IoU head too; --loss medsa only the single-mask output.

SIGTERM or SIGINT stops the run after the current step, writes the checkpoint and exits with
status ${CLI_EXIT.cancelled} (a second signal exits at once); --resume continues it. --events writes
one JSON object per line to stdout (for a job runner): {"type":"progress",...} after every step
(step, steps, loss, smoothedLoss, trainDice, trainIou, lr, elapsedSeconds, etaSeconds,
imagesPerSecond, checkpointed), then {"type":"done",...} with the result, or
{"type":"cancelled","step":N}. --threads caps onnxruntime's threads per session.

--validation-data DIR evaluates the weights on that dataset folder with --clicks simulated clicks
every --validate-every steps (default: a quarter of the steps, so four times) and after the last
step; those steps' progress events carry "validation":{"dice","iou","n"}, and so does the result.
Validation reads the weights and draws no random numbers: the trained weights are the same with it
or without it.`;

/** A train command line, checked: everything `runTrain` needs, nothing read from disk yet. */
type TrainArgs = ReturnType<typeof parseTrainArgs>;

function parseTrainArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      base: { type: 'string' },
      variant: { type: 'string' },
      trainable: { type: 'string' },
      data: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      seed: { type: 'string' },
      clicks: { type: 'string' },
      loss: { type: 'string' },
      'weight-decay': { type: 'string' },
      warmup: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      'no-augment': { type: 'boolean' },
      augment: { type: 'boolean' },
      device: { type: 'string' },
      name: { type: 'string' },
      threads: { type: 'string' },
      events: { type: 'boolean' },
      'validation-data': { type: 'string' },
      'validate-every': { type: 'string' },
    },
    strict: true,
  });
  const baseDir = requireString(values.base, '--base');
  const dataDir = requireString(values.data, '--data');
  const out = requireString(values.out, '--out');
  const steps = parseInteger(values.steps, '--steps', undefined, 1, 10_000_000);
  const batch = parseInteger(values.batch, '--batch', 4, 1, 1024);
  const lr = parseFloatArg(values.lr, '--lr', 1e-4);
  if (!(lr > 0 && lr < 1)) throw new UsageError(`--lr must be between 0 and 1, got ${lr}`);
  const set = parseChoice(values.trainable, '--trainable', TRAINABLE_SETS, 'adapters');
  const seed = parseInteger(values.seed, '--seed', 0, 0);
  const clicks = parseInteger(values.clicks, '--clicks', 1, 1, 20);
  const lossKind = parseChoice(values.loss, '--loss', LOSS_KINDS, 'sam');
  const device = parseChoice(values.device, '--device', ['auto', 'cpu', 'cuda'] as const, 'auto');
  const variant = values.variant === undefined ? undefined : parseChoice(values.variant, '--variant', VARIANTS, 'sam');
  const threads = values.threads === undefined ? undefined : parseInteger(values.threads, '--threads', 1, 1, 256);
  if (values['validate-every'] !== undefined && values['validation-data'] === undefined) throw new UsageError('--validate-every needs --validation-data');
  const validateEvery = parseInteger(values['validate-every'], '--validate-every', Math.max(1, Math.ceil(steps / 4)), 1);
  return {
    baseDir,
    dataDir,
    out,
    variant,
    set,
    steps,
    batch,
    lr,
    seed,
    clicks,
    lossKind,
    device,
    weightDecay: values['weight-decay'] ? parseFloatArg(values['weight-decay'], '--weight-decay', 0) : undefined,
    warmup: values.warmup ? parseInteger(values.warmup, '--warmup', 0, 0) : undefined,
    augment: values['no-augment'] ? false : values.augment ? true : undefined,
    checkpointEvery: parseInteger(values['checkpoint-every'], '--checkpoint-every', 100, 1),
    resume: !!values.resume,
    name: values.name,
    threads,
    events: !!values.events,
    validation: values['validation-data'] === undefined ? undefined : { dataDir: values['validation-data'], every: validateEvery },
  };
}

export async function trainCommand(argv: string[]): Promise<number | void> {
  return runTrain(parseTrainArgs(argv));
}

/** Loads the base model and the data, trains (stopping cleanly on SIGTERM/SIGINT), writes the adapter. */
async function runTrain(a: TrainArgs): Promise<number | void> {
  const { out, steps, batch, lr, seed, clicks, lossKind, device, threads, events, set } = a;
  if (!a.resume && existsSync(path.join(out, ADAPTER_MANIFEST))) {
    throw new UsageError(`${out} already holds a trained adapter; choose another --out (or --resume an interrupted run)`);
  }

  const base = await loadModelWeights(a.baseDir);
  const variant = a.variant ?? base.config.variant;
  const config = parseModelConfig({ ...base.config, variant });
  const { weights, initialized } = weightsForVariant(config, base.weights, { seed });
  if (initialized.length) process.stderr.write(`${initialized.length} ${variant} adapter tensors start fresh (fc2 = 0)\n`);
  const trainable = trainableNames(config, set);
  const data = await datasetSource(a.dataDir);
  const parameters = trainable.reduce((n, k) => n + numel(weights.get(k)!.shape), 0);
  process.stderr.write(
    `training ${parameters.toLocaleString('en-US')} parameters (${set}, ${variant}) of ${base.folder.manifest.name} on ${data.description}\n`,
  );
  if (a.resume && existsSync(path.join(out, ADAPTER_MANIFEST)) && !existsSync(path.join(out, CHECKPOINT_FILE))) {
    process.stdout.write(`${out} is already complete; nothing to resume\n`);
    return;
  }
  const validationData = a.validation === undefined ? undefined : await datasetSource(a.validation.dataDir);
  const emit = (event: TrainEvent) => process.stdout.write(`${JSON.stringify(event)}\n`);
  const stop = stopOnSignals();
  let result: TrainResult;
  try {
    result = await train({
      config,
      weights,
      trainable,
      data,
      steps,
      batch,
      lr,
      seed,
      clicks,
      loss: { kind: lossKind },
      ...(a.weightDecay !== undefined ? { weightDecay: a.weightDecay } : {}),
      ...(a.warmup !== undefined ? { warmup: a.warmup } : {}),
      ...(a.augment !== undefined ? { augment: a.augment } : {}),
      inputSize: base.folder.manifest.input_size,
      workDir: out,
      resume: a.resume,
      checkpointEvery: a.checkpointEvery,
      baseFingerprint: base.fingerprint,
      device,
      ...(threads ? { threads } : {}),
      ...(validationData
        ? {
            validation: {
              every: a.validation!.every,
              evaluate: () => validate({ config, weights, inputSize: base.folder.manifest.input_size, data: validationData, clicks, device, ...(threads ? { threads } : {}) }),
            },
          }
        : {}),
      progress: consoleProgress(),
      ...(events ? { onProgress: (p) => emit({ type: 'progress', ...p }) } : {}),
      log: (line) => process.stderr.write(`${line}\n`),
      signal: stop.signal,
    });
  } catch (e) {
    if (!(e instanceof TrainingCancelled)) throw e;
    process.stderr.write(`cancelled at step ${e.step}; ${path.join(out, CHECKPOINT_FILE)} lets --resume continue\n`);
    if (events) emit({ type: 'cancelled', step: e.step });
    return CLI_EXIT.cancelled;
  } finally {
    stop.release();
  }
  await writeTrainedAdapter(a, { variant, base, data, parameters, result, tensors: new Map(trainable.map((k) => [k, weights.get(k)!])) });
  await rm(path.join(out, CHECKPOINT_FILE), { force: true });
  if (events) {
    emit({ type: 'done', out, ...result });
    return;
  }
  process.stdout.write(
    `trained ${steps} steps in ${result.seconds.toFixed(1)} s (${result.imagesPerSecond.toFixed(2)} images/s${result.resumedFrom ? `, resumed at step ${result.resumedFrom}` : ''}): ` +
      `final loss ${result.finalLoss.toFixed(4)}, running train Dice ${result.trainDice.toFixed(3)} -> ${out}\n`,
  );
}

/** SIGTERM or SIGINT aborts the returned signal (the run stops after its step); a second one exits at once. */
function stopOnSignals(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    // A second signal does not wait for the step (checkpoints are written atomically).
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    process.stderr.write(`${signal}: stopping after the current step\n`);
    controller.abort();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return {
    signal: controller.signal,
    release() {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    },
  };
}

/** adapter.safetensors + adapter.json of a finished run: the trained tensors and what made them. */
async function writeTrainedAdapter(
  a: TrainArgs,
  r: { variant: Variant; base: LoadedModel; data: { description: string; fingerprint: string; count: number }; parameters: number; result: TrainResult; tensors: Map<string, Tensor<'float32'>> },
): Promise<void> {
  const { steps, batch, lr, seed, clicks, lossKind } = a;
  const { base, data, result } = r;
  await writeAdapter(a.out, r.tensors, {
    format: 'glmedsa-adapter',
    format_version: 1,
    name: a.name ?? path.basename(path.resolve(a.out)),
    variant: r.variant,
    trainable: a.set,
    base: { name: base.folder.manifest.name, weights_sha256: base.fingerprint },
    tensors: r.tensors.size,
    parameters: r.parameters,
    data: { description: data.description, fingerprint: data.fingerprint, count: data.count },
    training: {
      steps,
      batch,
      lr,
      seed,
      clicks,
      loss: lossKind,
      seconds: result.seconds,
      final_loss: Number.isFinite(result.finalLoss) ? result.finalLoss : null,
      images_per_second: result.imagesPerSecond,
    },
    metrics: {
      train: { dice: result.trainDice, iou: result.trainIou },
      ...(result.validation ? { validation: { ...result.validation, clicks } } : {}),
    },
    created_at: new Date().toISOString(),
  });
}
