/**
 * npm run bench -- starter [--before DIR] [--after DIR] [--data DIR] [--runs N]: the starter model
 * against the one it replaced.
 *
 * 1. The encoder's time per image (batch 1, 256 px, onnxruntime CPU), the two configurations
 *    interleaved run by run so that both see the same load: the bar is at most twice the previous
 *    starter's time (issue 21). The previous configuration is written out below: the time does not
 *    depend on the weights.
 * 2. With --before (an exported model folder, e.g. the previous starter from git) and --data (a
 *    volume dataset, e.g. .data/starter/eval-volumes), what a click does per structure class for
 *    both models on the same targets and clicks (train/structure-eval.ts), side by side.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeModel } from '../src/onnx/serialize.js';
import { SamPredictor } from '../src/predict/predictor.js';
import { openSession, runSession } from '../src/runtime/session.js';
import { parseModelConfig, type ModelConfigInput } from '../src/sam/config.js';
import { buildEncoderGraph } from '../src/sam/graphs.js';
import { countParameters } from '../src/sam/parameters.js';
import { randomWeights } from '../src/sam/weights.js';
import { float32 } from '../src/tensor.js';
import { evaluateStructures, type StructureEvaluation } from '../src/train/structure-eval.js';
import { median, percentile, table } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.resolve(here, '..', '..');

/** models/scripts/starter-config.json before issue 21 (the lesion-only starter). */
const PREVIOUS_STARTER_CONFIG: ModelConfigInput = {
  variant: 'sam',
  img_size: 256,
  patch_size: 16,
  embed_dim: 128,
  depth: 6,
  heads: 4,
  window: 8,
  global_attn_indexes: [2, 5],
  prompt_dim: 128,
  decoder_heads: 4,
  decoder_mlp_dim: 512,
  iou_head_hidden_dim: 128,
};

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function encoderTimes(runs: number): Promise<string> {
  const current = parseModelConfig(JSON.parse(await readFile(path.join(MODELS, 'scripts', 'starter-config.json'), 'utf8')));
  const previous = parseModelConfig(PREVIOUS_STARTER_CONFIG);
  const S = current.img_size;
  const open = async (c: typeof current) => openSession(serializeModel(buildEncoderGraph(c, randomWeights(c, 1))), { device: 'cpu' });
  const sessions = { previous: await open(previous), current: await open(current) };
  const image = float32([1, 3, S, S]);
  for (let i = 0; i < image.data.length; i++) image.data[i] = Math.sin(i * 0.01);
  const times = { previous: [] as number[], current: [] as number[] };
  for (let r = 0; r < runs + 2; r++) {
    for (const k of ['previous', 'current'] as const) {
      const t0 = performance.now();
      await runSession(sessions[k], { image });
      if (r >= 2) times[k].push(performance.now() - t0);
    }
  }
  await Promise.all(Object.values(sessions).map((s) => s.session.release()));
  const ratio = median(times.current) / median(times.previous);
  const rows = [
    ['encoder', 'parameters (whole model)', 'median ms', 'p95 ms'],
    ['previous starter (128 wide, 6 blocks)', countParameters(previous).total.toLocaleString('en-US'), median(times.previous).toFixed(1), percentile(times.previous, 0.95).toFixed(1)],
    [`this starter (${current.embed_dim} wide, ${current.depth} blocks)`, countParameters(current).total.toLocaleString('en-US'), median(times.current).toFixed(1), percentile(times.current, 0.95).toFixed(1)],
  ];
  return `encoder time per image at ${S} px, batch 1, ${runs} interleaved runs each\n${table(rows)}\nratio ${ratio.toFixed(2)}x (the bar: at most 2x)\n`;
}

function sideBySide(before: StructureEvaluation, after: StructureEvaluation): string {
  const f = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(3));
  const rows: (string | number)[][] = [['structure', 'n', '1 click', 'best of 3', '3 clicks', 'box', 'neighbour mask']];
  const names = [...new Set([...after.rows, ...before.rows].map((r) => r.structure))].sort();
  const pair = (a: number | undefined, b: number | undefined) => `${f(a)} -> ${f(b)}`;
  for (const name of [...names, 'all']) {
    const a = name === 'all' ? before.all : before.rows.find((r) => r.structure === name);
    const b = name === 'all' ? after.all : after.rows.find((r) => r.structure === name);
    rows.push([name, b?.n ?? a?.n ?? 0, pair(a?.click1, b?.click1), pair(a?.best3, b?.best3), pair(a?.clicks3, b?.clicks3), pair(a?.box, b?.box), pair(a?.neighbour, b?.neighbour)]);
  }
  const lc = (e: StructureEvaluation) => `${f(e.lesionCentre.lesionDice)}, organ among the candidates ${(100 * e.lesionCentre.organAmongCandidates).toFixed(0)}%`;
  return `${table(rows)}\nlesion centre clicks (${after.lesionCentre.n}): before ${lc(before)}; after ${lc(after)}\n`;
}

export async function starterBench(args: string[]): Promise<void> {
  const runs = Number(option(args, 'runs') ?? 20);
  process.stdout.write(await encoderTimes(runs));
  const beforeDir = option(args, 'before');
  const data = option(args, 'data');
  if (!beforeDir || !data) {
    process.stdout.write('(give --before DIR and --data DIR for the per-structure comparison)\n');
    return;
  }
  const afterDir = option(args, 'after') ?? path.join(MODELS, 'starter');
  const evaluation = { every: Number(option(args, 'every') ?? 4), perClass: Number(option(args, 'per-class') ?? 60), seed: 0 };
  const results: StructureEvaluation[] = [];
  for (const dir of [beforeDir, afterDir]) {
    const predictor = await SamPredictor.open(dir, { device: 'cpu' });
    process.stderr.write(`evaluating ${dir}...\n`);
    results.push(await evaluateStructures(predictor, data, evaluation));
    await predictor.release();
  }
  process.stdout.write(`\nwhat a click does, per structure, on ${data} (before -> after; Dice)\n${sideBySide(results[0]!, results[1]!)}`);
}
