/**
 * `/dicom-web/*` proxied to the PACS, so the viewer talks to one origin: bodies stream both ways
 * (a STOW upload or a large frame is never held in memory), the PACS credentials are added here
 * and never reach the browser, the caller's own authorisation is checked first (viewer role to
 * read, annotator to store), hop-by-hop headers are dropped, and a PACS that is down, slow or
 * refuses our credentials becomes a sentence (502/504), not a hung request. What comes back is ours:
 * only an allow-list of the PACS's response headers passes, and its errors are our problem+json
 * (a 5xx is our 502, a 4xx our sentence with its status), never the PACS's own text, URIs or JSON.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema.js';
import type { Authenticator } from '../http/auth.js';
import { sendProblem } from '../http/problem.js';

/** RFC 9110 7.6.1 connection-specific headers, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** The caller's own credentials and identity are for this server, not the PACS. */
const NOT_TO_PACS = new Set(['host', 'authorization', 'x-api-key', 'cookie', 'origin', 'referer', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);
/**
 * The PACS's response headers that reach the caller: what describes the representation and its
 * caching, and DICOMweb's own Warning. Anything else (its server name, cookies, authentication
 * prompts, CORS or security headers, a Location on the PACS's own address) stays here.
 */
const TO_CALLER = new Set(['content-type', 'content-length', 'content-encoding', 'content-language', 'content-range', 'accept-ranges', 'etag', 'last-modified', 'cache-control', 'expires', 'vary', 'warning']);

/** Our sentence for a PACS's 4xx (its own text never reaches the caller). */
function pacsRefusal(status: number, method: string): { title: string; detail: string } {
  switch (status) {
    case 400:
      return { title: 'Bad request', detail: 'the PACS refused the request as malformed (HTTP 400); check its query parameters (limit and offset must be whole numbers from 0)' };
    case 404:
      return { title: 'Not found', detail: 'the PACS has no such study, series, instance or frame (HTTP 404)' };
    case 406:
      return { title: 'Not acceptable', detail: 'the PACS cannot answer in the media type the request asks for in Accept (HTTP 406)' };
    case 409:
      return { title: 'Conflict', detail: 'the PACS refused to store the instances (HTTP 409): they conflict with what it holds, or are not valid DICOM' };
    case 413:
      return { title: 'Too large', detail: 'the PACS refused the request as too large (HTTP 413)' };
    case 415:
      return { title: 'Unsupported media type', detail: 'the PACS does not accept the media type of the request body (HTTP 415)' };
    default:
      return { title: 'Refused by the PACS', detail: `the PACS refused this ${method} request (HTTP ${status})` };
  }
}

function pickHeaders(headers: IncomingHttpHeaders, keep: ReadonlySet<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && keep.has(name.toLowerCase())) out[name.toLowerCase()] = value;
  }
  return out;
}

/** Only the DICOMweb resources the viewer uses (not, e.g., Orthanc's /servers, which sends data elsewhere). */
const ALLOWED_PATH = /^\/(studies|series|instances)(\/|$)/;
/** STOW-RS targets. */
const STOW_PATH = /^\/studies(\/[0-9.]+)?\/?$/;

function connectionListed(headers: IncomingHttpHeaders): Set<string> {
  const c = headers['connection'];
  return new Set((Array.isArray(c) ? c.join(',') : (c ?? '')).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

function filterHeaders(headers: IncomingHttpHeaders, drop: Set<string>): Record<string, string | string[]> {
  const listed = connectionListed(headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const n = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(n) || listed.has(n) || drop.has(n)) continue;
    out[n] = value;
  }
  return out;
}

function pacsAuthorization(pacs: ServerConfig['pacs']): string | undefined {
  if (pacs.token) return `Bearer ${pacs.token}`;
  if (pacs.username) return `Basic ${Buffer.from(`${pacs.username}:${pacs.password ?? ''}`).toString('base64')}`;
  return undefined;
}

interface DicomWebProxyOptions {
  pacs: ServerConfig['pacs'];
  auth: Authenticator;
  log: Logger;
  /**
   * The proto and host the PACS is to write into the URLs of its answers (RetrieveURL,
   * BulkDataURI) for this request, or null to send none.
   */
  publicHost: (req: Request) => { proto: string; host: string } | null;
}

export function dicomWebProxy(o: DicomWebProxyOptions): Router {
  const base = new URL(o.pacs.url.endsWith('/') ? o.pacs.url : `${o.pacs.url}/`);
  const client = base.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: 32 });
  const authorization = pacsAuthorization(o.pacs);
  const seconds = Math.round(o.pacs.timeoutMs / 100) / 10;

  const forward = (req: Request, res: Response) => {
    const target = res.locals['pacsTarget'] as URL;
    const headers = filterHeaders(req.headers, NOT_TO_PACS);
    if (authorization) headers['authorization'] = authorization;
    // Orthanc's DICOMweb plugin builds the URLs in its answers (RetrieveURL, BulkDataURI) from
    // these, so they point back at this proxy rather than at the PACS's own address.
    const pub = o.publicHost(req);
    if (pub && /^[\w.-]+(:\d+)?$|^\[[\da-fA-F:]+\](:\d+)?$/.test(pub.host)) {
      // Orthanc reads `Forwarded` literally: a quoted host would end up quoted in its URLs.
      headers['forwarded'] = `proto=${pub.proto};host=${pub.host}`;
      headers['x-forwarded-host'] = pub.host;
      headers['x-forwarded-proto'] = pub.proto;
    }
    let answered = false;
    const fail = (status: number, title: string, detail: string) => {
      if (answered || res.headersSent) {
        res.destroy();
        return;
      }
      answered = true;
      sendProblem(res, status, title, detail);
    };
    const upstream = client.request(target, { method: req.method, headers, agent, timeout: o.pacs.timeoutMs }, (pacsRes: IncomingMessage) => {
      const status = pacsRes.statusCode ?? 502;
      if (status === 401 || status === 403) {
        pacsRes.resume();
        o.log.warn({ status, url: target.pathname }, 'the PACS refused the server credentials');
        return fail(502, 'PACS unavailable', `the PACS refused this server's credentials (HTTP ${status}); check the server's pacs.username/password or pacs.token`);
      }
      if (status >= 500) {
        pacsRes.resume();
        o.log.warn({ status, url: target.pathname }, 'the PACS failed to answer');
        return fail(502, 'PACS unavailable', `the PACS failed to answer this request (HTTP ${status}); try again, or ask its administrator`);
      }
      if (status >= 400) {
        pacsRes.resume();
        const r = pacsRefusal(status, req.method);
        return fail(status, r.title, r.detail);
      }
      answered = true;
      res.status(status);
      for (const [name, value] of Object.entries(pickHeaders(pacsRes.headers, TO_CALLER))) res.setHeader(name, value);
      pacsRes.pipe(res);
      pacsRes.once('error', () => res.destroy());
    });
    upstream.once('timeout', () => {
      upstream.destroy(new Error('timeout'));
      fail(504, 'PACS timeout', `the PACS did not answer within ${seconds} s`);
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (err.message === 'timeout') return;
      o.log.warn({ err: err.message, code: err.code, url: target.pathname }, 'PACS request failed');
      fail(502, 'PACS unavailable', `the PACS at ${base.origin} cannot be reached (${err.code ?? err.message})`);
    });
    // The caller went away: stop the PACS request too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (req.method === 'GET' || req.method === 'HEAD') upstream.end();
    else req.pipe(upstream);
  };

  /**
   * OHIF's DICOMweb client sends includefield=00081030%2C00080060; Orthanc's DICOMweb plugin
   * splits includefield on literal commas only, so it ignored the list and left StudyDescription
   * out (the study list said "No Description"). Forward the list with plain commas.
   */
  const commaSeparatedIncludeFields = (target: URL): void => {
    const fields = target.searchParams.getAll('includefield');
    if (!fields.some((f) => f.includes(','))) return;
    const rest = [...target.searchParams].filter(([k]) => k !== 'includefield').map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    const lists = fields.map((f) => `includefield=${f.split(',').map(encodeURIComponent).join(',')}`);
    target.search = [...rest, ...lists].join('&');
  };

  const router = Router();
  router.use((req, res, next) => {
    // Checked on the URL as the PACS will see it (dot segments resolved, %2e included), so
    // /studies/../servers cannot reach another resource; DICOMweb paths (UIDs, frame numbers,
    // bulk data tags) never need escapes or backslashes, so none pass.
    const target = new URL(req.url.replace(/^\/+/, ''), base);
    const inside = target.origin === base.origin && target.pathname.startsWith(base.pathname) ? `/${target.pathname.slice(base.pathname.length)}` : '';
    if (!ALLOWED_PATH.test(inside) || /[%\\]/.test(inside)) {
      return sendProblem(res, 404, 'Not found', `the DICOMweb proxy serves /studies, /series and /instances only, not ${req.path}`);
    }
    commaSeparatedIncludeFields(target);
    res.locals['pacsTarget'] = target;
    if (req.method === 'GET' || req.method === 'HEAD') return o.auth.require('viewer')(req, res, next);
    if (req.method === 'POST' && STOW_PATH.test(inside)) {
      // STOW-RS bodies are multipart/related; a form or text/plain body (what a page of another
      // site can send without asking) is not one, and is not forwarded with our PACS credentials.
      if (!req.is('multipart/related')) {
        return sendProblem(res, 415, 'Unsupported media type', `STOW-RS takes a multipart/related body of DICOM instances, not ${req.get('content-type') ? req.get('content-type')!.slice(0, 80) : 'a body without a Content-Type'}`);
      }
      return o.auth.require('annotator')(req, res, next);
    }
    res.setHeader('Allow', STOW_PATH.test(inside) ? 'GET, HEAD, POST' : 'GET, HEAD');
    return sendProblem(res, 405, 'Method not allowed', `the DICOMweb proxy does not allow ${req.method} ${req.path}`);
  });
  router.use(forward);
  return router;
}
