/** glmedsa predict: one image, some prompts, one mask PNG. */
import { parseArgs } from 'node:util';
import { readPng, writeMaskPng } from '../image/index.js';
import { type Box, type Point, maskFromLogits } from '../preprocess/index.js';
import { SamPredictor } from '../predict/predictor.js';
import type { Device } from '../runtime/session.js';
import { UsageError, parseChoice, parseInteger, parseNumberList, requireString } from './args.js';

export const predictHelp = `glmedsa predict --model DIR --image FILE.png [--point x,y,label]... [--box x1,y1,x2,y2]
                [--multimask] --out mask.png [--device auto|cpu|cuda] [--threads N] [--json]

Segments the image with the exported model: label 1 marks the object, 0 the background; a box
may replace or accompany the points. With --multimask SAM proposes three masks and the one with
the highest predicted IoU is written. Prints the IoU scores and the time of each stage.`;

export async function predictCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      image: { type: 'string' },
      point: { type: 'string', multiple: true },
      box: { type: 'string' },
      multimask: { type: 'boolean' },
      out: { type: 'string' },
      device: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const modelDir = requireString(values.model, '--model');
  const imagePath = requireString(values.image, '--image');
  const out = requireString(values.out, '--out');
  const points: Point[] = [];
  const labels: number[] = [];
  for (const p of values.point ?? []) {
    const [x, y, label] = parseNumberList(p, '--point', 3) as [number, number, number];
    if (label !== 0 && label !== 1) throw new UsageError(`--point label must be 1 (object) or 0 (background), got ${label}`);
    points.push([x, y]);
    labels.push(label);
  }
  const box = values.box ? (parseNumberList(values.box, '--box', 4) as unknown as Box) : null;
  if (!points.length && !box) throw new UsageError('give at least one --point or a --box');
  const device = parseChoice(values.device, '--device', ['auto', 'cpu', 'cuda'] as const, 'auto' as Device);
  const threads = values.threads ? parseInteger(values.threads, '--threads', 0, 1, 256) : undefined;

  const t0 = performance.now();
  const predictor = await SamPredictor.open(modelDir, {
    device,
    ...(threads ? { threads } : {}),
    onFallback: (reason) => process.stderr.write(`${reason}\n`),
  });
  const loadMs = performance.now() - t0;
  const image = await readPng(imagePath);
  for (const [x, y] of points) {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) {
      throw new UsageError(`point (${x}, ${y}) is outside the ${image.width}x${image.height} image`);
    }
  }
  const emb = await predictor.encode(image);
  const pred = await predictor.decode(emb, { points, labels, box }, { multimask: !!values.multimask });
  let best = 0;
  pred.iou.forEach((v, i) => {
    if (v > pred.iou[best]!) best = i;
  });
  const [H, W] = emb.originalSize;
  const mask = maskFromLogits(pred.masks.data.subarray(best * H * W, (best + 1) * H * W));
  await writeMaskPng(out, mask, W, H);
  const area = mask.reduce((a, b) => a + b, 0);
  const result = {
    out,
    iou_scores: pred.iou.map((v) => +v.toFixed(4)),
    chosen: best,
    mask_pixels: area,
    image_size: [W, H],
    provider: predictor.provider,
    timings_ms: {
      load: +loadMs.toFixed(1),
      preprocess: +emb.preprocessMs.toFixed(1),
      encode: +emb.encodeMs.toFixed(1),
      decode: +pred.decodeMs.toFixed(1),
    },
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    `IoU scores: ${result.iou_scores.join(', ')}${pred.iou.length > 1 ? ` (wrote mask ${best})` : ''}\n` +
      `mask: ${area} of ${W * H} pixels -> ${out}\n` +
      `timings (${predictor.provider}): load ${result.timings_ms.load} ms, preprocess ${result.timings_ms.preprocess} ms, encode ${result.timings_ms.encode} ms, decode ${result.timings_ms.decode} ms\n`,
  );
}
