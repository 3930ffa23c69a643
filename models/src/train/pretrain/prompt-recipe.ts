/**
 * SAM's prompts, simulated as a radiologist gives them: each step draws one way of prompting for
 * all its targets (the step graph has one shape), and each target gets its own prompt of that kind:
 *
 * - click: one positive click at a random interior point (sometimes inside a lesion of the organ
 *   that is the target, so that a click there is ambiguous, as it is for a user);
 * - box: the target's bounding box with SAM's jitter (each side moved by N(0, 10% of the box's
 *   extent), at most 20 px);
 * - click + box;
 * - corrective: after a click, one or two clicks at the centre of the largest error of the model's
 *   own (current) prediction, with its low-res logits fed back as the mask prompt;
 * - neighbour: the object's mask on a slice 1 to 3 away as the mask prompt, with that mask's box
 *   (sometimes with a click at its centre), what slice-to-slice propagation gives the model. Images
 *   that are not volume slices get the target itself shifted, grown or shrunk instead, which is
 *   what a neighbour looks like.
 *
 * Coordinates are in the model's input frame (S x S). Box corners are points with SAM's labels 2
 * and 3; prompts without a box end with SAM's padding point (label -1), as at inference.
 */
import { type Click, randomClickInside, regionCentre } from '../clicks.js';
import type { Rng } from '../../util/random.js';
import { maskPromptLogits } from '../../preprocess/index.js';

export const PROMPT_MODES = ['click', 'box', 'click+box', 'corrective', 'neighbour'] as const;
export type PromptMode = (typeof PROMPT_MODES)[number];

/** How often each mode is drawn (normalised). */
export const DEFAULT_MODE_WEIGHTS: Readonly<Record<PromptMode, number>> = Object.freeze({
  click: 0.3,
  box: 0.12,
  'click+box': 0.1,
  corrective: 0.22,
  neighbour: 0.26,
});

export interface PromptPoint {
  x: number;
  y: number;
  /** 1 positive, 0 negative, 2 box top-left, 3 box bottom-right, -1 padding. */
  label: number;
}

/** The shape of a step's prompts: the graph it needs. */
export interface StepPlan {
  mode: PromptMode;
  /** Points per prompt, padding included. */
  points: number;
  /** Single click: SAM's three candidates are trained (best of three). */
  multimask: boolean;
  /** corrective: clicks in all (2 or 3); neighbour: with a click inside the neighbour mask. */
  clicks: number;
  withPoint: boolean;
}

export function drawPlan(rng: Rng, weights: Readonly<Record<PromptMode, number>> = DEFAULT_MODE_WEIGHTS): StepPlan {
  const total = PROMPT_MODES.reduce((s, m) => s + weights[m], 0);
  let u = rng.next() * total;
  let mode: PromptMode = 'click';
  for (const m of PROMPT_MODES) {
    u -= weights[m];
    if (u < 0) {
      mode = m;
      break;
    }
  }
  switch (mode) {
    case 'click':
      return { mode, points: 2, multimask: true, clicks: 1, withPoint: false };
    case 'box':
      return { mode, points: 2, multimask: false, clicks: 0, withPoint: false };
    case 'click+box':
      return { mode, points: 3, multimask: false, clicks: 1, withPoint: false };
    case 'corrective': {
      const clicks = rng.next() < 0.6 ? 2 : 3;
      return { mode, points: clicks + 1, multimask: false, clicks, withPoint: false };
    }
    case 'neighbour': {
      const withPoint = rng.next() < 0.3;
      return { mode, points: withPoint ? 3 : 2, multimask: false, clicks: withPoint ? 1 : 0, withPoint };
    }
  }
}

/** Bounding box [x0, y0, x1, y1] (inclusive pixel indices) of a mask, or null when empty. */
export function maskBox(mask: Uint8Array, w: number, h: number): [number, number, number, number] | null {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let i = 0; i < w * h; i++) {
    if (!mask[i]) continue;
    const x = i % w;
    const y = (i - x) / w;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}

/** SAM's box jitter: each coordinate moved by N(0, `fraction` x the box's extent), at most `maxPx`, kept in the frame. */
export function jitterBox(box: [number, number, number, number], rng: Rng, S: number, fraction = 0.1, maxPx = 20): [number, number, number, number] {
  const [x0, y0, x1, y1] = box;
  const sx = Math.min(maxPx, fraction * (x1 - x0 + 1));
  const sy = Math.min(maxPx, fraction * (y1 - y0 + 1));
  const j = (v: number, s: number) => Math.max(0, Math.min(S - 1, v + Math.max(-maxPx, Math.min(maxPx, rng.normal(0, s)))));
  let a = j(x0, sx), b = j(y0, sy), c = j(x1, sx), d = j(y1, sy);
  if (c < a) [a, c] = [c, a];
  if (d < b) [b, d] = [d, b];
  return [a, b, c, d];
}

function boxPoints(box: [number, number, number, number]): PromptPoint[] {
  return [
    { x: box[0], y: box[1], label: 2 },
    { x: box[2], y: box[3], label: 3 },
  ];
}

/**
 * The first click on a target (input frame): a random pixel of it, or with probability
 * `ambiguous` a random pixel of one of its inner lesions (the click that may mean either).
 */
export function firstClick(maskS: Uint8Array, inner: Uint8Array[], S: number, rng: Rng, ambiguous = 0.2): Click {
  if (inner.length && rng.next() < ambiguous) {
    const c = randomClickInside(inner[rng.int(0, inner.length)]!, S, S, rng);
    if (c) return c;
  }
  return randomClickInside(maskS, S, S, rng) ?? { x: rng.int(0, S), y: rng.int(0, S), label: 0 };
}

/** A plausible neighbouring-slice mask made from the target itself: shifted, then grown or shrunk a little. */
export function perturbedMask(maskS: Uint8Array, S: number, rng: Rng): Uint8Array {
  const dx = Math.round(rng.normal(0, 2));
  const dy = Math.round(rng.normal(0, 2));
  const out = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= S) continue;
    for (let x = 0; x < S; x++) {
      const sx = x - dx;
      if (sx >= 0 && sx < S && maskS[sy * S + sx]) out[y * S + x] = 1;
    }
  }
  const steps = rng.int(-2, 3);
  let m = out;
  for (let k = 0; k < Math.abs(steps); k++) {
    const next = new Uint8Array(S * S);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const i = y * S + x;
        const n = [x > 0 ? m[i - 1]! : 0, x < S - 1 ? m[i + 1]! : 0, y > 0 ? m[i - S]! : 0, y < S - 1 ? m[i + S]! : 0];
        next[i] = steps > 0 ? (m[i] || n.some((v) => v) ? 1 : 0) : m[i] && n.every((v) => v) ? 1 : 0;
      }
    }
    m = next;
  }
  return m.some((v) => v) ? m : out.some((v) => v) ? out : maskS;
}

/** What one target's prompt starts from, in the input frame. */
export interface TargetFrames {
  maskS: Uint8Array;
  /** Inner lesions in the input frame. */
  inner: Uint8Array[];
  /** The object's mask on a neighbouring slice in the input frame, when the sample has one. */
  neighbour: Uint8Array | null;
}

/**
 * The prompt of one target for a step's plan, before any corrective click: points and the mask
 * prompt (the neighbour's mask as logits, or none). Corrective clicks are appended by the caller.
 */
export function initialPrompt(plan: StepPlan, t: TargetFrames, S: number, lowRes: number, rng: Rng): { points: PromptPoint[]; maskInput: Float32Array | null } {
  switch (plan.mode) {
    case 'click':
    case 'corrective':
      return { points: [firstClick(t.maskS, t.inner, S, rng), { x: 0, y: 0, label: -1 }], maskInput: null };
    case 'box':
      return { points: boxPoints(jitterBox(maskBox(t.maskS, S, S)!, rng, S)), maskInput: null };
    case 'click+box':
      return { points: [firstClick(t.maskS, t.inner, S, rng, 0), ...boxPoints(jitterBox(maskBox(t.maskS, S, S)!, rng, S))], maskInput: null };
    case 'neighbour': {
      const prev = t.neighbour ?? perturbedMask(t.maskS, S, rng);
      const box = jitterBox(maskBox(prev, S, S) ?? maskBox(t.maskS, S, S)!, rng, S, 0.05, 8);
      const points = boxPoints(box);
      if (plan.withPoint) {
        const c = regionCentre(prev, S, S) ?? regionCentre(t.maskS, S, S)!;
        points.unshift({ x: c.x, y: c.y, label: 1 });
      }
      return { points, maskInput: maskPromptLogits(prev, S, S, S, lowRes, rng.uniform(3, 15)) };
    }
  }
}
