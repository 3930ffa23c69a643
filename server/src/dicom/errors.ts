/**
 * Typed errors of the image path (PACS access, DICOM decoding). Each carries a sentence a
 * radiologist can read (`message`), a technical `detail` for logs, a stable `code`, and its
 * domain error `kind` (the HTTP layer maps kinds to statuses).
 */
import { DomainError, type ErrorKind } from '../errors.js';

/** The kinds of failure the image path reports. */
type DicomErrorKind = Extract<ErrorKind, 'invalid-request' | 'not-found' | 'unprocessable-image' | 'pacs-unavailable' | 'pacs-timeout'>;

/** Base class of every error the image path throws on purpose. */
export abstract class DicomError extends DomainError {
  /** Stable machine-readable code, e.g. `pacs-not-found`. */
  declare readonly code: string;
  declare readonly kind: DicomErrorKind;

  constructor(kind: DicomErrorKind, code: string, message: string, detail?: string, options?: { cause?: unknown }) {
    super(kind, message, { code, detail, cause: options?.cause });
  }
}

/** The image reference itself is malformed (e.g. a UID with letters); no request was sent. */
export class InvalidImageReference extends DicomError {
  constructor(detail: string) {
    super('invalid-request', 'invalid-image-reference', `The image reference is not valid: ${detail}.`, detail);
  }
}

/** The PACS does not know this study/series/instance (HTTP 404 from the PACS). */
export class PacsNotFound extends DicomError {
  constructor(detail?: string) {
    super('not-found', 'pacs-not-found', 'This image was not found in the PACS. It may have been deleted or moved; reload the study and try again.', detail);
  }
}

/** The PACS could not be reached, or the connection broke during the transfer. */
export class PacsUnavailable extends DicomError {
  constructor(detail?: string, options?: { cause?: unknown }) {
    super('pacs-unavailable', 'pacs-unavailable', 'The image archive (PACS) cannot be reached right now. Try again in a moment; if it persists, contact support.', detail, options);
  }
}

/** The PACS did not answer within the configured time. */
export class PacsTimeout extends DicomError {
  constructor(detail?: string, options?: { cause?: unknown }) {
    super('pacs-timeout', 'pacs-timeout', 'The image archive (PACS) took too long to answer. Try again in a moment.', detail, options);
  }
}

/** The PACS answered something we cannot use (malformed body, unexpected status, too large). */
export class PacsBadResponse extends DicomError {
  constructor(detail?: string, options?: { cause?: unknown }) {
    super('pacs-unavailable', 'pacs-bad-response', 'The image archive (PACS) sent an answer that could not be understood.', detail, options);
  }
}

/** The PACS refused the server's credentials (HTTP 401/403): a configuration problem, not the user's. */
export class PacsAuthRejected extends DicomError {
  constructor(detail?: string) {
    super('pacs-unavailable', 'pacs-auth-rejected', 'The image archive (PACS) refused access to this server. Ask an administrator to check the PACS credentials.', detail);
  }
}

/** The instance holds no image (a report, a segmentation, a PDF...). */
export class NotAnImage extends DicomError {
  constructor(what?: string, detail?: string) {
    super('unprocessable-image', 'not-an-image', `This object${what ? ` (${what})` : ''} is not an image, so it cannot be segmented. Choose an image series instead.`, detail);
  }
}

/** The image is stored in a form we (or the PACS) cannot decode. */
export class UnsupportedImage extends DicomError {
  constructor(reason: string, detail?: string) {
    super('unprocessable-image', 'unsupported-image', `This image cannot be segmented: ${reason}.`, detail);
  }
}

/** The image's stored data is incomplete or damaged (e.g. a truncated file in the PACS). */
export class CorruptImage extends DicomError {
  constructor(detail?: string) {
    super('unprocessable-image', 'corrupt-image', 'The pixel data of this image is incomplete or damaged in the PACS, so it cannot be segmented.', detail);
  }
}

/** The requested frame number does not exist in the instance. */
export class FrameOutOfRange extends DicomError {
  /** Frames in the instance, when known. */
  readonly numberOfFrames: number | undefined;
  constructor(frame: number, numberOfFrames?: number) {
    super('unprocessable-image', 'frame-out-of-range', 
      numberOfFrames === undefined
        ? `Frame ${frame} does not exist in this image.`
        : `Frame ${frame} does not exist in this image, which has ${numberOfFrames} frame${numberOfFrames === 1 ? '' : 's'} (numbered from 1).`,
      `frame=${frame} numberOfFrames=${numberOfFrames ?? 'unknown'}`,
    );
    this.numberOfFrames = numberOfFrames;
  }
}
