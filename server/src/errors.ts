/**
 * The errors the server's domain code (inference, segmentation, images, dicom) throws on purpose.
 * Each says what went wrong in a sentence a person can act on (`message`) and what kind of failure
 * it is (`kind`); only the HTTP layer (`http/problem.ts`) turns a kind into a status code.
 */

/** What kind of failure an error is, independent of any transport. */
export type ErrorKind =
  /** The request itself is malformed (a bad UID, a point outside the image). */
  | 'invalid-request'
  /** A model, image, upload or mask that does not exist (or has expired). */
  | 'not-found'
  /** The request contradicts the state it refers to (a mask of another image). */
  | 'conflict'
  /** The image exists but cannot be segmented (not an image, damaged, unsupported encoding). */
  | 'unprocessable-image'
  /** The upload is of a type the server does not take. */
  | 'unsupported-media-type'
  /** The input is larger than the configured limits. */
  | 'too-large'
  /** No capacity now (queue full, shutting down, a job overran): try again later. */
  | 'busy'
  /** The PACS cannot be reached, refused the server, or answered something unusable. */
  | 'pacs-unavailable'
  /** The PACS did not answer in time. */
  | 'pacs-timeout'
  /** Our own failure; the message is safe to show, the details are in the log. */
  | 'internal';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'invalid-request',
  'not-found',
  'conflict',
  'unprocessable-image',
  'unsupported-media-type',
  'too-large',
  'busy',
  'pacs-unavailable',
  'pacs-timeout',
  'internal',
];

interface DomainErrorOptions {
  /** Stable machine-readable code, e.g. `pacs-not-found`. */
  code?: string | undefined;
  /** Technical detail for logs (URLs, PACS answers, byte counts); not meant for end users. */
  detail?: string | undefined;
  /** Field -> problem, for requests whose fields can be named. */
  fields?: Record<string, string> | undefined;
  /** For `busy`: when a retry makes sense. */
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

/** Base class of every error the domain code throws on purpose (as opposed to programming errors). */
export class DomainError extends Error {
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly fields: Record<string, string> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    o: DomainErrorOptions = {},
  ) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = new.target.name;
    this.code = o.code;
    this.detail = o.detail;
    this.fields = o.fields;
    this.retryAfterSeconds = o.retryAfterSeconds;
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}

export class InvalidRequest extends DomainError {
  constructor(message: string, fields?: Record<string, string>) {
    super('invalid-request', message, { fields });
  }
}

export class NotFound extends DomainError {
  constructor(message: string) {
    super('not-found', message);
  }
}

export class Conflict extends DomainError {
  constructor(message: string) {
    super('conflict', message);
  }
}

export class UnprocessableImage extends DomainError {
  constructor(message: string, o: DomainErrorOptions = {}) {
    super('unprocessable-image', message, o);
  }
}

export class UnsupportedMediaType extends DomainError {
  constructor(message: string) {
    super('unsupported-media-type', message);
  }
}

export class TooLarge extends DomainError {
  constructor(message: string) {
    super('too-large', message);
  }
}

export class Busy extends DomainError {
  constructor(message: string, retryAfterSeconds: number) {
    super('busy', message, { retryAfterSeconds });
  }
}

export class InternalFailure extends DomainError {
  constructor(message: string, o: DomainErrorOptions = {}) {
    super('internal', message, o);
  }
}
