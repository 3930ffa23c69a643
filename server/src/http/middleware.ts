/** Request ids, access logs with per-route latency metrics, CORS allow-list, security headers. */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { EMBEDDING_HEADERS } from '../api/embedding-transfer.js';
import { IMAGE_ROUTE_HEADER } from '../api/routing.js';
import type { Metrics } from '../metrics.js';
import { sendProblem } from './problem.js';

export function requestContext(log: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const id = given && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    res.locals['requestId'] = id;
    res.setHeader('X-Request-Id', id);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const t0 = performance.now();
    res.on('finish', () => {
      const ms = performance.now() - t0;
      const route = (req.route?.path as string | undefined) ? `${req.baseUrl}${req.route.path as string}` : 'unmatched';
      metrics.http.observe({ method: req.method, route, status: String(res.statusCode) }, ms / 1000);
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
      log[level]({ requestId: id, method: req.method, url: req.originalUrl, status: res.statusCode, ms: Math.round(ms) }, 'request');
    });
    next();
  };
}

/**
 * The response headers a page at another origin may read: without this list a browser hides all
 * but a handful, so a site's own OHIF could not see an embedding's version headers (browser
 * decoding would give up), a 503's Retry-After (the retry would not say when) or the request id.
 */
const EXPOSED_HEADERS = [...Object.values(EMBEDDING_HEADERS), 'ETag', 'Retry-After', 'X-Request-Id'].join(', ');

/** Browsers may call the API only from the configured origins. */
export function cors(origins: string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (!origin) return next();
    if (!allowed.has(origin) && !allowed.has('*')) {
      if (req.method === 'OPTIONS') return sendProblem(res, 403, 'Forbidden', `the origin ${origin} is not allowed to call this API`);
      return next(); // the browser will block the response for lack of CORS headers
    }
    res.setHeader('Access-Control-Allow-Origin', allowed.has('*') ? '*' : origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', `Content-Type, Authorization, X-API-Key, X-Request-Id, ${IMAGE_ROUTE_HEADER}`);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
