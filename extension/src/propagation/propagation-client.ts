/**
 * The server's propagations, for the viewer: start one (POST /v1/propagations), follow its events
 * (GET /v1/propagations/:id/events over fetch streaming, with the Authorization header), cancel it,
 * read its record. Answers and events are checked against the API module's schemas; failures are
 * ServerErrors whose message is a sentence (a series that is not a volume, a seed the server
 * refuses, a busy server with its Retry-After).
 *
 * Behind a load balancer, every request about a propagation names its seed image in the routing
 * header: the replica that made the seed's mask runs the propagation and holds its record and
 * events, so the start, the events, the record and the cancel all reach that replica.
 */
import {
  type PropagationProgressEvent,
  PropagationProgressEventSchema,
  type PropagationRecord,
  PropagationRecordSchema,
  type PropagationRequestInput,
  type PropagationSliceEvent,
  PropagationSliceEventSchema,
  type PropagationSummary,
  PropagationSummarySchema,
} from '@glmedsa/server/api';
import type { z } from 'zod';
import { type ClientOptions, type RequestOptions, ServerError, describeFailure, request } from '../client.js';
import { type StreamEnd, type StreamEvent, followEvents } from '../event-stream.js';

export type PropagationEvent =
  | { type: 'state' | 'end'; summary: PropagationSummary }
  | { type: 'slice'; slice: PropagationSliceEvent['slice'] }
  | { type: 'progress'; progress: PropagationProgressEvent['progress'] };

/** The sentence a refused propagation deserves: the server's own `detail` says which and why. */
export function describePropagationFailure(status: number, problem: Parameters<typeof describeFailure>[1], retryAfter: string | null): ServerError {
  const detail = problem?.detail?.trim();
  const said = detail ? ` ${detail}${/[.!?]$/.test(detail) ? '' : '.'}` : '';
  if (status === 422) return new ServerError('unsupported', `This series cannot be propagated through: it is not a volume.${said}`, status);
  if (status === 409) return new ServerError('bad-request', `The server refused the propagation's seed.${said}`, status);
  if (status === 404) return new ServerError('bad-request', `The server no longer knows that mask or series.${said}`, status);
  return describeFailure(status, problem, retryAfter);
}

/** One stream event as a propagation event, or null when it is not one. */
function propagationEvent(e: StreamEvent): PropagationEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(e.data);
  } catch {
    return null;
  }
  if (e.type === 'state' || e.type === 'end') {
    const s = PropagationSummarySchema.safeParse(data);
    return s.success ? { type: e.type, summary: s.data } : null;
  }
  if (e.type === 'slice') {
    const s = PropagationSliceEventSchema.safeParse(data);
    return s.success ? { type: 'slice', slice: s.data.slice } : null;
  }
  if (e.type === 'progress') {
    const s = PropagationProgressEventSchema.safeParse(data);
    return s.success ? { type: 'progress', progress: s.data.progress } : null;
  }
  return null;
}

type SeedImage = NonNullable<RequestOptions['image']>;

/** Propagations whose seed image is remembered for routing (the oldest are forgotten past this). */
const REMEMBERED = 64;

export class PropagationClient {
  /** Each propagation's seed image, for the routing header of the requests about it. */
  private readonly seeds = new Map<string, SeedImage>();

  constructor(private readonly o: ClientOptions) {}

  private async call<S extends z.ZodType>(schema: S, method: 'GET' | 'POST', path: string, image: SeedImage | undefined, body?: unknown): Promise<z.infer<S>> {
    const res = await request(this.o, path, { method, body, timeoutMs: 60_000, describe: describePropagationFailure, ...(image ? { image } : {}) });
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) throw new ServerError('server', `The segmentation server answered ${method} ${path} in a form this viewer does not understand (is the server another version?).`, res.status);
    return parsed.data;
  }

  private route(id: string): Partial<Pick<RequestOptions, 'image'>> {
    const image = this.seeds.get(id);
    return image ? { image } : {};
  }

  async start(body: PropagationRequestInput): Promise<PropagationRecord> {
    const seed: SeedImage = { sopInstanceUID: body.seed.sopInstanceUID, frame: body.seed.frame ?? 1 };
    const record = await this.call(PropagationRecordSchema, 'POST', '/v1/propagations', seed, body);
    this.seeds.set(record.id, seed);
    if (this.seeds.size > REMEMBERED) this.seeds.delete(this.seeds.keys().next().value!);
    return record;
  }

  get(id: string): Promise<PropagationRecord> {
    return this.call(PropagationRecordSchema, 'GET', `/v1/propagations/${encodeURIComponent(id)}`, this.seeds.get(id));
  }

  /** Asks the server to stop; a propagation that has already ended (409) is not an error here. */
  async cancel(id: string): Promise<void> {
    try {
      await request(this.o, `/v1/propagations/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: {}, timeoutMs: 30_000, describe: describePropagationFailure, ...this.route(id) });
    } catch (err) {
      if (err instanceof ServerError && err.status === 409) return;
      throw err;
    }
  }

  /**
   * Follows the events until 'end' ('ended') or until the stream breaks or `signal` aborts it
   * ('dropped'; closing the stream early tells the server nobody watches any more).
   */
  events(id: string, onEvent: (e: PropagationEvent) => void, signal: AbortSignal): Promise<StreamEnd> {
    return followEvents(this.o, `/v1/propagations/${encodeURIComponent(id)}/events`, signal, { describe: describePropagationFailure, ...this.route(id) }, propagationEvent, onEvent);
  }
}
