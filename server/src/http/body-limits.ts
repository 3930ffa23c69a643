/**
 * Request bodies refused from their headers, before a byte of them is read: a declared
 * Content-Length over the route's limit is answered 413 at once (before authentication, so a
 * caller without a key who declares 1 GB is not kept waiting while the body would drain), and the
 * connection is closed after the answer (see `sendProblem`), so a client that declared a large body
 * and sends it slowly holds nothing.
 */
import type { RequestHandler } from 'express';
import type { ServerConfig } from '../config/schema.js';
import { sendProblem } from './problem.js';

const MB = (n: number) => (n >= 1024 * 1024 ? `${Math.round((n / (1024 * 1024)) * 10) / 10} MB` : `${n} bytes`);

/** The largest body each part of the server reads: uploads, STOW through the PACS proxy, JSON elsewhere. */
function bodyLimitFor(path: string, limits: ServerConfig['limits']): { bytes: number; what: string; setting: string } {
  if (path === '/v1/images' || path.startsWith('/v1/images/')) return { bytes: limits.uploadBytes, what: 'an image upload', setting: 'limits.uploadBytes' };
  if (path === '/dicom-web' || path.startsWith('/dicom-web/')) return { bytes: limits.stowBytes, what: 'a STOW-RS upload', setting: 'limits.stowBytes' };
  return { bytes: limits.jsonBytes, what: 'a JSON request', setting: 'limits.jsonBytes' };
}

export function declaredBodyLimit(limits: ServerConfig['limits']): RequestHandler {
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    if (declared === undefined) return next();
    const bytes = Number(declared);
    const limit = bodyLimitFor(req.path, limits);
    if (Number.isFinite(bytes) && bytes > limit.bytes) {
      return sendProblem(res, 413, 'Too large', `the request declares a body of ${MB(bytes)}, larger than the ${MB(limit.bytes)} ${limit.what} may have (${limit.setting})`);
    }
    next();
  };
}
