/**
 * Replicas of the server as separate processes (so a test can kill -9 one), each from a JSON
 * configuration written here: the starter model on the CPU with one inference worker, API keys
 * required, the cluster's queue and shared storage. MALLOC_ARENA_MAX is set so that the launcher
 * runs the server in its own process (the pid a test kills is the server's).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@glmedsa/server/dist/src/bundled-pacs/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', '..');
const SERVER_BIN = path.join(REPO, 'server', 'bin', 'glmedsa-server.js');
export const STARTER = process.env['GLMEDSA_TEST_MODEL'] ?? path.join(REPO, 'models', 'starter');

export const ADMIN_KEY = 'admin-key-of-the-cluster-test';
export const VIEWER_KEY = 'viewer-key-of-the-cluster-test';
export const ADMIN = { 'x-api-key': ADMIN_KEY };
export const AUTH = {
  mode: 'required',
  apiKeys: [
    { key: ADMIN_KEY, role: 'admin', name: 'admin' },
    { key: VIEWER_KEY, role: 'viewer', name: 'viewer' },
  ],
};

export interface Replica {
  name: string;
  url: string;
  /** host:port, for the balancer. */
  address: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited(): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  /** Starts the process again with the same configuration and port. */
  restart(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const all: Replica[] = [];

/** Starts a replica and waits until /readyz answers 200 (or it exits, with its stderr). */
export async function startReplica(name: string, dir: string, config: Record<string, unknown>): Promise<Replica> {
  const port = await findFreePort();
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...config, listen: { host: '127.0.0.1', port } }));
  let child!: ChildProcess;
  let err = '';
  const launch = async () => {
    err = '';
    child = spawn(process.execPath, [SERVER_BIN, '--config', file], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MALLOC_ARENA_MAX: '2' } });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ready = await fetch(`${url}/readyz`, { headers: { 'x-api-key': VIEWER_KEY } }).then((r) => r.status === 200, () => false);
      if (ready) return;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`replica ${name} exited during start: ${err}`);
      if (i > 900) throw new Error(`replica ${name} was not ready after 180 s: ${err}`);
      await sleep(200);
    }
  };
  await launch();
  const replica: Replica = {
    name,
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    get child() {
      return child;
    },
    stderr: () => err,
    exited: () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()))),
    kill: (signal) => void child.kill(signal),
    restart: launch,
  };
  all.push(replica);
  return replica;
}

export async function stopAll(): Promise<void> {
  for (const r of all) if (r.child.exitCode === null && r.child.signalCode === null) r.kill('SIGKILL');
  await Promise.all(all.map((r) => r.exited()));
}
