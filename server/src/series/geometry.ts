/**
 * Whether the frames of a series make a volume, and their order through it. Pure geometry, no I/O.
 *
 * The rules are those of OHIF's `isDisplaySetReconstructable` (so the server agrees with the
 * viewer on what is a volume), with the slice step measured robustly: more than one frame, every
 * frame with a position and an orientation, equal rows, columns and samples per pixel, equal
 * orientations (each direction cosine within 0.01), and consecutive positions along the slice
 * normal one slice step apart within 20% of the step; a gap of a whole number of steps (within 20%
 * per step) is that many missing slices, reported and skipped over. The step is the median gap,
 * not OHIF's (last - first) / (n - 1), which missing slices inflate. Frames are ordered by their
 * position along the normal (row x column direction cosines), never by instance number.
 */
import { DomainError } from '../errors.js';

export type Vec3 = readonly [number, number, number];

/** One frame of an image in the series (a single-frame instance is one frame, frame 1). */
export interface FrameGeometry {
  sopInstanceUID: string;
  /** 1-based frame number within its instance. */
  frame: number;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  /** ImagePositionPatient of the frame (per-frame functional groups for multi-frame images). */
  position: Vec3 | null;
  /** ImageOrientationPatient: row then column direction cosines. */
  orientation: readonly [number, number, number, number, number, number] | null;
  /** For messages: the instance number, when the instance has one. */
  instanceNumber?: number | undefined;
}

/** A frame in the volume's order. */
interface VolumeSlice extends FrameGeometry {
  /** Position in the sorted volume, 0 first. */
  index: number;
  /** Position along the slice normal, mm. */
  distance: number;
}

export interface SeriesVolume {
  slices: VolumeSlice[];
  rows: number;
  columns: number;
  /** Unit normal of the slices (row x column direction). */
  normal: Vec3;
  /** The slice step along the normal, mm. */
  spacing: number;
  /** Gaps of whole slice steps: after slice `after` (an index), `count` slices are missing. */
  missing: { after: number; count: number }[];
}

/** Why a series is not a volume (the `code` of the error is `not-a-volume-<reason>`). */
type NotAVolumeReason =
  | 'no-images'
  | 'single-image'
  | 'missing-position'
  | 'missing-orientation'
  | 'mixed-size'
  | 'mixed-orientation'
  | 'duplicate-position'
  | 'irregular-spacing';

/** A series that cannot be treated as a volume, with a sentence that says which rule it breaks and where. */
export class NotAVolume extends DomainError {
  constructor(
    readonly reason: NotAVolumeReason,
    message: string,
  ) {
    super('unprocessable-image', message, { code: `not-a-volume-${reason}` });
  }
}

/** Direction cosines may differ by this much and still be the same orientation (OHIF's tolerance). */
const ORIENTATION_TOLERANCE = 0.01;
/** A gap may differ from a whole number of slice steps by this fraction of a step per step (OHIF's tolerance). */
const SPACING_TOLERANCE = 0.2;
/** Frames closer than this along the normal, mm, share a position. */
const SAME_POSITION_MM = 0.01;

const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const norm = (a: Vec3): number => Math.sqrt(dot(a, a));

/** How a frame is named in a sentence: by instance number (else UID), and frame in multi-frame series. */
function describe(f: FrameGeometry, multiFrame: boolean): string {
  const image = f.instanceNumber !== undefined ? `image ${f.instanceNumber}` : `image ${f.sopInstanceUID}`;
  return multiFrame ? `${image} frame ${f.frame}` : image;
}

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const mm = (v: number): string => `${Number(v.toFixed(2))} mm`;

/** The most common value of a key among the frames, and how many have it. */
function mostCommon<T>(frames: readonly FrameGeometry[], key: (f: FrameGeometry) => string, value: (f: FrameGeometry) => T): { value: T; count: number } {
  const counts = new Map<string, { value: T; count: number }>();
  for (const f of frames) {
    const k = key(f);
    const e = counts.get(k) ?? { value: value(f), count: 0 };
    e.count++;
    counts.set(k, e);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count)[0]!;
}

/**
 * Orders the frames of a series through the volume they make, or throws {@link NotAVolume} with a
 * sentence saying which rule the series breaks and where.
 */
export function sortVolume(frames: readonly FrameGeometry[]): SeriesVolume {
  if (frames.length === 0) throw new NotAVolume('no-images', 'The series holds no images, so there is nothing to propagate through.');
  if (frames.length === 1) throw new NotAVolume('single-image', 'The series holds a single image, so it is not a volume: propagation needs a stack of slices.');
  const multiFrame = frames.some((f) => f.frame > 1);
  const name = (f: FrameGeometry) => describe(f, multiFrame);
  const unpositioned = frames.filter((f) => !f.position || !f.position.every(Number.isFinite));
  if (unpositioned.length) {
    throw new NotAVolume(
      'missing-position',
      `The series cannot be ordered as a volume: ${unpositioned.length} of its ${frames.length} ${multiFrame ? 'frames' : 'images'} (${name(unpositioned[0]!)} first) have no position in the patient (Image Position Patient).`,
    );
  }
  const unoriented = frames.filter((f) => !f.orientation || !f.orientation.every(Number.isFinite) || norm(cross(rowOf(f), colOf(f))) < 0.5);
  if (unoriented.length) {
    throw new NotAVolume(
      'missing-orientation',
      `The series has no known slice direction: ${unoriented.length} of its ${frames.length} ${multiFrame ? 'frames' : 'images'} (${name(unoriented[0]!)} first) have no valid orientation (Image Orientation Patient).`,
    );
  }
  const size = mostCommon(frames, (f) => `${f.columns}x${f.rows}x${f.samplesPerPixel}`, (f) => f);
  const offSize = frames.filter((f) => f.rows !== size.value.rows || f.columns !== size.value.columns || f.samplesPerPixel !== size.value.samplesPerPixel);
  if (offSize.length) {
    const o = offSize[0]!;
    const what = o.rows !== size.value.rows || o.columns !== size.value.columns ? `${o.columns}x${o.rows} pixels where the others are ${size.value.columns}x${size.value.rows}` : `${o.samplesPerPixel} samples per pixel where the others have ${size.value.samplesPerPixel}`;
    throw new NotAVolume('mixed-size', `The series mixes image sizes: ${offSize.length} of its ${frames.length} ${multiFrame ? 'frames' : 'images'} (${name(o)} first) are ${what}, so they do not stack into one volume.`);
  }
  const reference = mostCommon(frames, (f) => f.orientation!.map((v) => v.toFixed(2)).join(','), (f) => f).value;
  const offAxis = frames.filter((f) => !sameOrientation(f.orientation!, reference.orientation!));
  if (offAxis.length) {
    throw new NotAVolume(
      'mixed-orientation',
      `The series mixes slice orientations: ${offAxis.length} of its ${frames.length} ${multiFrame ? 'frames' : 'images'} (${name(offAxis[0]!)} first) are tilted against the others (their direction cosines differ by more than ${ORIENTATION_TOLERANCE}, as with a gantry tilt change or a localizer in the series), so they do not stack into one volume.`,
    );
  }
  const normal = unit(cross(rowOf(reference), colOf(reference)));
  const sorted = frames
    .map((f) => ({ ...f, distance: dot(f.position!, normal) }))
    .sort((a, b) => a.distance - b.distance || a.sopInstanceUID.localeCompare(b.sopInstanceUID) || a.frame - b.frame);
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i]!.distance - sorted[i - 1]!.distance;
    if (gap < SAME_POSITION_MM) {
      const same = sorted.filter((f) => Math.abs(f.distance - sorted[i]!.distance) < SAME_POSITION_MM).length;
      throw new NotAVolume(
        'duplicate-position',
        `${capital(name(sorted[i - 1]!))} and ${name(sorted[i]!)}${same > 2 ? ` (and ${same - 2} more)` : ''} lie at the same position (${mm(sorted[i]!.distance)} along the slice normal), so the series holds more than one image per slice (two acquisitions, or a time series) and is not one volume.`,
      );
    }
    gaps.push(gap);
  }
  // The slice step: the median gap (robust to missing slices while they are fewer than half the gaps).
  const step = median(gaps);
  const missing: { after: number; count: number }[] = [];
  for (let i = 0; i < gaps.length; i++) {
    const gap = gaps[i]!;
    const steps = Math.round(gap / step);
    if (steps >= 1 && Math.abs(gap - steps * step) / steps <= SPACING_TOLERANCE * step) {
      if (steps > 1) missing.push({ after: i, count: steps - 1 });
      continue;
    }
    throw new NotAVolume(
      'irregular-spacing',
      `The gap between ${name(sorted[i]!)} and ${name(sorted[i + 1]!)} is ${mm(gap)} where the slices are ${mm(step)} apart, which is not a whole number of slices, so the series is not evenly spaced.`,
    );
  }
  return {
    slices: sorted.map((f, index) => ({ ...f, index })),
    rows: size.value.rows,
    columns: size.value.columns,
    normal,
    spacing: step,
    missing,
  };
}

function rowOf(f: FrameGeometry): Vec3 {
  const o = f.orientation!;
  return [o[0], o[1], o[2]];
}

function colOf(f: FrameGeometry): Vec3 {
  const o = f.orientation!;
  return [o[3], o[4], o[5]];
}

function unit(v: Vec3): Vec3 {
  const n = norm(v);
  return [v[0] / n, v[1] / n, v[2] / n];
}

function sameOrientation(a: readonly number[], b: readonly number[]): boolean {
  return a.every((v, i) => Math.abs(v - b[i]!) < ORIENTATION_TOLERANCE);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
