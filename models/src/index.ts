/**
 * @glmedsa/models public API: model folders and prediction, pre/post-processing, image I/O,
 * checkpoints, configs, training and evaluation. No HTTP, no DICOM.
 *
 * Only what a user of the package (the server, a script) needs: the graph IR, the ONNX writer and
 * the checkpoint format internals (pickle, ZIP) are reached through their own modules by the code
 * that builds on them, never through this entry. `node models/dist/scripts/unused-exports.js`
 * lists exports nothing uses.
 */
export * from './tensor.js';
export * from './image/index.js';
export * from './preprocess/index.js';
export {
  CheckpointError,
  type CheckpointFormat,
  type StateDict,
  detectCheckpointFormat,
  readCheckpoint,
  readPth,
  type ReadPthOptions,
  readSafetensors,
  readSafetensorsMetadata,
  writeSafetensors,
} from './checkpoint/index.js';
export { type ModelConfig, type ModelConfigInput, type Variant, VARIANTS, PRESETS, parseModelConfig, presetConfig, readConfigFile } from './sam/config.js';
export { countParameters, type ParameterCounts } from './sam/parameters.js';
export { type Weights, randomWeights, weightsForVariant } from './sam/weights.js';
export * from './model/manifest.js';
export { exportModel, type ExportOptions } from './model/export.js';
export { loadModelWeights, loadModelWithAdapter, type LoadedModel } from './model/load-model.js';
export { loadCheckpoint, type LoadedCheckpoint } from './model/load-checkpoint.js';
export { weightsFingerprint } from './model/fingerprint.js';
export * from './predict/predictor.js';
export { type Device, type LoadedSession, type SessionOptions, openSession, runSession, missingCudaProvider, ortLibraryDir } from './runtime/session.js';
export * from './model/adapter-artifact.js';
export { train, type TrainOptions, type TrainResult, TrainingCancelled } from './train/trainer.js';
export type { TrainProgress, ValidationMetrics } from './train/training-progress.js';
export { validate, type ValidationOptions } from './train/validation.js';
export { type TrainableSet, trainableNames } from './train/trainable.js';
export { evaluate, evaluateSample, type EvalResult, type EvalSample } from './train/evaluate.js';
export {
  evaluateStructures,
  formatStructureTable,
  type LesionCandidates,
  type StructureEvalOptions,
  type StructureEvaluation,
  type StructureRow,
} from './train/structure-eval.js';
export { overlap, meanOverlap, type Overlap } from './train/metrics.js';
export { regionCentre } from './train/clicks.js';
export { datasetSource } from './train/dataset-source.js';
export * from './synth/index.js';
export * from './propagate/index.js';
export { type ProgressEvent, type ProgressSink, consoleProgress, silentProgress } from './util/progress.js';
export { Rng } from './util/random.js';
export { writeFileAtomic, writeBytesAtomic, writeJsonAtomic } from './util/atomic-file.js';
/** What the glmedsa command promises a parent process: exit statuses, `train --events` lines, `eval --json`. */
export { CLI_EXIT, EvalSummarySchema, type EvalSummary, TrainEventSchema, type TrainEvent } from './cli/contract.js';
