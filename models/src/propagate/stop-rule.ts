/**
 * Where a propagated object ends: each next slice's mask is judged against the slice before it
 * (and the seed), and the propagation stops in that direction at the first mask that fails, that
 * mask left out. The thresholds are configuration; a model retrained for propagation may want
 * others (rerun `npm run bench -- propagate-eval --model DIR`, which tunes and reports them).
 *
 * The defaults come from that evaluation with the current starter (README, "Propagation through a
 * series"), tuned on the lesions of CT phantom volumes of sites A and B. The starter was trained with
 * neighbouring slices' masks as prompts, so past an object's end it keeps drawing a shape of about
 * the previous size: emptiness and overlap no longer end a propagation, its falling predicted IoU
 * does (score-drop), with stability and shift.
 */
import type { RunStats } from './runs.js';

export interface StopRule {
  /** A mask smaller than this many pixels is the end of the object. */
  minPixels: number;
  /** ... or smaller than this fraction of the seed's area. */
  minSeedFraction: number;
  /** A mask whose predicted IoU is below this is not trusted. */
  minScore: number;
  /**
   * A mask whose predicted IoU is below this fraction of the best one so far in its direction has
   * left the object: a model trained on neighbouring-slice masks keeps drawing a shape past the
   * object's end, but its confidence in it falls (0 turns the test off).
   */
  minScoreRatio: number;
  /** A mask more than this many times the previous one's area has leaked into its surroundings... */
  maxGrowth: number;
  /** ...counted only from this many pixels on (small masks change area by large factors). */
  growthFromPixels: number;
  /** A mask whose overlap with the previous one (IoU) is below this has jumped to something else. */
  minOverlap: number;
  /** A centroid that moved more than this many previous-mask radii has jumped. */
  maxShift: number;
  /**
   * A mask whose stability (SAM's stability score on the low-resolution logits: the area above
   * +1 over the area above -1) is below this is not trusted.
   */
  minStability: number;
}

/** Defaults (see the module comment for where they come from). */
export const DEFAULT_STOP_RULE: Readonly<StopRule> = Object.freeze({
  minPixels: 4,
  minSeedFraction: 0,
  minScore: 0,
  minScoreRatio: 0.9,
  maxGrowth: 2,
  growthFromPixels: 64,
  minOverlap: 0,
  maxShift: 1,
  minStability: 0.8,
});

/** Which test a mask failed. */
export const STOP_CAUSES = ['empty', 'too-small', 'low-score', 'score-drop', 'unstable', 'area-jump', 'no-overlap', 'shift'] as const;
export type StopCause = (typeof STOP_CAUSES)[number];

/** What the rule looks at for one slice. */
export interface SliceMeasures {
  area: number;
  score: number;
  /** The score over the best score of the slices before it in its direction (1 for the first). */
  scoreRatio: number;
  /** Area relative to the previous slice's mask. */
  growth: number;
  /** IoU with the previous slice's mask (same pixel grid). */
  overlap: number;
  /** Centroid displacement in previous-mask radii (the radius of a disc of the previous area). */
  shift: number;
  /** Low-resolution area above +1 over area above -1 (1 when nothing is above -1). */
  stability: number;
}

/** SAM's stability score on logits: how much of the mask survives moving the threshold from -1 to +1. */
export function stability(logits: Float32Array): number {
  let high = 0;
  let low = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > 1) high++;
    if (v > -1) low++;
  }
  return low ? high / low : 1;
}

/**
 * The measures of a slice's mask against the previous slice's; `bestScore` is the best score of the
 * slices propagated before it in its direction (null for the first).
 */
export function measureSlice(current: RunStats, score: number, previous: RunStats, intersection: number, lowRes: Float32Array, bestScore: number | null = null): SliceMeasures {
  const union = current.area + previous.area - intersection;
  const radius = Math.sqrt(previous.area / Math.PI) || 1;
  const shift =
    current.centroid && previous.centroid ? Math.hypot(current.centroid.x - previous.centroid.x, current.centroid.y - previous.centroid.y) / radius : Infinity;
  return {
    area: current.area,
    score,
    scoreRatio: bestScore === null || bestScore <= 0 ? 1 : score / bestScore,
    growth: previous.area ? current.area / previous.area : Infinity,
    overlap: union ? intersection / union : 0,
    shift,
    stability: stability(lowRes),
  };
}

/** The first test the slice fails, or null when it continues the object. */
export function stopCause(m: SliceMeasures, seedArea: number, rule: StopRule): StopCause | null {
  if (m.area === 0) return 'empty';
  if (m.area < rule.minPixels || m.area < rule.minSeedFraction * seedArea) return 'too-small';
  if (m.score < rule.minScore) return 'low-score';
  if (m.scoreRatio < rule.minScoreRatio) return 'score-drop';
  if (m.stability < rule.minStability) return 'unstable';
  if (m.growth > rule.maxGrowth && m.area >= rule.growthFromPixels) return 'area-jump';
  if (m.overlap < rule.minOverlap) return 'no-overlap';
  if (m.shift > rule.maxShift) return 'shift';
  return null;
}

/** Checks a partial rule (from a configuration or the command line) and fills in the defaults. */
export function stopRule(partial: Partial<StopRule> = {}): StopRule {
  const rule = { ...DEFAULT_STOP_RULE, ...partial };
  for (const [k, v] of Object.entries(rule)) {
    // A predicted IoU may come out slightly below 0; any minScore is a number, the rest are not negative.
    if (typeof v !== 'number' || Number.isNaN(v) || (k !== 'minScore' && v < 0)) throw new Error(`stop rule ${k} must be a non-negative number, got ${String(v)}`);
  }
  return rule;
}

/** A partial rule from JSON text (a command-line option): known thresholds only, numbers only. */
export function stopRuleFromJson(text: string): Partial<StopRule> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`the stop rule must be a JSON object, got '${text}'`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('the stop rule must be a JSON object');
  for (const [k, v] of Object.entries(parsed)) {
    if (!(k in DEFAULT_STOP_RULE)) throw new Error(`the stop rule has an unknown threshold '${k}' (known: ${Object.keys(DEFAULT_STOP_RULE).join(', ')})`);
    if (typeof v !== 'number') throw new Error(`the stop rule's ${k} must be a number`);
  }
  stopRule(parsed as Partial<StopRule>); // checks the values
  return parsed as Partial<StopRule>;
}
