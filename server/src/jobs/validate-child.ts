/**
 * Child-process entry: mean Dice of a model folder (optionally with an adapter) on a validation
 * dataset folder with simulated clicks, at a bounded thread count. Prints one JSON line
 * {"type":"validation","dice":n,"iou":n,"n":count}. Run by the job runner, never in the server.
 *
 *   node validate-child.js MODEL_DIR ADAPTER_DIR|- DATA_DIR CLICKS THREADS DEVICE
 */
import { SamPredictor, datasetSource, evaluate, loadModelWithAdapter } from '@glmedsa/models';

async function main(): Promise<void> {
  const [modelDir, adapterDir, dataDir, clicks, threads, device] = process.argv.slice(2);
  if (!modelDir || !adapterDir || !dataDir || !clicks || !threads || !device) throw new Error('usage: validate-child MODEL ADAPTER|- DATA CLICKS THREADS DEVICE');
  const model = await loadModelWithAdapter(modelDir, adapterDir === '-' ? undefined : adapterDir);
  const predictor = await SamPredictor.fromWeights(model.config, model.weights, model.folder.manifest.input_size, {
    device: device as 'auto' | 'cpu' | 'cuda',
    threads: Number(threads),
  });
  try {
    const data = await datasetSource(dataDir);
    const r = await evaluate(predictor, data.samples(), { clicks: Number(clicks), total: data.count });
    process.stdout.write(`${JSON.stringify({ type: 'validation', dice: r.dice, iou: r.iou, n: r.n })}\n`);
  } finally {
    await predictor.release();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`validation failed: ${(err as Error).message}\n`);
  process.exit(1);
});
