/**
 * The prompts of one train step, as a user would click: a random positive click inside each
 * image's object, then (for a step drawn to have K > 1 clicks) K - 1 corrective clicks, each at
 * the centre of the largest error of what the model, with its current parameters, shows after the
 * clicks so far. Clicks are in the input frame (S x S); errors are found on the low-res grid.
 */
import type { Rng } from '../util/random.js';
import { type Click, nextErrorClick, randomClickInside } from './clicks.js';
import type { TrainSample } from './samples.js';

interface SimulatedPrompts {
  /** Per image, its clicks (every image has the same number). */
  clicks: Click[][];
  /** The low-res logits shown after all but the last click, fed back as the mask prompt (null after one click). */
  maskInput: Float32Array | null;
}

/** Runs the model forward on the clicks so far (with the previous mask prompt) and returns the shown low-res logits [B, L, L]. */
type ShownLogits = (clicks: Click[][], maskInput: Float32Array | null) => Promise<Float32Array>;

export class ClickSimulator {
  constructor(
    private readonly o: {
      /** Input size S (the clicks' frame). */
      inputSize: number;
      /** Low-res size L (the logits' and targets' grid). */
      lowRes: number;
      /** At most this many clicks per prompt; 1 means a single random positive click. */
      maxClicks: number;
    },
  ) {}

  /**
   * Draws from the step's random stream, in this order: the step's click count, then each image's
   * first click; then places the corrective clicks with `shown`.
   */
  async simulate(samples: TrainSample[], rng: Rng, shown: ShownLogits): Promise<SimulatedPrompts> {
    const count = 1 + rng.int(0, Math.max(1, this.o.maxClicks));
    const clicks = this.firstClicks(samples, rng);
    let maskInput: Float32Array | null = null;
    for (let k = 1; k < count; k++) {
      maskInput = await shown(clicks, maskInput);
      this.addCorrections(samples, clicks, maskInput);
    }
    return { clicks, maskInput };
  }

  /** A random pixel of each object (a random negative click when the mask is empty). */
  private firstClicks(samples: TrainSample[], rng: Rng): Click[][] {
    const S = this.o.inputSize;
    return samples.map((s) => [randomClickInside(s.maskS, S, S, rng) ?? { x: rng.int(0, S), y: rng.int(0, S), label: 0 }]);
  }

  /** Appends to each image's clicks one at the centre of its largest error (repeating the first when there is none). */
  private addCorrections(samples: TrainSample[], clicks: Click[][], logits: Float32Array): void {
    const { inputSize: S, lowRes: L } = this.o;
    const f = S / L;
    samples.forEach((s, b) => {
      const pred = new Uint8Array(L * L);
      for (let i = 0; i < L * L; i++) pred[i] = logits[b * L * L + i]! > 0 ? 1 : 0;
      const gt = Uint8Array.from(s.target);
      const click = nextErrorClick(pred, gt, L, L);
      // Low-res pixel centres in the input frame.
      clicks[b]!.push(click ? { x: click.x * f + (f - 1) / 2, y: click.y * f + (f - 1) / 2, label: click.label } : { ...clicks[b]![0]! });
    });
  }
}
