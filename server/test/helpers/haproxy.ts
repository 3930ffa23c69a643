/**
 * Debian's HAProxy for a test or a benchmark, running the example configuration the README ships
 * (docs/cluster/haproxy.cfg) as it stands: only the addresses come from the environment. The stats
 * page's CSV says which replicas the health checks hold up.
 */
import path from 'node:path';
import { findFreePort } from '../../src/bundled-pacs/index.js';
import { type GuardedProcess, spawnGuarded } from './guarded-process.js';
import { REPO_ROOT } from './server.js';

export const HAPROXY = process.env['GLMEDSA_HAPROXY'] ?? '/usr/sbin/haproxy';
export const HAPROXY_CONFIG = path.join(REPO_ROOT, 'docs', 'cluster', 'haproxy.cfg');

export interface TestHaproxy {
  /** Where the viewers connect. */
  url: string;
  process: GuardedProcess;
  /** Server name (api-1, api-2) -> its state as the health checks see it (UP, DOWN, MAINT, ...). */
  states(): Promise<Record<string, string>>;
  /** Waits until every named server is in `state`. */
  waitFor(state: string, servers: string[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `replicas`: host:port of api-1 and api-2; `probeKey`: an API key with the viewer role for /readyz. */
export async function startTestHaproxy(replicas: [string, string], probeKey: string): Promise<TestHaproxy> {
  const port = await findFreePort();
  const statsPort = await findFreePort();
  const env = {
    ...process.env,
    GLMEDSA_LB_BIND: `127.0.0.1:${port}`,
    GLMEDSA_LB_STATS: `127.0.0.1:${statsPort}`,
    GLMEDSA_API_1: replicas[0],
    GLMEDSA_API_2: replicas[1],
    GLMEDSA_PROBE_KEY: probeKey,
  };
  const p = await spawnGuarded(HAPROXY, ['-db', '-f', HAPROXY_CONFIG], { env });
  const statsUrl = `http://127.0.0.1:${statsPort}/;csv`;
  const states = async (): Promise<Record<string, string>> => {
    const csv = await (await fetch(statsUrl)).text();
    const rows = csv.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(','));
    return Object.fromEntries(rows.filter((r) => r[0] === 'api_replicas' && r[1] !== 'BACKEND').map((r) => [r[1]!, r[17]!]));
  };
  for (let i = 0; ; i++) {
    const up = await fetch(statsUrl).then((r) => r.ok, () => false);
    if (up) break;
    if (i > 100) {
      await p.stop(0);
      throw new Error(`haproxy did not start: ${p.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    process: p,
    states,
    async waitFor(state, servers, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = await states();
        if (servers.every((n) => (s[n] ?? '').startsWith(state))) return;
        if (Date.now() > end) throw new Error(`haproxy: waited ${timeoutMs} ms for ${servers.join(', ')} to be ${state}; states ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => p.stop(2000),
  };
}
