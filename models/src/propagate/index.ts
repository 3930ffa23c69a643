/** Propagation of a mask through a stack of slices (models side: no server, no DICOM). */
export { interiorPoint } from './mask-prompt.js';
export { predictorSegmenter, type PredictorSegmenter, type SliceSource } from './predictor-segmenter.js';
export {
  DEFAULT_PROMPT,
  PROPAGATION_DIRECTIONS,
  nextPrompt,
  propagate,
  type DirectionEnd,
  type PromptSettings,
  type PropagateOptions,
  type PropagatedSlice,
  type PropagationDirection,
  type PropagationResult,
} from './propagate.js';
export { cropRuns, runIntersection, runStats, type RunBox, type RunStats } from './runs.js';
export { DEFAULT_STOP_RULE, STOP_CAUSES, measureSlice, stability, stopCause, stopRule, stopRuleFromJson, type SliceMeasures, type StopCause, type StopRule } from './stop-rule.js';
export type { SliceAnswer, SlicePrompt, SliceSegmenter } from './types.js';
export { volumeOverlap, type VolumeOverlap } from './volume-metrics.js';
export { propagateStack, type StackPropagation, type StackPropagationOptions, type StackSeed } from './stack-propagation.js';
export { lesionStackSource, pngFolderSource, type NamedSliceSource } from './slice-sources.js';
export { propagationReport, writePropagationOutput } from './propagation-output.js';
