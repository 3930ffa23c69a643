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

export type ErrorKind = 'unreachable' | 'unauthorised' | 'busy' | 'unsupported' | 'pacs' | 'bad-request' | 'server';

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

const UNREACHABLE = 'The segmentation server is unreachable: check that it is running and that the network allows the viewer to reach it.';

type Sent<T> = { ok: T } | { failed: ServerError; transient: boolean };

export class GlmedsaClient {
  constructor(private readonly o: ClientOptions) {}

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, image?: Parameters<typeof imageRouteKey>[0]): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const sent = await this.send<T>(method, path, body, signal, image);
      if ('ok' in sent) return sent.ok;
      const delay = RETRY_DELAYS_MS[attempt];
      if (!sent.transient || delay === undefined || signal?.aborted) throw sent.failed;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async send<T>(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal | undefined, image: Parameters<typeof imageRouteKey>[0] | undefined): Promise<Sent<T>> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (image) headers[IMAGE_ROUTE_HEADER] = imageRouteKey(image);
    const auth = this.o.authorization();
    if (auth) headers['Authorization'] = auth;
    const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 120_000);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(`${this.o.baseUrl.replace(/\/$/, '')}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: combined,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      // A refused or reset connection may pass (a replica going away); a timeout would only repeat.
      return { failed: new ServerError('unreachable', UNREACHABLE), transient: !timeout.aborted };
    }
    if (!res.ok) {
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
      return { failed: describeFailure(res.status, problem, res.headers.get('Retry-After')), transient: fromProxy };
    }
    return { ok: (await res.json()) as T };
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
