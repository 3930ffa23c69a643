/**
 * Runs one `glmedsa` CLI command (models package) in a child process with a bounded thread
 * count: JSON lines on stdout are handed to `onLine`, the last lines of stderr kept for the
 * failure sentence. `stop()` sends SIGTERM (train: checkpoint, then exit CLI_EXIT.cancelled).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const CLI = path.join(path.dirname(require.resolve('@glmedsa/models/package.json')), 'bin', 'glmedsa.js');
const GUARD = fileURLToPath(new URL('./child-guard.js', import.meta.url));

export interface CliRun {
  pid: number;
  /** Exit status (a signal counts as 128 + its number). */
  exited: Promise<{ code: number; stderrTail: string }>;
  stop(): void;
}

export function runCli(args: string[], o: { threads: number; onLine?: (value: unknown) => void }): CliRun {
  const child: ChildProcess = spawn(process.execPath, ['--import', GUARD, CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OMP_NUM_THREADS: String(o.threads) },
  });
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    try {
      o.onLine?.(JSON.parse(line));
    } catch {
      /* not one of the event lines */
    }
  });
  const exited = new Promise<{ code: number; stderrTail: string }>((resolve) => {
    child.once('error', (err) => resolve({ code: 127, stderrTail: err.message }));
    child.once('close', (code, signal) => resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), stderrTail: tail.join('\n') }));
  });
  return { pid: child.pid ?? -1, exited, stop: () => void child.kill('SIGTERM') };
}

/** The last meaningful line of a child's stderr, as the reason a job failed. */
export function lastError(stderrTail: string): string {
  const lines = stderrTail.split('\n').map((l) => l.trim()).filter((l) => l && !/^at /.test(l) && !l.startsWith('\u001b'));
  const err = [...lines].reverse().find((l) => /error|cannot|not |must|refus|invalid/i.test(l));
  return (err ?? lines[lines.length - 1] ?? 'the training process ended without a message').replace(/^(\w*Error): /, '').slice(0, 500);
}
