/**
 * One GPU-benchmark case in its own process (so device memory is freed between cases): an
 * exported model folder on one device. Times the session start, the encoder and one-click
 * decodes, optionally writes the sign of every mask pixel to a file (float16 agreement is measured
 * by the parent), and prints one JSON line.
 *   node gpu-case.js MODEL_DIR DEVICE ENCODER_RUNS DECODER_RUNS [MASK_SIGNS_FILE]
 */
import { writeFileSync } from 'node:fs';
import { openModelFolder } from '../src/model/manifest.js';
import { type Device, openSession, runSession } from '../src/runtime/session.js';
import { float32 } from '../src/tensor.js';
import { median, timeRuns } from './stats.js';

const [dir, device, encoderRunsArg, decoderRunsArg, signsFile] = process.argv.slice(2);
if (!dir || (device !== 'cuda' && device !== 'cpu')) throw new Error('usage: gpu-case.js MODEL_DIR cuda|cpu ENCODER_RUNS DECODER_RUNS [SIGNS_FILE]');
const encoderRuns = Number(encoderRunsArg ?? 5);
const decoderRuns = Number(decoderRunsArg ?? 20);

const folder = await openModelFolder(dir);
const S = folder.manifest.input_size;
const E = folder.manifest.embedding.size;
const t0 = performance.now();
// device 'cuda' without onFallback throws rather than quietly running on the CPU.
const encoder = await openSession(folder.encoderPath, { device: device as Device });
const decoder = await openSession(folder.decoderPath, { device: device as Device });
const sessionMs = performance.now() - t0;

const image = float32([1, 3, S, S]);
for (let i = 0; i < image.data.length; i++) image.data[i] = Math.sin(i * 0.001) + Math.cos(i * 0.00037);
let embeddings = float32([1]);
const encoderTimes = await timeRuns(encoderRuns, async () => {
  embeddings = (await runSession(encoder, { image }))['image_embeddings'] as typeof embeddings;
});
const click = {
  point_coords: float32([1, 2, 2], [S * 0.4, S * 0.5, 0, 0]),
  point_labels: float32([1, 2], [1, -1]),
  mask_input: float32([1, 1, 4 * E, 4 * E]),
  has_mask_input: float32([1], [0]),
  orig_im_size: float32([2], [S, S]),
};
let masks = float32([1]);
const decoderTimes = await timeRuns(decoderRuns, async () => {
  masks = (await runSession(decoder, { image_embeddings: embeddings, ...click }))['masks'] as typeof masks;
}, 3);
if (signsFile) writeFileSync(signsFile, Uint8Array.from(masks.data, (v) => (v > 0 ? 1 : 0)));

process.stdout.write(
  `${JSON.stringify({
    provider: encoder.provider,
    dtype: folder.manifest.dtype,
    session_ms: sessionMs,
    encoder_ms: median(encoderTimes),
    encoder_runs: encoderTimes,
    decoder_ms: median(decoderTimes),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
