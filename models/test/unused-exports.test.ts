/**
 * No dead exports in models/src: every export that the package entry does not make public is used
 * by some other file of the repository (product or test). Runs the compiler-API check of
 * models/scripts/export-usage.ts over the real source tree.
 *
 * KNOWN lists exports in modules other work is reshaping right now (the parameter inventory in
 * sam/, the training loop in train/, the CUDA/float16 work in runtime/); each entry names what to
 * do, and the check only reports (does not fail on) entries that have since gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportUsage } from '../scripts/export-usage.js';
import { REPO_ROOT } from './helpers/paths.js';

const KNOWN = new Set([
  // sam/: unused outside their file (DECODER_* used nowhere at all).
  'models/src/sam/graphs.ts: DECODER_INPUTS',
  'models/src/sam/graphs.ts: DECODER_OUTPUTS',
  'models/src/sam/graphs.ts: ENCODER_INPUT',
  'models/src/sam/graphs.ts: ENCODER_OUTPUT',
  'models/src/sam/graphs.ts: GraphSizeOptions',
  'models/src/sam/graphs.ts: postprocessMasks',
  'models/src/sam/config.ts: PresetName',
  'models/src/sam/layers.ts: activation',
  'models/src/sam/mask-decoder.ts: DecoderOutputs',
  'models/src/sam/parameters.ts: ParamGroup',
  'models/src/sam/weights.ts: BindOptions',
  'models/src/sam/weights.ts: freshTensor',
  // train/
  'models/src/train/adamw.ts: AdamWOptions',
  'models/src/train/adamw.ts: AdamWState',
  'models/src/train/checkpoint.ts: TrainingState',
  'models/src/train/fixture-gradients.ts: GradientReport',
  'models/src/train/loss.ts: LossKind',
  'models/src/train/loss.ts: maskLoss',
  'models/src/train/loss.ts: SegmentationLoss',
  'models/src/train/train-graph.ts: TrainGraphOptions',
  // runtime/: tensor converters a CUDA/float16 benchmark may want; drop `export` if it does not.
  'models/src/runtime/session.ts: fromOrt',
  'models/src/runtime/session.ts: toOrt',
]);

test('every non-public export of models/src is used by another file', (t) => {
  const report = exportUsage(REPO_ROOT);
  assert.ok(report.exports.length > 100, `the scan found only ${report.exports.length} exports`);
  // The scan sees uses across packages: the server's imports of the package entry count.
  const rgbImage = report.exports.find((u) => u.file === 'models/src/image/rgb-image.ts' && u.name === 'rgbImage');
  assert.ok(rgbImage?.isPublic && rgbImage.usedBy.some((f) => f.startsWith('server/')), 'server uses of @glmedsa/models were not seen');

  const flagged = [...report.unused, ...report.onlyInFile].map((u) => `${u.file}: ${u.name}`);
  const unexpected = flagged.filter((k) => !KNOWN.has(k));
  assert.deepEqual(unexpected, [], 'exports nothing else uses: remove them, or drop the `export` keyword');
  for (const gone of [...KNOWN].filter((k) => !flagged.includes(k))) t.diagnostic(`KNOWN entry no longer needed: ${gone}`);
});
