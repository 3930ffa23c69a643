/** The real server, started in-process for a test file (workers are real threads, Orthanc real). */
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { type RunningServer, startServer } from '../../src/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..', '..');
export const STARTER_MODEL = process.env['GLMEDSA_TEST_MODEL'] ?? path.join(REPO_ROOT, 'models', 'starter');

/** `dataDir`: where jobs, adapters and merged models go (default: the server's own, `.data` of the working directory). */
export async function startTestServer(pacsUrl: string, overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}, dataDir?: string): Promise<RunningServer> {
  const config = loadConfig({
    env,
    overrides: {
      listen: { host: '127.0.0.1', port: 0 },
      pacs: { url: pacsUrl, timeoutMs: 5000 },
      models: [{ id: 'starter', dir: STARTER_MODEL }],
      device: 'cpu',
      logLevel: 'silent',
      ...overrides,
    },
  });
  return startServer(config, { ...(dataDir ? { dataDir } : {}), log: pino({ level: process.env['GLMEDSA_TEST_LOG'] ?? 'silent' }) });
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}


/**
 * A GET with a Host header of the test's choice (fetch does not let one set it; `host` undefined
 * sends none) to `base` (a URL, or a loopback port); answers the status and the body as text.
 */
export function getWithHost(base: string | number, path: string, host: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = typeof base === 'number' ? `http://127.0.0.1:${base}` : base;
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'GET', headers: { ...(host === undefined ? {} : { host }), ...headers }, setHost: host !== undefined }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}
