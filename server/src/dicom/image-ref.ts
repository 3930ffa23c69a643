/**
 * References to DICOM instances and their validation. UIDs go into URL paths, so they are checked
 * strictly (digits and dots, at most 64 characters, PS3.5 9.1) before any request is built.
 */
import { FrameOutOfRange, InvalidImageReference } from './errors.js';

/** The three UIDs that address one instance over DICOMweb. */
export interface InstanceRef {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopInstanceUID: string;
}

/** A window (VOI) as the viewport shows it: centre and width in modality units (after rescale). */
export interface Voi {
  readonly center: number;
  readonly width: number;
}

/** One frame of one instance, optionally with the window the viewport shows it with. */
export interface ImageRef extends InstanceRef {
  /** 1-based frame number. */
  readonly frame: number;
  readonly voi?: Voi | undefined;
}

const UID_PATTERN = /^[0-9]+(\.[0-9]+)*$/;

/**
 * True when `value` is usable as a DICOM UID in a URL: digits and dots, non-empty components, at
 * most 64 characters. Zero-padded components, which PS3.5 forbids but some archives hold, pass.
 */
export function isValidUid(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64 && UID_PATTERN.test(value);
}

/** Throws {@link InvalidImageReference} unless all three UIDs are valid. */
export function assertInstanceRef(ref: InstanceRef): void {
  for (const key of ['studyInstanceUID', 'seriesInstanceUID', 'sopInstanceUID'] as const) {
    const value: unknown = ref[key];
    if (!isValidUid(value)) {
      const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value) : typeof value;
      throw new InvalidImageReference(`${key} must be a DICOM UID (digits and dots, at most 64 characters), got ${shown}`);
    }
  }
}

/**
 * Checks a 1-based frame number: non-integers throw {@link InvalidImageReference}, integers below 1
 * (or above `numberOfFrames` when given) throw {@link FrameOutOfRange}.
 */
export function assertFrameNumber(frame: number, numberOfFrames?: number): void {
  if (!Number.isSafeInteger(frame)) {
    throw new InvalidImageReference(`a frame number must be a whole number, got ${String(frame)}`);
  }
  if (frame < 1 || (numberOfFrames !== undefined && frame > numberOfFrames)) {
    throw new FrameOutOfRange(frame, numberOfFrames);
  }
}
