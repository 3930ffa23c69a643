/**
 * Cross-site request refusal. A page on any web site can make a browser send a form or a
 * `fetch(..., { mode: 'no-cors' })` POST to this server (on the default loopback address with no
 * authentication, that is every admin action); the browser marks where it came from. A
 * state-changing request (any method but GET, HEAD and OPTIONS) is refused (403) when its
 * `Origin` is neither this server's own origin nor one of `cors.origins`; without an `Origin`,
 * `Sec-Fetch-Site` (cross-site or same-site) or a `Referer` of another origin refuse it too.
 * Clients that are not browsers (curl, scripts, the PACS tools) send none of these and pass.
 */
import type { Request, RequestHandler } from 'express';
import { sendProblem } from './problem.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** scheme://host[:port] of a URL, lowercased, default port left out; null when it is not one. */
function originOf(url: string): string | null {
  try {
    const o = new URL(url).origin;
    return o === 'null' ? null : o;
  } catch {
    return null;
  }
}

/** This server's own origin as the caller reached it (a trusted proxy's X-Forwarded-* included). */
function ownOrigin(req: Request): string | null {
  return req.host ? originOf(`${req.protocol}://${req.host}`) : null;
}

export function originCheck(o: { corsOrigins: readonly string[]; publicUrl?: string | undefined }): RequestHandler {
  const allowed = new Set(o.corsOrigins.map((c) => originOf(c) ?? c));
  const anyOrigin = o.corsOrigins.includes('*');
  const publicOrigin = o.publicUrl ? originOf(o.publicUrl) : null;
  const accepted = (origin: string | null, req: Request) => origin !== null && (origin === ownOrigin(req) || origin === publicOrigin || allowed.has(origin));
  return (req, res, next) => {
    if (SAFE_METHODS.has(req.method) || anyOrigin) return next();
    const refuse = (what: string) =>
      sendProblem(
        res,
        403,
        'Forbidden',
        `${what}; this server accepts ${req.method} requests from its own pages and from the origins in cors.origins (GLMEDSA_CORS_ORIGINS) only`,
        { code: 'cross-site-request' },
      );
    const origin = req.get('origin');
    if (origin !== undefined) {
      return accepted(originOf(origin), req) ? next() : refuse(`the request comes from the origin ${origin.slice(0, 100)}`);
    }
    const site = req.get('sec-fetch-site');
    if (site === 'cross-site' || site === 'same-site') return refuse(`the browser marks the request as ${site}`);
    const referer = req.get('referer');
    if (referer !== undefined && !accepted(originOf(referer), req)) return refuse(`the request comes from a page at ${(originOf(referer) ?? 'an unknown origin').slice(0, 100)}`);
    next();
  };
}
