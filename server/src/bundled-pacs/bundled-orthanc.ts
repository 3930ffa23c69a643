/**
 * The bundled PACS: one Orthanc on this machine's loopback, for `npm start`, the tests and the
 * benchmarks (a hospital's own PACS is reached over DICOMweb instead). Writes a generated
 * configuration into a data folder, starts `/usr/sbin/Orthanc` (or env ORTHANC_BIN) with the
 * DICOMweb plugin, waits until `GET /system` answers, and stops it (SIGTERM, then SIGKILL after a
 * grace period).
 *
 * Orthanc runs under a tiny `sh` watchdog in its own process group: when this Node process dies for
 * any reason (even SIGKILL), the watchdog's stdin pipe closes and it terminates Orthanc, so a
 * crashed test run does not leave Orthanc behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePort, isPortFree } from './free-port.js';
import { findDicomWebPlugin, findOrthancBinary, orthancConfig } from './orthanc-config.js';

/** Options of {@link startBundledOrthanc}. */
export interface BundledOrthancOptions {
  /** Folder for the configuration, the storage and the index (created if missing). */
  readonly dataDir: string;
  /** HTTP port; 0 or undefined picks a free one. */
  readonly httpPort?: number | undefined;
  /** Enables Orthanc's DICOM listener on this port; off when undefined. */
  readonly dicomPort?: number | undefined;
  /** With `password`, turns on HTTP basic authentication for this single user. */
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** Orthanc's `Name` (shown in its explorer). */
  readonly name?: string | undefined;
  /** How long to wait for `GET /system`, default 30 s. */
  readonly startTimeoutMs?: number | undefined;
  /** Time between SIGTERM and SIGKILL on stop, default 10 s. */
  readonly stopGraceMs?: number | undefined;
  /** Receives every line Orthanc logs. */
  readonly onLog?: ((line: string) => void) | undefined;
}

/** A running bundled Orthanc. */
export interface BundledOrthanc {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `url + '/dicom-web'` */
  readonly dicomWebUrl: string;
  readonly dataDir: string;
  readonly configPath: string;
  readonly httpPort: number;
  /** Credentials when authentication is on. */
  readonly auth: { readonly username: string; readonly password: string } | undefined;
  /** Process id of the watchdog (leader of Orthanc's process group). */
  readonly pid: number;
  /** Process id of Orthanc itself, once the watchdog reported it. */
  readonly orthancPid: () => number | undefined;
  /** True once the Orthanc process group has exited. */
  readonly exited: () => boolean;
  /** The last lines Orthanc logged. */
  readonly logTail: () => readonly string[];
  /** Settles when the Orthanc process group has exited, with the watchdog's exit status. */
  readonly exit: Promise<OrthancExit>;
  /**
   * Stops Orthanc (idempotent): SIGTERM, then SIGKILL to its process group after `graceMs`
   * (default: the start option `stopGraceMs`, 10 s); 0 kills at once. Resolves once it exited.
   */
  stop(options?: { readonly graceMs?: number }): Promise<void>;
}

/** How Orthanc ended: the exit code (128 + n when signal n killed Orthanc itself) or the signal. */
export interface OrthancExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Orthanc did not come up; `logTail` holds its last log lines. */
export class OrthancStartError extends Error {
  readonly logTail: readonly string[];
  constructor(message: string, logTail: readonly string[]) {
    super(logTail.length > 0 ? `${message}\nLast lines logged by Orthanc:\n${logTail.join('\n')}` : message);
    this.name = 'OrthancStartError';
    this.logTail = logTail;
  }
}

/** What Orthanc answers to `POST /instances`. */
export interface OrthancUploadResult {
  readonly ID: string;
  readonly ParentPatient: string;
  readonly ParentStudy: string;
  readonly ParentSeries: string;
  readonly Path: string;
  /** `Success`, or `AlreadyStored` for a duplicate. */
  readonly Status: string;
}

/** Orthanc refused an upload; `status` and `body` are its answer. */
export class OrthancUploadError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`Orthanc refused the DICOM file (HTTP ${status}): ${body.replace(/\s+/g, ' ').slice(0, 400)}`);
    this.name = 'OrthancUploadError';
    this.status = status;
    this.body = body;
  }
}

/**
 * Runs "$0 $@" (Orthanc and its config) in the background, prints its pid (a line matching
 * {@link WATCHDOG_PID_LINE}), forwards TERM/INT/HUP to it, terminates it when stdin reaches EOF (our
 * process died or stop() closed it), and exits with Orthanc's status. The tests run other services
 * (Redis, HAProxy) under the same watchdog.
 */
export const WATCHDOG = [
  // Non-interactive sh gives background jobs /dev/null as stdin: keep the real one on fd 3.
  'exec 3<&0',
  '"$0" "$@" 3<&- </dev/null &',
  'pid=$!',
  'echo "watched-pid $pid"',
  "trap 'kill -TERM $pid 2>/dev/null' TERM INT HUP",
  '(cat <&3 >/dev/null; kill -TERM $pid 2>/dev/null) &',
  'exec 3<&-',
  'wait $pid',
  'status=$?',
  'while kill -0 $pid 2>/dev/null; do wait $pid; status=$?; done',
  'exit $status',
].join('\n');

/** The watchdog's line with the watched process's pid. */
export const WATCHDOG_PID_LINE = /^watched-pid (\d+)$/;

const LOG_LINES = 40;

function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Collects a child's output into lines, keeping the last {@link LOG_LINES}. */
function collectLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line.replace(/\r$/, ''));
    });
    stream.on('end', () => {
      if (pending !== '') onLine(pending);
      pending = '';
    });
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolvePromise(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolvePromise(true);
    };
    child.once('exit', onExit);
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** One attempt at starting Orthanc on a given port. */
async function startOnce(options: BundledOrthancOptions, httpPort: number): Promise<BundledOrthanc> {
  const [binary, plugin] = await Promise.all([findOrthancBinary(), findDicomWebPlugin()]);
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const auth = options.username !== undefined && options.password !== undefined ? { username: options.username, password: options.password } : undefined;
  const name = options.name ?? 'GLMedSA';
  const config = orthancConfig({ name, dataDir, httpPort, dicomPort: options.dicomPort, username: auth?.username, password: auth?.password, dicomWebPlugin: plugin });
  const configPath = join(dataDir, 'orthanc.json');
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });

  const child = spawn('/bin/sh', ['-c', WATCHDOG, binary, configPath], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd: dataDir });
  const lines: string[] = [];
  let orthancPid: number | undefined;
  let listening = false;
  collectLines(child, (line) => {
    const match = WATCHDOG_PID_LINE.exec(line);
    if (match && orthancPid === undefined) {
      orthancPid = Number(match[1]);
      return;
    }
    if (line.includes(`HTTP server listening on port: ${httpPort}`)) listening = true;
    lines.push(line);
    if (lines.length > LOG_LINES) lines.shift();
    options.onLog?.(line);
  });
  const spawnError = new Promise<Error>((resolvePromise) => child.once('error', resolvePromise));
  child.stdin?.on('error', () => undefined); // EPIPE when the watchdog is gone
  const pid = child.pid;
  if (pid === undefined) throw new OrthancStartError(`could not start /bin/sh to run ${binary}: ${(await spawnError).message}`, []);

  const onProcessExit = (): void => killGroup(pid, 'SIGTERM');
  process.on('exit', onProcessExit);
  let exited = false;
  let settleExit: (e: OrthancExit) => void = () => undefined;
  const exit = new Promise<OrthancExit>((r) => (settleExit = r));
  child.once('exit', (code, signal) => {
    exited = true;
    settleExit({ code, signal });
    process.off('exit', onProcessExit);
    child.stdin?.destroy();
  });

  const url = `http://127.0.0.1:${httpPort}`;
  const graceMs = options.stopGraceMs ?? 10_000;
  let stopping: Promise<void> | undefined;
  const stop = (stopOptions: { readonly graceMs?: number } = {}): Promise<void> => {
    stopping ??= (async () => {
      if (exited) return;
      const grace = stopOptions.graceMs ?? graceMs;
      if (grace > 0) child.kill('SIGTERM');
      if (grace <= 0 || !(await waitForExit(child, grace))) {
        killGroup(pid, 'SIGKILL');
        await waitForExit(child, 5_000);
      }
      child.stdin?.destroy();
    })();
    return stopping;
  };
  const handle: BundledOrthanc = {
    url,
    dicomWebUrl: `${url}/dicom-web`,
    dataDir,
    configPath,
    httpPort,
    auth,
    pid,
    orthancPid: () => orthancPid,
    exited: () => exited,
    logTail: () => [...lines],
    exit,
    stop,
  };

  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const headers: Record<string, string> = auth ? { authorization: basicAuth(auth.username, auth.password) } : {};
  // Ready once GET /system answers with our Name *and* it is our Orthanc answering: its log says it
  // listens on the port (or, should the log format differ, it has stayed up for a while): another
  // Orthanc already on the port would answer too, while ours is failing to bind.
  let answeredSince: number | undefined;
  for (;;) {
    if (exited) {
      await stop();
      const portTaken = lines.some((line) => /already in use/i.test(line));
      throw new OrthancStartError(
        portTaken
          ? `Orthanc could not listen on port ${httpPort}: the port is already in use`
          : `Orthanc (${binary}) exited during start-up (exit code ${String(child.exitCode)})`,
        lines,
      );
    }
    try {
      const response = await fetch(`${url}/system`, { headers, signal: AbortSignal.timeout(1000) });
      const body: unknown = await response.json().catch(() => undefined);
      const answeredName = typeof body === 'object' && body !== null ? (body as { Name?: unknown }).Name : undefined;
      if (response.ok && answeredName === name) {
        answeredSince ??= Date.now();
        if (!exited && (listening || Date.now() - answeredSince > 2_000)) return handle;
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new OrthancStartError(`Orthanc did not answer GET ${url}/system within ${timeoutMs} ms`, lines);
    }
    await sleep(100);
  }
}

/**
 * Starts Orthanc and waits until it answers. With `httpPort` 0 or undefined a free port is picked,
 * and a start that fails because the port was taken in the meantime is retried on another port.
 * @throws OrthancNotInstalled when the binary or the DICOMweb plugin is missing
 * @throws OrthancStartError when Orthanc exits or does not answer in time
 */
export async function startBundledOrthanc(options: BundledOrthancOptions): Promise<BundledOrthanc> {
  const pick = options.httpPort === undefined || options.httpPort === 0;
  if (!pick && !(await isPortFree(options.httpPort!))) {
    throw new OrthancStartError(`cannot start Orthanc: port ${options.httpPort} is already in use`, []);
  }
  for (let attempt = 1; ; attempt++) {
    const port = pick ? await findFreePort() : options.httpPort!;
    try {
      return await startOnce(options, port);
    } catch (error) {
      const portTaken = error instanceof OrthancStartError && /already in use/.test(error.message);
      if (!pick || !portTaken || attempt >= 3) throw error;
    }
  }
}

/** Where to upload: a handle, or a base URL with optional credentials. */
export type OrthancTarget = BundledOrthanc | string | { readonly url: string; readonly auth?: { readonly username: string; readonly password: string } | undefined };

/**
 * Stores one DICOM Part 10 file in Orthanc (`POST /instances`) and returns Orthanc's answer.
 * @throws OrthancUploadError when Orthanc refuses the file (e.g. 400 for a truncated file)
 */
export async function uploadDicom(target: OrthancTarget, bytes: Uint8Array, timeoutMs = 30_000): Promise<OrthancUploadResult> {
  const base = typeof target === 'string' ? target : target.url;
  const auth = typeof target === 'string' ? undefined : target.auth;
  const headers: Record<string, string> = { 'content-type': 'application/dicom', accept: 'application/json' };
  if (auth) headers['authorization'] = basicAuth(auth.username, auth.password);
  const response = await fetch(`${base.replace(/\/+$/, '')}/instances`, { method: 'POST', headers, body: new Uint8Array(bytes), signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (!response.ok) throw new OrthancUploadError(response.status, text);
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { ID?: unknown }).ID !== 'string') {
    throw new OrthancUploadError(response.status, `unexpected answer: ${text}`);
  }
  return parsed as OrthancUploadResult;
}
