/**
 * Errors as application/problem+json (RFC 9457) with a sentence a person can act on. Anything
 * unexpected becomes a plain 500 without internals; the log keeps the details.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { PROBLEM_MEDIA_TYPE, type Problem } from '../api/problem.js';
import { fieldProblems, sentence } from '../api/validation.js';
import { type DomainError, type ErrorKind, isDomainError } from '../errors.js';

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly extra: { retryAfterSeconds?: number; fields?: Record<string, string>; code?: string } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

/** The HTTP status each kind of domain error is answered with; the only place that decides it. */
export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  'invalid-request': 400,
  'not-found': 404,
  conflict: 409,
  'unsupported-media-type': 415,
  'too-large': 413,
  'unprocessable-image': 422,
  busy: 503,
  'pacs-unavailable': 502,
  'pacs-timeout': 504,
  internal: 500,
};

/** The status a domain error is answered with. */
export function statusOf(error: DomainError): number {
  return STATUS_OF_KIND[error.kind];
}

export const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Authentication required',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Too large',
  415: 'Unsupported media type',
  421: 'Misdirected request',
  422: 'Cannot process this image',
  429: 'Too many requests',
  500: 'Internal error',
  502: 'PACS unavailable',
  503: 'Busy',
  504: 'PACS timeout',
};

export function sendProblem(res: Response, status: number, title: string, detail: string, extra: HttpProblem['extra'] = {}): void {
  // Refused before its body was read (no key, too large, a foreign origin): the connection is
  // closed after this answer rather than kept open while the rest of the body drains.
  if (!res.req.complete) res.setHeader('Connection', 'close');
  if (extra.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(Math.ceil(extra.retryAfterSeconds)));
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="glmedsa", ApiKey');
  const body: Problem = {
    type: extra.code ? `urn:glmedsa:problem:${extra.code}` : 'about:blank',
    title,
    status,
    detail,
    ...(extra.fields ? { fields: extra.fields } : {}),
    ...(res.locals['requestId'] ? { requestId: res.locals['requestId'] as string } : {}),
  };
  res.status(status).type(PROBLEM_MEDIA_TYPE).json(body);
}

/** Turns zod issues into one sentence (what is expected where) plus a field -> problem map. */
function describeZodError(err: ZodError, prefix = ''): { detail: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  const sentences: string[] = [];
  for (const p of fieldProblems(err.issues, prefix)) {
    const key = p.path || '(body)';
    if (key in fields) continue;
    fields[key] = p.message;
    sentences.push(sentence(p));
  }
  const more = sentences.length - 1;
  return { detail: `${sentences[0] ?? 'the request is not valid'}${more ? ` (and ${more} more problem${more > 1 ? 's' : ''})` : ''}`, fields };
}

export function problemHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      log.warn({ err, url: req.originalUrl }, 'error after the response started');
      res.end();
      return;
    }
    if (err instanceof HttpProblem) return sendProblem(res, err.status, err.title, err.message, err.extra);
    if (err instanceof ZodError) {
      const { detail, fields } = describeZodError(err);
      return sendProblem(res, 400, 'Bad request', detail, { fields });
    }
    const bodyError = err as { type?: string; status?: number; limit?: number };
    // The client stopped sending its body (it went away, or the request timeout cut it off and
    // node answered 408 itself): nobody is left to answer, and nothing failed here.
    if (bodyError?.type === 'request.aborted') {
      log.info({ url: req.originalUrl, requestId: res.locals['requestId'] }, 'the client stopped sending the request body');
      if (!res.headersSent && !req.socket.destroyed) sendProblem(res, 400, 'Bad request', 'the request body ended before its declared length');
      return;
    }
    if (bodyError?.type === 'entity.too.large') {
      return sendProblem(res, 413, 'Too large', `the request body is larger than the ${bodyError.limit} bytes allowed`);
    }
    if (bodyError?.type === 'entity.parse.failed') return sendProblem(res, 400, 'Bad request', 'the request body is not valid JSON');
    if (bodyError?.type === 'encoding.unsupported' || bodyError?.type === 'charset.unsupported') {
      return sendProblem(res, 415, 'Unsupported media type', 'the request body encoding is not supported');
    }
    if (isDomainError(err)) {
      const status = statusOf(err);
      if (err.kind === 'internal') log.error({ err, url: req.originalUrl, requestId: res.locals['requestId'] }, 'request failed');
      else if (status >= 500 && err.kind !== 'busy') log.warn({ err: err.message, detail: err.detail, url: req.originalUrl }, 'upstream error');
      return sendProblem(res, status, TITLES[status] ?? 'Error', err.message, {
        ...(err.code ? { code: err.code } : {}),
        ...(err.fields ? { fields: err.fields } : {}),
        ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
      });
    }
    log.error({ err, url: req.originalUrl, requestId: res.locals['requestId'] }, 'unhandled error');
    sendProblem(res, 500, 'Internal error', 'the server could not complete the request; the error was logged');
  };
}

export const notFoundHandler: RequestHandler = (req, res) =>
  sendProblem(res, 404, 'Not found', `there is no ${req.method} ${req.path} in this API`);
