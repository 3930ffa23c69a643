/**
 * The browser's client of the GLMed-SA server: JSON over fetch, the caller's authorisation on
 * every request, and every failure turned into a ServerError whose message is a plain sentence
 * for the panel (unreachable, not authorised, busy, image not supported, PACS unavailable).
 */
import type { EmbeddingRequestInput as EmbeddingRequest, EmbeddingResponse, ModelsResponse, Problem, SegmentRequestInput as SegmentRequest, SegmentResponse } from '@glmedsa/server/api';

type ErrorKind = 'unreachable' | 'unauthorised' | 'busy' | 'unsupported' | 'pacs' | 'bad-request' | 'server';

export class ServerError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ServerError';
  }
}

/** The server's own explanation, as a sentence of its own after ours (ending with a full stop). */
function explanation(detail: string): string {
  const text = detail.trim();
  return text ? ` ${text}${/[.!?]$/.test(text) ? '' : '.'}` : '';
}

/** Which sentence a failed answer deserves. */
export function describeFailure(status: number, problem: Partial<Problem> | null, retryAfter: string | null): ServerError {
  const detail = problem?.detail ? explanation(problem.detail) : '';
  const retry = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (status === 401) return new ServerError('unauthorised', `The segmentation server did not accept your credentials: you are not authorised to use it.${detail}`, status);
  if (status === 403) return new ServerError('unauthorised', `You are signed in but not authorised for this action on the segmentation server.${detail}`, status);
  if (status === 503 || status === 429) {
    return new ServerError('busy', `The segmentation server is busy; retrying${retry ? ` in ${retry} s` : ''}.`, status, retry ?? 1);
  }
  if (status === 422 || status === 415) return new ServerError('unsupported', `This image is not supported by the model.${detail}`, status);
  if (status === 502 || status === 504) return new ServerError('pacs', `The PACS is unavailable, so the server cannot read this image.${detail}`, status);
  if (status === 400 || status === 404 || status === 413) return new ServerError('bad-request', `The server refused the request.${detail}`, status);
  return new ServerError('server', `The segmentation server failed (HTTP ${status}).${detail}`, status);
}

export interface ClientOptions {
  /** Base URL of the server ('' for the viewer's own origin). */
  baseUrl: string;
  /** The Authorization header value to send, or null for none; read on every request (the user may sign in later). */
  authorization: () => string | null;
  /** Per-request time limit. */
  timeoutMs?: number;
}

export const UNREACHABLE = 'The segmentation server is unreachable: check that it is running and that the network allows the viewer to reach it.';

interface RequestOptions {
  method?: 'GET' | 'POST';
  /** Sent as JSON. */
  body?: unknown;
  /** The caller's own abort: passed through as it is, never turned into a sentence. */
  signal?: AbortSignal;
  accept?: string;
  /** The time limit when the client options set none; null for none at all (a stream). */
  timeoutMs?: number | null;
  /** Which sentence a failed answer deserves (default describeFailure). */
  describe?: typeof describeFailure;
}

/**
 * One request to the server with the caller's authorisation and a time limit; answers the response
 * when it is a success, and otherwise throws a ServerError whose message is a sentence: unreachable
 * (no answer, the time limit, or a proxy's bare 502/504 in front of a stopped server) or what the
 * server's problem says.
 */
export async function request(o: ClientOptions, path: string, r: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: r.accept ?? 'application/json' };
  if (r.body !== undefined) headers['Content-Type'] = 'application/json';
  const auth = o.authorization();
  if (auth) headers['Authorization'] = auth;
  const limit = r.timeoutMs === null ? null : o.timeoutMs ?? r.timeoutMs ?? 120_000;
  const timeout = limit === null ? undefined : AbortSignal.timeout(limit);
  const signal = r.signal && timeout ? AbortSignal.any([r.signal, timeout]) : r.signal ?? timeout;
  let res: Response;
  try {
    res = await fetch(`${o.baseUrl.replace(/\/$/, '')}${path}`, {
      method: r.method ?? 'GET',
      headers,
      body: r.body === undefined ? undefined : JSON.stringify(r.body),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (r.signal?.aborted) throw err;
    throw new ServerError('unreachable', UNREACHABLE);
  }
  if (res.ok) return res;
  let problem: Problem | null = null;
  try {
    problem = (await res.json()) as Problem;
  } catch {
    problem = null;
  }
  // A proxy in front of a stopped server answers 502/504 without a problem body: that is "unreachable", not the PACS.
  if ((res.status === 502 || res.status === 504) && !problem?.title) throw new ServerError('unreachable', UNREACHABLE, res.status);
  throw (r.describe ?? describeFailure)(res.status, problem, res.headers.get('Retry-After'));
}

export class GlmedsaClient {
  constructor(private readonly o: ClientOptions) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await request(this.o, path, { method, body, ...(signal ? { signal } : {}) });
    return (await res.json()) as T;
  }

  health(): Promise<{ status?: string }> {
    return this.call('GET', '/healthz');
  }

  models(): Promise<ModelsResponse> {
    return this.call('GET', '/v1/models');
  }

  warm(req: EmbeddingRequest, signal?: AbortSignal): Promise<EmbeddingResponse> {
    return this.call('POST', '/v1/embeddings', req, signal);
  }

  segment(req: SegmentRequest, signal?: AbortSignal): Promise<SegmentResponse> {
    return this.call('POST', '/v1/segment', req, signal);
  }
}
