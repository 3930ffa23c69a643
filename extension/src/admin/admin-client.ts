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
  type WhoamiResponse,
  WhoamiResponseSchema,
} from '@glmedsa/server/api';
import type { z } from 'zod';
import { type ClientOptions, ServerError, describeFailure, request } from '../client.js';
import { type StreamEnd, type StreamEvent, followEvents, parseEventBlock } from '../event-stream.js';

export class AdminClient {
  constructor(private readonly o: ClientOptions) {}

  private async call<S extends z.ZodType>(schema: S, method: 'GET' | 'POST', path: string, body?: unknown): Promise<z.infer<S>> {
    const res = await request(this.o, path, { method, body, timeoutMs: 60_000, describe: describeAdminFailure });
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
  events(id: string, onEvent: (e: JobEvent) => void, signal: AbortSignal): Promise<StreamEnd> {
    return followEvents(this.o, `/v1/jobs/${encodeURIComponent(id)}/events`, signal, { describe: describeAdminFailure }, jobEvent, onEvent);
  }
}

/** As describeFailure, but a conflict (a version trained on another base, a job already finished) is the server's own sentence. */
function describeAdminFailure(status: number, problem: Parameters<typeof describeFailure>[1], retryAfter: string | null): ServerError {
  if (status === 409 && problem?.detail) return new ServerError('bad-request', `The server refused: ${problem.detail}${/[.!?]$/.test(problem.detail) ? '' : '.'}`, 409);
  return describeFailure(status, problem, retryAfter);
}

/** One server-sent event block as a job event, or null when it is not one (a comment, another payload). */
export function parseEvent(block: string): JobEvent | null {
  const e = parseEventBlock(block);
  return e ? jobEvent(e) : null;
}

function jobEvent(e: StreamEvent): JobEvent | null {
  try {
    const parsed = JobEventSchema.safeParse({ type: e.type, job: JSON.parse(e.data) });
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
