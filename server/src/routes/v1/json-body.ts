/**
 * How the v1 routes read bodies: JSON only (a form or text/plain body, which a page of another site
 * can send without asking, is refused 415 before anything else), a size limit from the
 * configuration, objects and arrays only, and no key that would reach an object's prototype
 * (`__proto__`, `constructor`, `prototype`) anywhere in the document: copied by a validator into
 * a plain object, `{"__proto__": {"folder": "a"}}` would read as `{folder: "a"}` and be stored as `{}`.
 */
import express, { type Request, type RequestHandler } from 'express';
import type { ServerConfig } from '../../config/schema.js';
import { HttpProblem } from '../../http/problem.js';

/** Keys refused anywhere in a JSON body. */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether a request carries a body (a declared length above 0, or a chunked one). */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const NOT_JSON = (req: Request) =>
  new HttpProblem(415, 'Unsupported media type', `send the body as JSON with Content-Type: application/json (this request has ${req.get('content-type') ? `Content-Type: ${req.get('content-type')!.slice(0, 80)}` : 'no Content-Type'})`);

/**
 * Every state-changing v1 request except uploads (raw images) has a JSON body or none: a body of
 * another type is refused 415.
 */
export function jsonOrNoBody(): RequestHandler {
  return (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' || req.path === '/images') return next();
    if (hasBody(req) && !req.is('application/json')) return next(NOT_JSON(req));
    next();
  };
}

/** Throws when `value` holds a key of {@link PROTOTYPE_KEYS} at any depth; `at` is the path so far. */
function refusePrototypeKeys(value: unknown, at = ''): void {
  if (typeof value !== 'object' || value === null) return;
  for (const key of Object.keys(value)) {
    const here = at ? `${at}.${key}` : key;
    if (PROTOTYPE_KEYS.has(key)) {
      throw new HttpProblem(400, 'Bad request', `the key '${key}' (at ${here}) is not allowed in a request body`, { fields: { [here]: 'not an allowed key' } });
    }
    refusePrototypeKeys((value as Record<string, unknown>)[key], here);
  }
}

/** The JSON body of a route (the type is checked by {@link jsonOrNoBody} in front of every v1 route). */
export function jsonBody(config: ServerConfig): RequestHandler {
  const parse = express.json({ limit: config.limits.jsonBytes, strict: true });
  return (req, res, next) =>
    parse(req, res, (err?: unknown) => {
      if (err) return next(err);
      try {
        refusePrototypeKeys(req.body);
      } catch (refused) {
        return next(refused);
      }
      next();
    });
}
