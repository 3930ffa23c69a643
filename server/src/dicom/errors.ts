/**
 * Typed errors of the image path (PACS access, DICOM decoding). Each carries a sentence a
 * radiologist can read (`message`), a technical `detail` for logs, a stable `code`, and the HTTP
 * `status` the API layer should answer with (400/404/422 for the request or the data, 502/504 for
 * the PACS).
 */

/** HTTP statuses the image path hints at. */
export type DicomErrorStatus = 400 | 404 | 422 | 502 | 504;

/** Base class of every error the image path throws on purpose. */
export abstract class DicomError extends Error {
  /** Stable machine-readable code, e.g. `pacs-not-found`. */
  abstract readonly code: string;
  /** HTTP status the API should answer with. */
  abstract readonly status: DicomErrorStatus;
  /** Technical detail for logs (URL, PACS answer, byte counts); not meant for end users. */
  readonly detail: string | undefined;

  constructor(message: string, detail?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.detail = detail;
  }
}

/** The image reference itself is malformed (e.g. a UID with letters); no request was sent. */
export class InvalidImageReference extends DicomError {
  readonly code = 'invalid-image-reference';
  readonly status = 400;
  constructor(detail: string) {
    super(`The image reference is not valid: ${detail}.`, detail);
  }
}

/** The PACS does not know this study/series/instance (HTTP 404 from the PACS). */
export class PacsNotFound extends DicomError {
  readonly code = 'pacs-not-found';
  readonly status = 404;
  constructor(detail?: string) {
    super('This image was not found in the PACS. It may have been deleted or moved; reload the study and try again.', detail);
  }
}

/** The PACS could not be reached, or the connection broke during the transfer. */
export class PacsUnavailable extends DicomError {
  readonly code = 'pacs-unavailable';
  readonly status = 502;
  constructor(detail?: string, options?: { cause?: unknown }) {
    super('The image archive (PACS) cannot be reached right now. Try again in a moment; if it persists, contact support.', detail, options);
  }
}

/** The PACS did not answer within the configured time. */
export class PacsTimeout extends DicomError {
  readonly code = 'pacs-timeout';
  readonly status = 504;
  constructor(detail?: string, options?: { cause?: unknown }) {
    super('The image archive (PACS) took too long to answer. Try again in a moment.', detail, options);
  }
}

/** The PACS answered something we cannot use (malformed body, unexpected status, too large). */
export class PacsBadResponse extends DicomError {
  readonly code = 'pacs-bad-response';
  readonly status = 502;
  constructor(detail?: string, options?: { cause?: unknown }) {
    super('The image archive (PACS) sent an answer that could not be understood.', detail, options);
  }
}

/** The PACS refused the server's credentials (HTTP 401/403): a configuration problem, not the user's. */
export class PacsAuthRejected extends DicomError {
  readonly code = 'pacs-auth-rejected';
  readonly status = 502;
  constructor(detail?: string) {
    super('The image archive (PACS) refused access to this server. Ask an administrator to check the PACS credentials.', detail);
  }
}

/** The instance holds no image (a report, a segmentation, a PDF...). */
export class NotAnImage extends DicomError {
  readonly code = 'not-an-image';
  readonly status = 422;
  constructor(what?: string, detail?: string) {
    super(`This object${what ? ` (${what})` : ''} is not an image, so it cannot be segmented. Choose an image series instead.`, detail);
  }
}

/** The image is stored in a form we (or the PACS) cannot decode. */
export class UnsupportedImage extends DicomError {
  readonly code = 'unsupported-image';
  readonly status = 422;
  constructor(reason: string, detail?: string) {
    super(`This image cannot be segmented: ${reason}.`, detail);
  }
}

/** The image's stored data is incomplete or damaged (e.g. a truncated file in the PACS). */
export class CorruptImage extends DicomError {
  readonly code = 'corrupt-image';
  readonly status = 422;
  constructor(detail?: string) {
    super('The pixel data of this image is incomplete or damaged in the PACS, so it cannot be segmented.', detail);
  }
}

/** The requested frame number does not exist in the instance. */
export class FrameOutOfRange extends DicomError {
  readonly code = 'frame-out-of-range';
  readonly status = 422;
  /** Frames in the instance, when known. */
  readonly numberOfFrames: number | undefined;
  constructor(frame: number, numberOfFrames?: number) {
    super(
      numberOfFrames === undefined
        ? `Frame ${frame} does not exist in this image.`
        : `Frame ${frame} does not exist in this image, which has ${numberOfFrames} frame${numberOfFrames === 1 ? '' : 's'} (numbered from 1).`,
      `frame=${frame} numberOfFrames=${numberOfFrames ?? 'unknown'}`,
    );
    this.numberOfFrames = numberOfFrames;
  }
}

/** True for errors of the image path (as opposed to programming errors). */
export function isDicomError(value: unknown): value is DicomError {
  return value instanceof DicomError;
}
