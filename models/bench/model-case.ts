/**
 * One benchmark case in its own process (so peak memory is per case): a vit_b-sized model with
 * random weights at one encoder input size. Prints one JSON line.
 */
import { countFlops } from '../src/ir/flops.js';
import { serializeModel } from '../src/onnx/serialize.js';
import { openSession, runSession } from '../src/runtime/session.js';
import { presetConfig } from '../src/sam/config.js';
import { buildDecoderGraph, buildEncoderGraph } from '../src/sam/graphs.js';
import { randomWeights } from '../src/sam/weights.js';
import { float32 } from '../src/tensor.js';
import { median, timeRuns } from './stats.js';

const size = Number(process.argv[2] ?? 1024);
const encoderRuns = Number(process.argv[3] ?? 3);
const decoderRuns = Number(process.argv[4] ?? 20);

const config = presetConfig('vit_b', 'sam');
const weights = randomWeights(config, 7);
const encoderGraph = buildEncoderGraph(config, weights, { inputSize: size });
const flops = countFlops(encoderGraph, { batch: 1 });
const t0 = performance.now();
const encoder = await openSession(serializeModel(encoderGraph), { device: 'cpu' });
const sessionMs = performance.now() - t0;
const image = float32([1, 3, size, size]);
for (let i = 0; i < image.data.length; i++) image.data[i] = Math.sin(i * 0.001);
let embeddings = float32([1]);
const encTimes = await timeRuns(encoderRuns, async () => {
  embeddings = (await runSession(encoder, { image }))['image_embeddings'] as typeof embeddings;
});

const E = size / config.patch_size;
const decoder = await openSession(serializeModel(buildDecoderGraph(config, weights, { inputSize: size })), { device: 'cpu' });
const click = (points: number[][]) => ({
  image_embeddings: embeddings,
  point_coords: float32([1, points.length, 2], points.flat()),
  point_labels: float32([1, points.length], points.map((_, i) => (i === points.length - 1 ? -1 : 1))),
  mask_input: float32([1, 1, 4 * E, 4 * E]),
  has_mask_input: float32([1], [0]),
  orig_im_size: float32([2], [size, size]),
});
const oneClick = click([[size * 0.4, size * 0.5], [0, 0]]);
const threeClicks = click([[size * 0.4, size * 0.5], [size * 0.45, size * 0.5], [size * 0.6, size * 0.2], [0, 0]]);
const dec1 = await timeRuns(decoderRuns, () => runSession(decoder, oneClick), 3);
const dec3 = await timeRuns(decoderRuns, () => runSession(decoder, threeClicks), 3);

process.stdout.write(
  `${JSON.stringify({
    size,
    gflop: flops / 1e9,
    session_ms: sessionMs,
    encoder_ms: median(encTimes),
    encoder_runs: encTimes,
    decoder_ms: median(dec1),
    decoder_3click_ms: median(dec3),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
