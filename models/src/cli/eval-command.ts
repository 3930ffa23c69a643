/** glmedsa eval: Dice/IoU of a model (optionally with an adapter) on a dataset with simulated clicks. */
import { parseArgs } from 'node:util';
import { loadModelWithAdapter } from '../model/load-model.js';
import { SamPredictor } from '../predict/predictor.js';
import { datasetSource } from '../train/dataset-source.js';
import { evaluate } from '../train/evaluate.js';
import { evaluateStructures, formatStructureTable } from '../train/structure-eval.js';
import { readDataset } from '../synth/dataset.js';
import { consoleProgress } from '../util/progress.js';
import { parseChoice, parseInteger, requireString } from './args.js';
import type { EvalSummary } from './contract.js';

export const evalHelp = `glmedsa eval --model DIR [--adapter DIR] --data DIR [--clicks K] [--limit N] [--json] [--device auto|cpu|cuda]
             [--threads N] [--every K] [--per-class N] [--seed S]

Segments every image of the dataset with K simulated clicks (the first at the object's centre,
each next one at the centre of the largest error) and reports mean Dice and IoU at the images'
own resolution. --json prints {"dice": n, "iou": n, "n": count}. --threads caps onnxruntime's
threads per session.

On a dataset of labelled volumes ('glmedsa synth --kind ct --volumes N') it reports what a click
does on every kind of structure instead: for each structure's pieces on every K-th slice (--every,
default 4; at most --per-class N per class, default 60, sampled with --seed), the Dice of the
best-scored of the three candidates from one click at a random interior point, of the best of the
three, after three clicks, from the bounding box, and from the object's mask on the neighbouring
slice given as the mask prompt with its box; then the lesions' Dice from one click at each lesion's
centre (on the slices that hold one) and how often the organ is among the three candidates.
--json prints {"structures": [...], "all": {...}, "lesionCentre": {...}, "lesions": {"dice","iou","n"}}.`;

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      adapter: { type: 'string' },
      data: { type: 'string' },
      clicks: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      device: { type: 'string' },
      threads: { type: 'string' },
      every: { type: 'string' },
      'per-class': { type: 'string' },
      seed: { type: 'string' },
    },
    strict: true,
  });
  const modelDir = requireString(values.model, '--model');
  const data = await datasetSource(requireString(values.data, '--data'), values.limit ? parseInteger(values.limit, '--limit', 0, 1) : undefined);
  if (data.count === 0) throw new Error(`${values.data} has no image with a lesion to evaluate`);
  const clicks = parseInteger(values.clicks, '--clicks', 1, 1, 20);
  const device = parseChoice(values.device, '--device', ['auto', 'cpu', 'cuda'] as const, 'auto');
  const threads = values.threads === undefined ? undefined : parseInteger(values.threads, '--threads', 1, 1, 256);
  const model = await loadModelWithAdapter(modelDir, values.adapter);
  const predictor = await SamPredictor.fromWeights(model.config, model.weights, model.folder.manifest.input_size, { device, ...(threads ? { threads } : {}) });
  try {
    const name = model.adapterName ? `${model.folder.manifest.name} + ${model.adapterName}` : model.folder.manifest.name;
    const dataDir = requireString(values.data, '--data');
    if ((await readDataset(dataDir)).volumes?.length) {
      const structures = await evaluateStructures(predictor, dataDir, {
        every: parseInteger(values.every, '--every', 4, 1, 1024),
        perClass: parseInteger(values['per-class'], '--per-class', 60, 1, 100000),
        seed: parseInteger(values.seed, '--seed', 0, 0, Number.MAX_SAFE_INTEGER),
        ...(values.json ? {} : { progress: consoleProgress() }),
      });
      const lesions = await evaluate(predictor, data.samples(), { clicks, total: data.count, ...(values.json ? {} : { progress: consoleProgress() }) });
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ structures: structures.rows, all: structures.all, lesionCentre: structures.lesionCentre, lesions: { dice: lesions.dice, iou: lesions.iou, n: lesions.n } })}\n`);
        return;
      }
      process.stdout.write(
        `${name} on ${data.description} (${structures.slices} slices)\n${formatStructureTable(structures)}\n` +
          `lesions, clicks at the centre of each slice's lesion:\n` +
          lesions.byClicks.map((m, i) => `  ${i + 1} click${i ? 's' : ' '}: Dice ${m.dice.toFixed(4)}  IoU ${m.iou.toFixed(4)}`).join('\n') +
          `\n`,
      );
      return;
    }
    const r = await evaluate(predictor, data.samples(), { clicks, total: data.count, progress: values.json ? undefined : consoleProgress() });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ dice: r.dice, iou: r.iou, n: r.n } satisfies EvalSummary)}\n`);
      return;
    }
    process.stdout.write(
      `${name} on ${data.description}\n` +
        r.byClicks.map((m, i) => `  ${i + 1} click${i ? 's' : ' '}: Dice ${m.dice.toFixed(4)}  IoU ${m.iou.toFixed(4)}`).join('\n') +
        `\n`,
    );
  } finally {
    await predictor.release();
  }
}
