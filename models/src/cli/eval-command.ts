/** glmedsa eval: Dice/IoU of a model (optionally with an adapter) on a dataset with simulated clicks. */
import { parseArgs } from 'node:util';
import { loadModelWithAdapter } from '../model/load-model.js';
import { SamPredictor } from '../predict/predictor.js';
import { datasetSource } from '../train/dataset-source.js';
import { type EvalResult, evaluate } from '../train/evaluate.js';
import { consoleProgress } from '../util/progress.js';
import { parseChoice, parseInteger, requireString } from './args.js';
import type { EvalSummary } from './contract.js';

export const evalHelp = `glmedsa eval --model DIR [--adapter DIR] --data DIR [--clicks K] [--limit N] [--json] [--device auto|cpu|cuda]
             [--threads N]

Segments every image of the dataset with K simulated clicks (the first at the object's centre,
each next one at the centre of the largest error) and reports mean Dice and IoU at the images'
own resolution. --json prints {"dice": n, "iou": n, "n": count}. --threads caps onnxruntime's
threads per session.`;

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
    },
    strict: true,
  });
  const modelDir = requireString(values.model, '--model');
  const data = await datasetSource(requireString(values.data, '--data'), values.limit ? parseInteger(values.limit, '--limit', 0, 1) : undefined);
  const clicks = parseInteger(values.clicks, '--clicks', 1, 1, 20);
  const device = parseChoice(values.device, '--device', ['auto', 'cpu', 'cuda'] as const, 'auto');
  const threads = values.threads === undefined ? undefined : parseInteger(values.threads, '--threads', 1, 1, 256);
  const model = await loadModelWithAdapter(modelDir, values.adapter);
  const predictor = await SamPredictor.fromWeights(model.config, model.weights, model.folder.manifest.input_size, { device, ...(threads ? { threads } : {}) });
  let r: EvalResult;
  try {
    r = await evaluate(predictor, data.samples(), { clicks, total: data.count, progress: values.json ? undefined : consoleProgress() });
  } finally {
    await predictor.release();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ dice: r.dice, iou: r.iou, n: r.n } satisfies EvalSummary)}\n`);
    return;
  }
  process.stdout.write(
    `${model.adapterName ? `${model.folder.manifest.name} + ${model.adapterName}` : model.folder.manifest.name} on ${data.description}\n` +
      r.byClicks.map((m, i) => `  ${i + 1} click${i ? 's' : ' '}: Dice ${m.dice.toFixed(4)}  IoU ${m.iou.toFixed(4)}`).join('\n') +
      `\n`,
  );
}
