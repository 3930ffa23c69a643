/**
 * A service process for a test (redis-server, haproxy) that cannot outlive the test: it runs under
 * the bundled Orthanc's `sh` watchdog, which stops it when the test process's pipe to the watchdog
 * closes, whatever ended the test (even kill -9). `pid` is the service's own process id, for tests
 * that kill it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { WATCHDOG, WATCHDOG_PID_LINE } from '../../src/bundled-pacs/bundled-orthanc.js';

export interface GuardedProcess {
  /** The service's process id. */
  pid: number;
  /** Its last output lines. */
  output(): string;
  /** Settles when it has exited. */
  exited: Promise<void>;
  /** Sends a signal to the service itself. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export async function spawnGuarded(binary: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<GuardedProcess> {
  const child: ChildProcess = spawn('/bin/sh', ['-c', WATCHDOG, binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...(o.cwd ? { cwd: o.cwd } : {}), env: o.env ?? process.env });
  child.stdin!.on('error', () => undefined);
  const lines: string[] = [];
  let resolvePid: (pid: number) => void = () => undefined;
  const pidKnown = new Promise<number>((r) => (resolvePid = r));
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      const m = WATCHDOG_PID_LINE.exec(line);
      if (m) resolvePid(Number(m[1]));
      else lines.push(line);
      if (lines.length > 60) lines.shift();
    });
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pid = await Promise.race([pidKnown, exited.then(() => Promise.reject(new Error(`${binary} did not start: ${lines.join('\n')}`)))]);
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone already */
    }
  };
  return {
    pid,
    output: () => lines.join('\n'),
    exited,
    kill,
    async stop(graceMs = 5000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
