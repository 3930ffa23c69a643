/**
 * DNS-rebinding protection: a page on another site can make the browser resolve its own name to
 * 127.0.0.1 and then read our answers as same-origin. The browser still sends that site's name in
 * the Host header, so without authentication the server answers only for the host names it is
 * configured for (the loopback names and the listen address by default, with any port).
 */
import type { RequestHandler } from 'express';
import { sendProblem } from './problem.js';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** The host name of a Host header value, lowercased, IPv6 in brackets, without the port. */
export function hostName(header: string): string | null {
  const h = header.trim().toLowerCase();
  if (h === '') return null;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return null;
    const rest = h.slice(end + 1);
    return rest === '' || /^:\d{1,5}$/.test(rest) ? h.slice(0, end + 1) : null;
  }
  const m = /^([a-z0-9._-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1]!.replace(/\.$/, '') : null;
}

/** The names accepted: the configured ones, or the loopback names and the listen address. */
function allowedHostNames(configured: readonly string[], listenHost: string): Set<string> | 'any' {
  if (configured.includes('*')) return 'any';
  const names = configured.length > 0 ? [...configured] : [...LOOPBACK_NAMES, listenHost];
  const set = new Set<string>();
  for (const n of names) {
    const bare = n.trim().toLowerCase();
    if (bare === '0.0.0.0' || bare === '::' || bare === '[::]') continue; // "every address" is not a name
    set.add(bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare);
  }
  return set;
}

/** Whether {@link hostCheck} vets the Host header of every request with these settings. */
export function hostCheckActive(o: { allowedHosts: readonly string[]; authRequired: boolean }): boolean {
  return !o.allowedHosts.includes('*') && (!o.authRequired || o.allowedHosts.length > 0);
}

/**
 * Refuses (421) requests whose Host header names a host not in the allow-list. Off when
 * authentication is required and no list is configured (a rebinding page has no credentials).
 */
export function hostCheck(o: { allowedHosts: readonly string[]; listenHost: string; authRequired: boolean }): RequestHandler {
  const allowed = allowedHostNames(o.allowedHosts, o.listenHost);
  const active = hostCheckActive(o);
  const list = allowed === 'any' ? '' : [...allowed].join(', ');
  return (req, res, next) => {
    if (!active) return next();
    const header = req.headers.host;
    const name = header === undefined ? null : hostName(header);
    if (name !== null && (allowed as Set<string>).has(name)) return next();
    const given = header === undefined ? 'no Host header' : `the host name '${header.slice(0, 100)}'`;
    sendProblem(
      res,
      421,
      'Misdirected request',
      `this server answers only for ${list}, and the request has ${given}; ` +
        'to reach it under another name, add the name to http.allowedHosts (GLMEDSA_ALLOWED_HOSTS)',
      { code: 'host-not-allowed' },
    );
  };
}
