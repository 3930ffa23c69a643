/**
 * One HTTP GET to the PACS over Node's fetch (undici), with a deadline covering headers and body,
 * a cap on the body size, and network failures mapped to typed errors: refused/reset connections
 * and bodies cut short become {@link PacsUnavailable}, the deadline becomes {@link PacsTimeout}.
 * Never hangs past the deadline.
 */
import { PacsAuthRejected, PacsBadResponse, PacsNotFound, PacsTimeout, PacsUnavailable, type DicomError } from './errors.js';

/** The fetch function used (injectable for tests). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** How to reach the PACS. */
export interface PacsHttpOptions {
  /** Deadline for one request, headers and body together, in milliseconds. */
  readonly timeoutMs: number;
  /** Largest body accepted, in bytes (after content decoding). */
  readonly maxResponseBytes: number;
  /** Extra headers (authorisation). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the request from outside (e.g. the HTTP client went away); its reason is rethrown. */
  readonly signal?: AbortSignal | undefined;
  readonly fetch?: FetchLike;
}

/** A fully read answer, whatever its status. */
export interface PacsResponse {
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

/**
 * Network error codes after which a GET is worth repeating: a keep-alive socket the PACS closed
 * under us, before or while its answer was read (a GET is idempotent, so reading it again is safe).
 */
const RETRYABLE = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);
/** Tries of one GET in all when the connection is lost (the deadline still covers them all). */
const MAX_ATTEMPTS = 3;

function errorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error);
  return code === undefined ? message : `${message} (${code})`;
}

/** Reads a body stream to the end, refusing more than `max` bytes. */
async function readBody(response: Response, max: number, url: string): Promise<Uint8Array> {
  const declared = response.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new PacsBadResponse(`${url}: answer of ${declared} bytes exceeds the limit of ${max} bytes`);
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new PacsBadResponse(`${url}: answer exceeds the limit of ${max} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * GETs `url` and reads the whole body. Resolves with any HTTP status; rejects with
 * {@link PacsTimeout}, {@link PacsUnavailable} or {@link PacsBadResponse} (body too large), or with
 * the caller's abort reason when `options.signal` fires.
 */
export async function pacsGet(url: string, accept: string, options: PacsHttpOptions): Promise<PacsResponse> {
  const doFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const remaining = options.timeoutMs - (Date.now() - started);
    if (remaining <= 0) throw new PacsTimeout(`GET ${url}: no answer within ${options.timeoutMs} ms`);
    const deadline = AbortSignal.timeout(remaining);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    let gotResponse = false;
    try {
      const response = await doFetch(url, { method: 'GET', headers: { ...options.headers, accept }, signal, redirect: 'error' });
      gotResponse = true;
      const body = await readBody(response, options.maxResponseBytes, url);
      return { url, status: response.status, headers: response.headers, body };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (deadline.aborted) {
        throw new PacsTimeout(`GET ${url}: no complete answer within ${options.timeoutMs} ms`, { cause: error });
      }
      if (error instanceof PacsBadResponse) throw error;
      if (attempt < MAX_ATTEMPTS && RETRYABLE.has(errorCode(error) ?? '')) continue;
      throw new PacsUnavailable(
        gotResponse ? `GET ${url}: connection lost while reading the answer: ${describe(error)}` : `GET ${url}: ${describe(error)}`,
        { cause: error },
      );
    }
  }
}

/** The `Message`/`Details` of an Orthanc JSON error body, or a short excerpt of any other body. */
export function errorSummary(response: PacsResponse): string {
  const text = new TextDecoder().decode(response.body.subarray(0, 2000));
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      const { Message, Details } = parsed as { Message?: unknown; Details?: unknown };
      const parts = [Message, Details].filter((p): p is string => typeof p === 'string');
      if (parts.length > 0) return parts.join(': ');
    }
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** The typed error for a non-2xx status that has no more specific meaning for the caller. */
export function statusError(response: PacsResponse, what: string): DicomError {
  const detail = `${what}: PACS answered HTTP ${response.status} for GET ${response.url}: ${errorSummary(response)}`;
  switch (response.status) {
    case 404:
    case 410:
      return new PacsNotFound(detail);
    case 401:
    case 403:
      return new PacsAuthRejected(detail);
    case 502:
    case 503:
      return new PacsUnavailable(detail);
    case 504:
      return new PacsTimeout(detail);
    default:
      return new PacsBadResponse(detail);
  }
}
