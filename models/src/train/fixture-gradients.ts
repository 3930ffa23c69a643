/**
 * The gradient part of a parity fixture (grad.safetensors): our fused train-step graph run on the
 * fixture's batch, its loss and every parameter gradient compared with PyTorch's.
 */
import path from 'node:path';
import { readCheckpoint } from '../checkpoint/index.js';
import { TOLERANCES, type Fixture } from '../fixture/fixture-format.js';
import { serializeModel } from '../onnx/serialize.js';
import { openSession, runSession } from '../runtime/session.js';
import type { ModelConfig } from '../sam/config.js';
import { buildEncoderGraph } from '../sam/graphs.js';
import type { Weights } from '../sam/weights.js';
import { type Tensor, float32, shapeString } from '../tensor.js';
import { GRAD_PREFIX, buildTrainGraph, trainsEncoder } from './train-graph.js';

interface GradientReport {
  /**
   * Worst over parameters of max|ours - ref| / (max|ref| + atol/rtol): the README's tolerance
   * (err <= rtol * max|ref| + atol) holds exactly when this is <= rtol. The floor keeps gradients
   * that are zero up to round-off (e.g. key biases under softmax) from reading as huge ratios.
   */
  maxRelative: number;
  lossOurs: number;
  lossReference: number;
}

/** Appends SAM's padding point (0, 0, label -1) to one-click prompts [B, K, 2]. */
function withPadding(coords: Tensor): { coords: Tensor<'float32'>; labels: Tensor<'float32'> } {
  const [B, K] = coords.shape as [number, number];
  const c = float32([B, K + 1, 2]);
  const l = float32([B, K + 1]);
  const src = coords.data as Float32Array;
  for (let b = 0; b < B; b++) {
    c.data.set(src.subarray(b * K * 2, (b + 1) * K * 2), b * (K + 1) * 2);
    for (let k = 0; k < K; k++) l.data[b * (K + 1) + k] = 1;
    l.data[b * (K + 1) + K] = -1;
  }
  return { coords: c, labels: l };
}

export async function checkFixtureGradients(
  dir: string,
  fixture: Fixture,
  config: ModelConfig,
  weights: Weights,
  failures: string[],
): Promise<GradientReport> {
  const ref = await readCheckpoint(path.join(dir, 'grad.safetensors'));
  const need = (k: string) => {
    const t = ref.get(k);
    if (!t) throw new Error(`grad.safetensors has no tensor '${k}'`);
    return t;
  };
  const trainable = fixture.grad?.trainable ?? [...ref.keys()].filter((k) => k.startsWith(GRAD_PREFIX)).map((k) => k.slice(GRAD_PREFIX.length));
  const input = need('input');
  const [B, , S] = input.shape as [number, number, number];
  const { coords, labels } = withPadding(need('point_coords'));
  // The fixture's loss is Med-SA's: the single-mask output only.
  const graph = buildTrainGraph({ config, weights, trainable, batch: B, points: coords.shape[1]!, inputSize: S, loss: { kind: 'medsa' } });
  const session = await openSession(serializeModel(graph), { device: 'cpu' });
  const feeds: Record<string, Tensor> = { point_coords: coords, point_labels: labels, targets: need('targets') };
  if (trainsEncoder(trainable)) {
    feeds['image'] = input;
  } else {
    const encoder = await openSession(serializeModel(buildEncoderGraph(config, weights, { inputSize: S })), { device: 'cpu' });
    feeds['image_embeddings'] = (await runSession(encoder, { image: input }))['image_embeddings']!;
  }
  for (const name of trainable) feeds[name] = weights.get(name)!;
  const out = await runSession(session, feeds);

  const lossOurs = (out['loss']!.data as Float32Array)[0]!;
  const lossReference = (need('loss').data as Float32Array)[0]!;
  if (!(Math.abs(lossOurs - lossReference) <= 1e-4 * Math.abs(lossReference) + 1e-6)) {
    failures.push(`training loss ${lossOurs} differs from the reference ${lossReference}`);
  }
  let maxRelative = 0;
  for (const name of trainable) {
    const ours = out[`${GRAD_PREFIX}${name}`]!;
    const theirs = need(`${GRAD_PREFIX}${name}`);
    if (ours.data.length !== theirs.data.length) {
      failures.push(`gradient of ${name}: shape ${shapeString(ours.shape)} vs reference ${shapeString(theirs.shape)}`);
      maxRelative = Infinity;
      continue;
    }
    const a = ours.data as Float32Array;
    const b = theirs.data as Float32Array;
    let err = 0;
    let scale = 0;
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      err = Number.isNaN(d) ? Infinity : Math.max(err, d);
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    const limit = TOLERANCES.gradRelative * scale + TOLERANCES.gradAbsolute;
    if (!(err <= limit)) failures.push(`gradient of ${name}: max abs error ${err} > ${limit}`);
    const rel = err / (scale + TOLERANCES.gradAbsolute / TOLERANCES.gradRelative);
    maxRelative = Math.max(maxRelative, rel);
  }
  return { maxRelative, lossOurs, lossReference };
}
