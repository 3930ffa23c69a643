/**
 * Keeps the bundled Orthanc running: an exit nobody asked for is reported (exit code and the last
 * lines Orthanc logged) and Orthanc is started again on the same port and data folder, after a
 * delay that doubles with each exit in a row (bounded); when it keeps dying, the supervisor gives
 * up with a sentence and the caller stops the product.
 */
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BundledOrthanc, type BundledOrthancOptions, type OrthancExit, startBundledOrthanc } from './bundled-orthanc.js';

/** How often and how fast Orthanc is restarted. */
interface RestartPolicy {
  /** Exits within `windowMs` tolerated before giving up (default 5). */
  readonly maxRestarts?: number;
  /** The window exits are counted in (default 10 minutes). */
  readonly windowMs?: number;
  /** Delay before the first restart, doubled for each further exit in the window (default 1 s). */
  readonly initialDelayMs?: number;
  /** The longest delay (default 30 s). */
  readonly maxDelayMs?: number;
}

export type SupervisorEvent =
  | { readonly type: 'exited'; readonly exit: OrthancExit; readonly logTail: readonly string[]; readonly restartInMs: number; readonly message: string }
  | { readonly type: 'restarted'; readonly restarts: number; readonly orthancPid: number | undefined; readonly message: string }
  | { readonly type: 'gave-up'; readonly exit: OrthancExit | undefined; readonly logTail: readonly string[]; readonly message: string };

/** A supervised Orthanc: a {@link BundledOrthanc} whose process may be replaced under the same URL. */
interface SupervisedOrthanc extends BundledOrthanc {
  /** The Orthanc running now. */
  readonly current: () => BundledOrthanc;
  /** How many times it was restarted. */
  readonly restarts: () => number;
  /** Settles (with the reason) if the supervisor gave up; never when stop() was called first. */
  readonly gaveUp: Promise<Error>;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** "exit code 137 (killed by SIGKILL)", "exit code 1", "signal SIGTERM". */
function describeExit(e: OrthancExit): string {
  if (e.signal) return `signal ${e.signal}`;
  if (e.code === null) return 'a failed start';
  if (e.code !== null && e.code > 128 && SIGNAL_NAMES.has(e.code - 128)) return `exit code ${e.code} (killed by ${SIGNAL_NAMES.get(e.code - 128)})`;
  return `exit code ${String(e.code)}`;
}

/**
 * Starts Orthanc (as {@link startBundledOrthanc}; a failed first start throws) and restarts it
 * whenever it exits without stop() being called. `onEvent` receives each exit, restart and the
 * giving up, with a sentence in `message`.
 */
export async function superviseOrthanc(options: BundledOrthancOptions & { readonly restart?: RestartPolicy; readonly onEvent?: (e: SupervisorEvent) => void }): Promise<SupervisedOrthanc> {
  const policy = { maxRestarts: 5, windowMs: 10 * 60_000, initialDelayMs: 1000, maxDelayMs: 30_000, ...options.restart };
  const emit = options.onEvent ?? (() => undefined);
  let current = await startBundledOrthanc(options);
  const port = current.httpPort;
  let stopped = false;
  let restarts = 0;
  const exits: number[] = [];
  let giveUp: (e: Error) => void = () => undefined;
  const gaveUp = new Promise<Error>((r) => (giveUp = r));
  let wake: () => void = () => undefined;

  const watch = async (): Promise<void> => {
    for (;;) {
      const exit = await current.exit;
      if (stopped) return;
      const logTail = current.logTail();
      const now = Date.now();
      exits.push(now);
      while (exits.length > 0 && exits[0]! < now - policy.windowMs) exits.shift();
      const how = describeExit(exit);
      if (exits.length > policy.maxRestarts) {
        const message =
          `Orthanc keeps stopping (${exits.length} times within ${Math.round(policy.windowMs / 1000)} s, last with ${how}); ` +
          `not restarting it again. Its last lines:\n${logTail.join('\n')}`;
        emit({ type: 'gave-up', exit, logTail, message });
        giveUp(new Error(message));
        return;
      }
      const delay = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (exits.length - 1));
      emit({
        type: 'exited',
        exit,
        logTail,
        restartInMs: delay,
        message: `Orthanc stopped unexpectedly (${how}); restarting it in ${(delay / 1000).toFixed(1)} s. Its last lines:\n${logTail.join('\n')}`,
      });
      await Promise.race([sleep(delay), new Promise<void>((r) => (wake = r))]);
      if (stopped) return;
      try {
        current = await startBundledOrthanc({ ...options, httpPort: port });
        if (stopped) {
          await current.stop();
          return;
        }
        restarts++;
        emit({ type: 'restarted', restarts, orthancPid: current.orthancPid(), message: `Orthanc is running again on port ${port} (restart ${restarts})` });
      } catch (err) {
        // Counts as another exit: the loop waits on a settled exit and tries again or gives up.
        const message = (err as Error).message;
        current = { ...current, exit: Promise.resolve({ code: null, signal: null }), logTail: () => message.split('\n').slice(-40) };
        if (stopped) return;
      }
    }
  };
  void watch();

  const handle: SupervisedOrthanc = {
    url: current.url,
    dicomWebUrl: current.dicomWebUrl,
    dataDir: current.dataDir,
    configPath: current.configPath,
    httpPort: port,
    auth: current.auth,
    get pid() {
      return current.pid;
    },
    orthancPid: () => current.orthancPid(),
    exited: () => current.exited(),
    logTail: () => current.logTail(),
    get exit() {
      return current.exit;
    },
    current: () => current,
    restarts: () => restarts,
    gaveUp,
    stop(stopOptions) {
      stopped = true;
      wake();
      return current.stop(stopOptions);
    },
  };
  return handle;
}
