/**
 * What a training run reports after each step (plain JSON-safe numbers, so a job can forward it
 * from a child process or over server-sent events), and the small estimators behind it: running
 * averages of loss and overlap, and the time left.
 */

export interface ValidationMetrics {
  /** Mean Dice and IoU on the validation images (at sigmoid 0.5). */
  dice: number;
  iou: number;
  /** Number of validation images. */
  n: number;
}

export interface TrainProgress {
  /** Steps completed (1 after the first step), counting the steps of the run being resumed. */
  step: number;
  /** Steps of the whole run. */
  steps: number;
  /** The loss of this step's batch. */
  loss: number;
  /** Running averages over recent training batches (low resolution). */
  smoothedLoss: number;
  trainDice: number;
  trainIou: number;
  /** The learning rate this step used. */
  lr: number;
  /** Seconds since this process started stepping, and the estimate of the seconds left. */
  elapsedSeconds: number;
  etaSeconds: number;
  imagesPerSecond: number;
  /** True when a checkpoint was written after this step. */
  checkpointed: boolean;
  /** Present on the steps where the validation data was evaluated. */
  validation?: ValidationMetrics;
}

/** An exponential moving average that starts from the first value. */
export class Ema {
  value = NaN;
  constructor(private readonly alpha = 0.05) {}
  add(v: number): number {
    this.value = Number.isNaN(this.value) ? v : this.value + this.alpha * (v - this.value);
    return this.value;
  }
}

/**
 * Time left from the mean duration of this process's steps. The first step builds the sessions,
 * so once a later one has finished, it is left out of the mean.
 */
export class EtaClock {
  private firstEnd = NaN;
  private last = NaN;
  private timed = 0;

  constructor(private readonly startedAt: number) {}

  /** Records that a step finished at time `now` (milliseconds) and returns the seconds left for `remaining` steps. */
  stepDone(now: number, remaining: number): number {
    if (Number.isNaN(this.firstEnd)) this.firstEnd = now;
    else this.timed++;
    this.last = now;
    const perStep = this.timed > 0 ? (this.last - this.firstEnd) / this.timed : this.firstEnd - this.startedAt;
    return (perStep * remaining) / 1000;
  }
}
