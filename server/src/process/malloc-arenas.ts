/**
 * glibc's malloc gives threads that allocate at the same time arenas of their own, up to 8 per
 * core, and memory freed into one arena is not reused by another. The server's threads
 * (the HTTP thread, each inference worker, onnxruntime's threads in each worker, libuv's pool)
 * all allocate natively, so the process keeps more memory than it uses, more on bigger machines.
 * MALLOC_ARENA_MAX caps the arenas, but glibc reads it only when a process starts: so the
 * launchers (glmedsa-server, npm start) run the server as a child with MALLOC_ARENA_MAX set when
 * the operator has not set it, forward the stop signals to it, and exit as it exits.
 *
 * GLMEDSA_MALLOC_ARENA_MAX chooses the cap (default 2; 'glibc' keeps glibc's own default and
 * runs the server in this process); an operator's MALLOC_ARENA_MAX always wins.
 */
import { spawn } from 'node:child_process';

export const DEFAULT_MALLOC_ARENA_MAX = 2;

/** The cap to start the server with, or null to run it in this process as it is. */
export function arenaCapToApply(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): number | null {
  if (platform !== 'linux') return null; // only glibc reads it
  if (env['MALLOC_ARENA_MAX'] !== undefined && env['MALLOC_ARENA_MAX'] !== '') return null; // set by the operator, or already applied
  const wanted = (env['GLMEDSA_MALLOC_ARENA_MAX'] ?? '').trim();
  if (wanted === 'glibc') return null;
  if (wanted === '') return DEFAULT_MALLOC_ARENA_MAX;
  const n = Number(wanted);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new Error(`GLMEDSA_MALLOC_ARENA_MAX must be an integer from 1 to 1024 or 'glibc', got '${wanted}'`);
  }
  return n;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Set in the server child's environment by the launcher. */
const LAUNCHED = 'GLMEDSA_LAUNCHED';

/**
 * In the server child: when the launcher is gone without forwarding a signal (it was killed with
 * SIGKILL, or crashed), die the same way at once, as the server would have died in its place. Its
 * training children notice and checkpoint, and nothing is left holding the port. The channel does
 * not keep the process alive.
 */
function dieWithLauncher(): void {
  if (!process.channel) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel.unref();
}

/**
 * Runs `script` (with this process's arguments and Node options) in a child with
 * MALLOC_ARENA_MAX set, when {@link arenaCapToApply} says so; resolves with true once the child
 * has exited (this process then exits with its code), or false at once when nothing needs doing.
 */
export async function relaunchWithArenaCap(script: string): Promise<boolean> {
  const cap = arenaCapToApply();
  if (cap === null) {
    if (process.env[LAUNCHED] === '1') dieWithLauncher();
    return false;
  }
  const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    env: { ...process.env, MALLOC_ARENA_MAX: String(cap), [LAUNCHED]: '1' },
    // An IPC channel only so the child learns when this process is gone (see dieWithLauncher).
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    // Its own process group: a terminal's Ctrl-C reaches this process only, which forwards it
    // once (the server stops on the first signal and must not get a second one mid-shutdown).
    detached: true,
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = FORWARDED.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  });
  for (const [s, h] of handlers) process.off(s, h);
  if (signal) process.kill(process.pid, signal); // die as the child died
  process.exitCode = code ?? 1;
  return true;
}
