/** What the propagation loop needs from whoever runs the model on a stack of slices. */

/** The prompts for one slice, in its pixel coordinates (x right, y down). */
export interface SlicePrompt {
  points: [number, number][];
  /** 1 for the object, 0 for background, per point. */
  labels: number[];
  /** [x1, y1, x2, y2], or null. */
  box: [number, number, number, number] | null;
  /** Low-resolution logits [lowRes * lowRes] to pass as the mask prompt, or null. */
  maskInput: Float32Array | null;
  /** SAM's three candidates (the best by predicted IoU is taken) instead of its single answer. */
  multimask: boolean;
}

/** The model's answer on one slice: the chosen mask as row-major runs, its score and its logits. */
export interface SliceAnswer {
  /** Row-major run lengths, starting with background (as `summarizeLogits` gives them). */
  counts: ArrayLike<number>;
  /** Predicted IoU of the mask. */
  score: number;
  /** Its low-resolution logits, the next slice's mask prompt. */
  lowRes: Float32Array;
}

/**
 * Runs the model on the slices of one stack (all of one size). Implementations decide where the
 * images come from and where the model runs (a predictor in this process, or a server's workers
 * and embedding cache); they may be asked for several slices at once.
 */
export interface SliceSegmenter {
  segment(index: number, prompt: SlicePrompt, signal?: AbortSignal): Promise<SliceAnswer>;
  /** The slices the loop will probably ask for next in one direction, nearest first: a hint to encode them ahead. */
  prefetch?(indices: number[]): void;
}
