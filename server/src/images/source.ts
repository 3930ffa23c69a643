/** An image as it reaches rendering (render.ts, in an inference worker): decoded RGB, an uploaded PNG or JPEG, or a DICOM frame to decode and window. */
import type { RgbImage } from '@glmedsa/models';
import type { Voi } from '../dicom/image-ref.js';
import type { FetchedFrame } from '../dicom/image-source.js';

export type ImageSource =
  | { type: 'rgb'; image: RgbImage }
  | { type: 'encoded'; bytes: Uint8Array; mediaType: 'image/png' | 'image/jpeg' }
  | { type: 'dicom'; frame: FetchedFrame; voi?: Voi };
