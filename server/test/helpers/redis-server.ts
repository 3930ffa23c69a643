/**
 * A real Redis (Debian's redis-server) for a test: a temp folder, a free loopback port, the
 * append-only file written on every command (so a restart, even after kill -9, loses nothing), and
 * a restart on the same port and folder, as a cluster's Redis is restarted during a job.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { findFreePort } from '../../src/bundled-pacs/index.js';
import { type GuardedProcess, spawnGuarded } from './guarded-process.js';

export const REDIS_SERVER = process.env['GLMEDSA_REDIS_SERVER'] ?? '/usr/bin/redis-server';

export interface TestRedis {
  url: string;
  port: number;
  /** The current process. */
  readonly process: GuardedProcess;
  /**
   * Stops Redis (SIGTERM, or kill -9 with `kill`) and starts it again on the same port and folder,
   * after `whileDown` (what a test checks while Redis is away) has run.
   */
  restart(o?: { kill?: boolean; whileDown?: () => Promise<void> }): Promise<void>;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 500 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'glmedsa-redis-'));
  const port = await findFreePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--loglevel', 'warning', '--maxmemory-policy', 'noeviction'];
  const launch = async (): Promise<GuardedProcess> => {
    const p = await spawnGuarded(REDIS_SERVER, args, { cwd: dir });
    for (let i = 0; i < 100; i++) {
      if (await answers(url)) return p;
      await new Promise((r) => setTimeout(r, 100));
    }
    await p.stop(0);
    throw new Error(`redis-server did not answer on port ${port}: ${p.output()}`);
  };
  let current = await launch();
  return {
    url,
    port,
    get process() {
      return current;
    },
    async restart(o = {}) {
      if (o.kill) {
        current.kill('SIGKILL');
        await current.exited;
      } else {
        await current.stop();
      }
      try {
        await o.whileDown?.();
      } finally {
        current = await launch();
      }
    },
    async stop() {
      await current.stop(2000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
