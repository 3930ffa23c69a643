/**
 * What the jobs tests share (the server's and the extension's fine-tuning panel tests): the server
 * with authentication on and a data dir of the test's, synth dataset folders, API keys, an
 * events-stream reader.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunningServer } from '../../src/server.js';
import { REPO_ROOT, startTestServer } from '../helpers/server.js';

export const ADMIN_KEY = 'admin-key-for-the-jobs-tests';
export const VIEWER_KEY = 'viewer-key-for-the-jobs-tests';
export const ADMIN = { 'x-api-key': ADMIN_KEY };
export const VIEWER = { 'x-api-key': VIEWER_KEY };
export const AUTH = {
  mode: 'required',
  apiKeys: [
    { key: ADMIN_KEY, role: 'admin', name: 'admin' },
    { key: VIEWER_KEY, role: 'viewer', name: 'viewer' },
  ],
};

/** A PACS nobody answers (the discard port): a PACS job fails fast with a sentence; folder jobs need none. */
export const NO_PACS = { url: 'http://127.0.0.1:9/dicom-web', timeoutMs: 1000 };

/**
 * The real server as the jobs tests run it: the starter model on the CPU, the ADMIN and VIEWER keys
 * required, its job store and adapter registry in `dataDir` (so they start as the test made them).
 */
export function startJobsServer(dataDir: string, jobs: Record<string, unknown>, pacs: { url: string; timeoutMs: number; username?: string; password?: string } = NO_PACS): Promise<RunningServer> {
  return startTestServer(pacs.url, { pacs, auth: AUTH, jobs }, {}, dataDir);
}

const CLI = path.join(REPO_ROOT, 'models', 'bin', 'glmedsa.js');

/** A fresh data dir holding datasets/<name>/{train,validation}: site-B phantoms (the starter knows site A). */
export function dataDirWithSiteB(name = 'site-b', trainCount = 16, validationCount = 6): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'glmedsa-jobs-'));
  for (const [part, n, seed] of [['train', trainCount, 1], ['validation', validationCount, 2]] as const) {
    const out = path.join(dir, 'datasets', name, part);
    const r = spawnSync(process.execPath, [CLI, 'synth', '--site', 'B', '--n', String(n), '--size', '128', '--seed', String(seed), '--out', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`synth failed: ${r.stderr}`);
  }
  return dir;
}

export { readEvents, type SseEvent } from '../helpers/sse.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a value (not undefined), or fails after `ms`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
