/**
 * The browser's client of the GLMed-SA server: JSON over fetch, the caller's authorisation on
 * every request, and every failure turned into a ServerError whose message is a plain sentence
 * for the panel (unreachable, not authorised, busy, image not supported, PACS unavailable).
 *
 * Behind a load balancer (several server replicas): a request about an image names it in the
 * routing header, so the replica that encoded the image answers; and since every call here may be
 * sent twice without harm (reads, clicks, warm-ups), a connection that failed or a proxy's
 * 502/503/504 (a replica that went away) is retried a few times, quickly, before it is reported.
 */
import { type EmbeddingRequestInput as EmbeddingRequest, type EmbeddingResponse, IMAGE_ROUTE_HEADER, type ModelsResponse, type Problem, type SegmentRequestInput as SegmentRequest, type SegmentResponse, imageRouteKey } from '@glmedsa/server/api';

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

/** Pauses before each retry of a request whose connection failed or whose proxy found no replica. */
const RETRY_DELAYS_MS = [150, 500, 1500];

export const UNREACHABLE = 'The segmentation server is unreachable: check that it is running and that the network allows the viewer to reach it.';

export interface RequestOptions {
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
  /** The image the request is about: named in the routing header, so a balancer picks the replica that encoded it. */
  image?: Parameters<typeof imageRouteKey>[0];
  /**
   * The request may be sent again without harm (reads, clicks, warm-ups): a refused or reset
   * connection, or a proxy's bare 502/503/504 (a replica that went away), is retried a few times,
   * quickly, before it is reported.
   */
  idempotent?: boolean;
}

type Sent = { ok: Response } | { failed: ServerError; transient: boolean };

/**
 * One request to the server with the caller's authorisation and a time limit; answers the response
 * when it is a success, and otherwise throws a ServerError whose message is a sentence: unreachable
 * (no answer, the time limit, or a proxy's bare 502/504 in front of a stopped server) or what the
 * server's problem says.
 */
export async function request(o: ClientOptions, path: string, r: RequestOptions = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const sent = await sendOnce(o, path, r);
    if ('ok' in sent) return sent.ok;
    const delay = RETRY_DELAYS_MS[attempt];
    if (!r.idempotent || !sent.transient || delay === undefined || r.signal?.aborted) throw sent.failed;
    await new Promise((done) => setTimeout(done, delay));
  }
}

async function sendOnce(o: ClientOptions, path: string, r: RequestOptions): Promise<Sent> {
  const headers: Record<string, string> = { Accept: r.accept ?? 'application/json' };
  if (r.body !== undefined) headers['Content-Type'] = 'application/json';
  if (r.image) headers[IMAGE_ROUTE_HEADER] = imageRouteKey(r.image);
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
    // A refused or reset connection may pass (a replica going away); a timeout would only repeat.
    return { failed: new ServerError('unreachable', UNREACHABLE), transient: !timeout?.aborted };
  }
  if (res.ok) return { ok: res };
  let problem: Problem | null = null;
  try {
    problem = (await res.json()) as Problem;
  } catch {
    problem = null;
  }
  // A proxy in front of a stopped server answers 502/504 (and 503 when it has no server left)
  // without a problem body: that is "unreachable" (not the PACS), and worth a quick retry.
  const fromProxy = !problem?.title && (res.status === 502 || res.status === 503 || res.status === 504);
  if (fromProxy && res.status !== 503) return { failed: new ServerError('unreachable', UNREACHABLE, res.status), transient: true };
  return { failed: (r.describe ?? describeFailure)(res.status, problem, res.headers.get('Retry-After')), transient: fromProxy };
}

export class GlmedsaClient {
  constructor(private readonly o: ClientOptions) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, image?: RequestOptions['image']): Promise<T> {
    const res = await request(this.o, path, { method, body, idempotent: true, ...(signal ? { signal } : {}), ...(image ? { image } : {}) });
    return (await res.json()) as T;
  }

  health(): Promise<{ status?: string }> {
    return this.call('GET', '/healthz');
  }

  models(): Promise<ModelsResponse> {
    return this.call('GET', '/v1/models');
  }

  warm(req: EmbeddingRequest, signal?: AbortSignal): Promise<EmbeddingResponse> {
    return this.call('POST', '/v1/embeddings', req, signal, req.image);
  }

  segment(req: SegmentRequest, signal?: AbortSignal): Promise<SegmentResponse> {
    return this.call('POST', '/v1/segment', req, signal, req.image);
  }
}
