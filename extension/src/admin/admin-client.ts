/**
 * The fine-tuning side of the server, for the admin panel: who the caller is, the adapter
 * versions of a model and their activation, jobs (start, list, cancel) and a job's progress as
 * server-sent events read with fetch streaming (EventSource cannot send the Authorization
 * header). Answers are checked against the API module's schemas; failures are ServerErrors whose
 * message is a sentence.
 */
import {
  type AdapterListResponse,
  AdapterListResponseSchema,
  type JobEvent,
  JobEventSchema,
  type JobListResponse,
  JobListResponseSchema,
  type JobRecord,
  JobRecordSchema,
  type ModelsResponse,
  ModelsResponseSchema,
  type PacsJobRequestInput,
  type Problem,
  type WhoamiResponse,
  WhoamiResponseSchema,
} from '@glmedsa/server/api';
import type { z } from 'zod';
import { type ClientOptions, ServerError, describeFailure } from '../client.js';

const UNREACHABLE = 'The segmentation server is unreachable: check that it is running and that the network allows the viewer to reach it.';

/** How an events stream ended: the job finished ('end'), or the connection dropped before (poll instead). */
export type StreamEnd = 'ended' | 'dropped';

export class AdminClient {
  constructor(private readonly o: ClientOptions) {}

  private url(path: string): string {
    return `${this.o.baseUrl.replace(/\/$/, '')}${path}`;
  }

  private headers(accept: string, body: boolean): Record<string, string> {
    const h: Record<string, string> = { Accept: accept };
    if (body) h['Content-Type'] = 'application/json';
    const auth = this.o.authorization();
    if (auth) h['Authorization'] = auth;
    return h;
  }

  private async fail(res: Response): Promise<never> {
    let problem: Problem | null = null;
    try {
      problem = (await res.json()) as Problem;
    } catch {
      problem = null;
    }
    if ((res.status === 502 || res.status === 504) && !problem?.title) throw new ServerError('unreachable', UNREACHABLE, res.status);
    // A conflict (a version trained on another base, a job already finished) is the server's sentence.
    if (res.status === 409 && problem?.detail) throw new ServerError('bad-request', `The server refused: ${problem.detail}${/[.!?]$/.test(problem.detail) ? '' : '.'}`, 409);
    throw describeFailure(res.status, problem, res.headers.get('Retry-After'));
  }

  private async call<S extends z.ZodType>(schema: S, method: 'GET' | 'POST', path: string, body?: unknown): Promise<z.infer<S>> {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        headers: this.headers('application/json', body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 60_000),
      });
    } catch {
      throw new ServerError('unreachable', UNREACHABLE);
    }
    if (!res.ok) return this.fail(res);
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new ServerError('server', `The segmentation server answered ${method} ${path} in a form this viewer does not understand (is the server another version?).`, res.status);
    return parsed.data;
  }

  whoami(): Promise<WhoamiResponse> {
    return this.call(WhoamiResponseSchema, 'GET', '/v1/whoami');
  }

  models(): Promise<ModelsResponse> {
    return this.call(ModelsResponseSchema, 'GET', '/v1/models');
  }

  adapters(model: string): Promise<AdapterListResponse> {
    return this.call(AdapterListResponseSchema, 'GET', `/v1/models/${encodeURIComponent(model)}/adapters`);
  }

  activate(model: string, version: number): Promise<AdapterListResponse> {
    return this.call(AdapterListResponseSchema, 'POST', `/v1/models/${encodeURIComponent(model)}/adapters/${version}/activate`, {});
  }

  deactivate(model: string): Promise<AdapterListResponse> {
    return this.call(AdapterListResponseSchema, 'POST', `/v1/models/${encodeURIComponent(model)}/adapters/deactivate`, {});
  }

  jobs(): Promise<JobListResponse> {
    return this.call(JobListResponseSchema, 'GET', '/v1/jobs');
  }

  job(id: string): Promise<JobRecord> {
    return this.call(JobRecordSchema, 'GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  submit(body: PacsJobRequestInput): Promise<JobRecord> {
    return this.call(JobRecordSchema, 'POST', '/v1/jobs', body);
  }

  cancel(id: string): Promise<JobRecord> {
    return this.call(JobRecordSchema, 'POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`, {});
  }

  /**
   * Follows GET /v1/jobs/:id/events until the job ends ('ended') or the stream breaks ('dropped');
   * an answer that is not a stream (401, 404...) throws its sentence.
   */
  async events(id: string, onEvent: (e: JobEvent) => void, signal: AbortSignal): Promise<StreamEnd> {
    let res: Response;
    try {
      res = await fetch(this.url(`/v1/jobs/${encodeURIComponent(id)}/events`), { headers: this.headers('text/event-stream', false), signal });
    } catch {
      if (signal.aborted) return 'dropped';
      throw new ServerError('unreachable', UNREACHABLE);
    }
    if (!res.ok) return this.fail(res);
    if (!res.body) return 'dropped';
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'dropped';
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
          const event = parseEvent(block);
          if (!event) continue;
          onEvent(event);
          if (event.type === 'end') {
            await reader.cancel().catch(() => undefined);
            return 'ended';
          }
        }
      }
    } catch {
      return 'dropped';
    }
  }
}

/** One server-sent event block (`event:` and `data:` lines; comments ignored), or null when it is not a job event. */
export function parseEvent(block: string): JobEvent | null {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    const parsed = JobEventSchema.safeParse({ type, job: JSON.parse(data.join('\n')) });
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
