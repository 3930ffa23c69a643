/**
 * Which mask a 3D proposal shows on each slice of a series, when several propagations offer masks
 * for the same slices. Pure bookkeeping (slice indices in the series' position order, no pixels):
 *
 * - Every propagation belongs to a generation. A click that refines slice j starts a new one, whose
 *   propagations claim the slices beyond j: what older generations showed there is taken off, and
 *   their later masks for those slices are refused (they come from a mask the user has corrected).
 * - A propagation only offers masks for its own range (the gap it fills, or the series).
 * - Within one generation (filling a gap from both ends), the mask nearer its own seed wins: a
 *   propagation's error grows with each slice it carries the mask, and the model's predicted IoU is
 *   not calibrated on propagated slices, so distance is the fairer judge. Where the two are equally
 *   near (the middle of an odd gap), both are shown together (their union).
 */

/** Inclusive range of slice indices. */
export interface SliceRange {
  lo: number;
  hi: number;
}

/** Where a mask came from: its generation, its propagation's seed and range. */
export interface MaskOrigin {
  generation: number;
  seed: number;
  range: SliceRange;
}

interface HeldSlice extends MaskOrigin {
  index: number;
  /** Slices between the mask's slice and its seed. */
  distance: number;
}

/** What to do with an offered mask: show it in place of the slice's mask, add it to that mask, or drop it. */
type Decision = 'set' | 'union' | 'refused';

export class ProposalSlices {
  private readonly held = new Map<number, HeldSlice>();
  private readonly claims: { generation: number; range: SliceRange; except: number }[] = [];
  private generation = 0;

  /** A new generation, newer than every one before. */
  nextGeneration(): number {
    return ++this.generation;
  }

  /**
   * Generation `generation` takes `range` (but not `except`, its seed): returns the slices held by
   * older generations there, which the caller takes off the labelmap; they are forgotten here.
   */
  claim(generation: number, range: SliceRange, except: number): number[] {
    this.claims.push({ generation, range, except });
    const dropped: number[] = [];
    for (const [index, h] of this.held) {
      if (h.generation < generation && index !== except && index >= range.lo && index <= range.hi) dropped.push(index);
    }
    for (const i of dropped) this.held.delete(i);
    return dropped.sort((a, b) => a - b);
  }

  /** Whether a newer generation than `generation` has claimed slice `index`. */
  private claimedByNewer(generation: number, index: number): boolean {
    return this.claims.some((c) => c.generation > generation && c.except !== index && index >= c.range.lo && index <= c.range.hi);
  }

  /**
   * Whether a propagation of `generation` over `range` (seed `except`) has nothing left to give:
   * every slice of its range is either given already (held by it), or held or claimed by a newer
   * generation. Such a propagation can stop.
   */
  superseded(generation: number, range: SliceRange, except: number): boolean {
    for (let i = range.lo; i <= range.hi; i++) {
      if (i === except) continue;
      const h = this.held.get(i);
      if (h && h.generation >= generation) continue;
      if (!this.claimedByNewer(generation, i)) return false;
    }
    return true;
  }

  /** Decides on a mask for slice `index` from `origin`, and remembers it when it is shown. */
  offer(index: number, origin: MaskOrigin): Decision {
    if (index < origin.range.lo || index > origin.range.hi) return 'refused';
    if (this.claimedByNewer(origin.generation, index)) return 'refused';
    const distance = Math.abs(index - origin.seed);
    const h = this.held.get(index);
    let decision: Decision;
    if (!h || origin.generation > h.generation) decision = 'set';
    else if (origin.generation < h.generation) decision = 'refused';
    else if (distance < h.distance) decision = 'set';
    else decision = distance === h.distance ? 'union' : 'refused';
    if (decision === 'set') this.held.set(index, { ...origin, index, distance });
    return decision;
  }

  /** Forgets slice `index` (its mask was taken off). */
  drop(index: number): void {
    this.held.delete(index);
  }

  get(index: number): HeldSlice | undefined {
    return this.held.get(index);
  }

  /** The slices holding a mask, in series order. */
  indices(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * The propagation that owns slice `index` or, for a slice the proposal does not reach, the one
   * owning the nearest slice that holds a mask (null when nothing is held).
   */
  ownerNear(index: number): HeldSlice | null {
    const own = this.held.get(index);
    if (own) return own;
    let best: HeldSlice | null = null;
    for (const h of this.held.values()) if (!best || Math.abs(h.index - index) < Math.abs(best.index - index)) best = h;
    return best;
  }
}

/** The propagations that carry a refined mask on slice j outward, away from the seed it was reached from. */
export interface Outward {
  /** Propagations to ask for, each from `from` one way at most `maxSlices` slices, claiming `range`. */
  runs: { direction: 'forward' | 'backward' | 'both'; maxSlices: number; range: SliceRange }[];
  /** The slices the new generation takes (the union of the runs' ranges). */
  range: SliceRange;
}

/**
 * The re-propagation after a click refines slice `j` of a proposal: outward from j, away from the
 * seed of the propagation it belongs to (`owner`), within that propagation's range. On the seed
 * itself, both ways; on a slice the propagation did not reach, also back toward the proposal's
 * nearest slice, to fill the slices between. A slice outside the owner's range (or with no proposal
 * at all) starts afresh: both ways through the whole series.
 */
export function outwardFrom(j: number, owner: HeldSlice | null, series: SliceRange): Outward {
  const both = (range: SliceRange): Outward => ({ runs: [{ direction: 'both', maxSlices: Math.max(1, range.hi - j, j - range.lo), range }], range });
  if (!owner || j < owner.range.lo || j > owner.range.hi) return both(series);
  const { range, seed } = owner;
  if (j === seed) return both(range);
  const forward = j > seed;
  const runs: Outward['runs'] = [];
  const far = forward ? range.hi - j : j - range.lo;
  if (far > 0) runs.push({ direction: forward ? 'forward' : 'backward', maxSlices: far, range: forward ? { lo: j + 1, hi: range.hi } : { lo: range.lo, hi: j - 1 } });
  // A slice the propagation did not reach: the slices between it and the proposal's nearest slice are empty.
  // (Toward the seed only: the other way the outward propagation covers them.)
  const gap = owner.index !== j ? Math.abs(j - owner.index) - 1 : 0;
  const towardLower = owner.index < j;
  if (gap > 0 && towardLower === forward) {
    runs.push({ direction: forward ? 'backward' : 'forward', maxSlices: gap, range: forward ? { lo: j - gap, hi: j - 1 } : { lo: j + 1, hi: j + gap } });
  }
  const all = runs.map((r) => r.range);
  return { runs, range: all.length ? { lo: Math.min(...all.map((r) => r.lo)), hi: Math.max(...all.map((r) => r.hi)) } : { lo: j, hi: j } };
}

/** Gaps between slices that hold a mask: empty slices with a mask on both sides. */
export function gapsBetween(filled: readonly number[]): { from: number; to: number }[] {
  const sorted = [...new Set(filled)].sort((a, b) => a - b);
  const gaps: { from: number; to: number }[] = [];
  for (let k = 1; k < sorted.length; k++) if (sorted[k]! - sorted[k - 1]! > 1) gaps.push({ from: sorted[k - 1]!, to: sorted[k]! });
  return gaps;
}
