/**
 * The cluster's job records in Redis, readable from every replica. Each job is one key holding an
 * envelope: the record (the API's JobRecord), the record schema version it was written in, the
 * trainer that holds the job (`owner`, so a trainer that lost the job to another cannot overwrite
 * its record) and whether a cancellation was asked. A sorted set lists the jobs by creation time.
 *
 * Every change is a compare-and-set (a small Lua script: the new value is written only if the key
 * still holds the value it was computed from, retried otherwise) that also publishes the new record
 * on the bus in the same step, so the events stream of any replica sees each change once, in order.
 *
 * A record written by a newer server (a higher schema) is refused with a sentence, never misread:
 * during a rolling upgrade an old replica leaves the new records to the new replicas.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Conflict, NotFound } from '../errors.js';
import { orUnavailable } from '../redis/connection.js';
import { type JobRecord, JobRecordSchema } from '../api/jobs.js';
import type { JobEventType } from './fine-tune.js';
import type { JobEvent } from './job-service.js';

/** The schema of the job records this server writes and reads; a newer one is refused. */
export const JOB_RECORD_SCHEMA = 1;

interface Envelope {
  schema: number;
  record: JobRecord;
  /** The trainer (replica and BullMQ lock token) that holds the job now, or null. */
  owner: string | null;
  /** A cancellation was asked while the job was running: its trainer stops it. */
  cancel: boolean;
}

/** The job was written by a newer server: this one does not read it. */
class NewerJobRecord extends Conflict {
  constructor(id: string, schema: unknown) {
    super(
      `job ${id} was written by a newer version of the server (job record schema ${String(schema)}; this server reads up to ${JOB_RECORD_SCHEMA}); read it through an upgraded replica`,
    );
  }
}

/** A trainer's write to a job another trainer now holds (its lock expired and the job moved on). */
export class LostJob extends Error {
  constructor(id: string, owner: string | null) {
    super(`job ${id} is now held by ${owner ?? 'no trainer'}; this trainer stops working on it`);
    this.name = 'LostJob';
  }
}

const CAS = `
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

type CasRedis = Redis & { casJob(key: string, expected: string, next: string, channel: string, message: string): Promise<number> };

interface UpdateOptions {
  type?: JobEventType;
  /** Only while this owner holds the job (else {@link LostJob}). */
  asOwner?: string;
  /** Sets the owner (a trainer claims or releases the job). */
  owner?: string | null;
  /** Marks the job for cancellation. */
  cancel?: boolean;
}

export class RedisJobStore {
  private readonly redis: CasRedis;

  /**
   * `redis`: a connection of the kind the caller needs (a request path fails fast; a trainer's
   * waits through a reconnection); `channel`: the bus channel the changes are published on.
   */
  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly channel: string,
    private readonly log: Logger,
  ) {
    redis.defineCommand('casJob', { numberOfKeys: 1, lua: CAS });
    this.redis = redis as CasRedis;
  }

  private key(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  private get index(): string {
    return `${this.prefix}:jobs`;
  }

  private parse(id: string, text: string): Envelope {
    let raw: { schema?: unknown; record?: unknown; owner?: unknown; cancel?: unknown };
    try {
      raw = JSON.parse(text) as typeof raw;
    } catch {
      throw new Conflict(`the stored record of job ${id} is not readable`);
    }
    if (typeof raw.schema !== 'number' || raw.schema > JOB_RECORD_SCHEMA) throw new NewerJobRecord(id, raw.schema);
    const record = JobRecordSchema.safeParse(raw.record);
    if (!record.success) throw new Conflict(`the stored record of job ${id} does not have the shape this server reads (${record.error.issues[0]?.message ?? 'invalid'})`);
    return { schema: raw.schema, record: record.data, owner: typeof raw.owner === 'string' ? raw.owner : null, cancel: raw.cancel === true };
  }

  private message(type: JobEventType, job: JobRecord): string {
    return JSON.stringify({ type, job } satisfies JobEvent);
  }

  async insert(job: JobRecord): Promise<void> {
    const envelope: Envelope = { schema: JOB_RECORD_SCHEMA, record: job, owner: null, cancel: false };
    await orUnavailable(() =>
      this.redis
        .multi()
        .set(this.key(job.id), JSON.stringify(envelope), 'NX')
        .zadd(this.index, Date.parse(job.createdAt), job.id)
        .publish(this.channel, this.message('state', job))
        .exec(),
    );
  }

  async envelope(id: string): Promise<Envelope> {
    const text = await orUnavailable(() => this.redis.get(this.key(id)));
    if (text === null) throw new NotFound(`there is no job ${id}`);
    return this.parse(id, text);
  }

  async get(id: string): Promise<JobRecord> {
    return (await this.envelope(id)).record;
  }

  /** Newest first, at most `limit`; records this server cannot read are left out (and logged). */
  async list(limit = 1000): Promise<JobRecord[]> {
    const ids = await orUnavailable(() => this.redis.zrevrange(this.index, 0, limit - 1));
    if (!ids.length) return [];
    const texts = await orUnavailable(() => this.redis.mget(ids.map((id) => this.key(id))));
    const jobs: JobRecord[] = [];
    ids.forEach((id, i) => {
      const text = texts[i];
      if (text === null || text === undefined) return;
      try {
        jobs.push(this.parse(id, text).record);
      } catch (err) {
        this.log.warn({ job: id, reason: (err as Error).message }, 'a job record is left out of the list');
      }
    });
    return jobs;
  }

  /** Applies a patch atomically (compare-and-set, retried) and publishes the result; answers the envelope written. */
  async update(id: string, patch: Partial<Omit<JobRecord, 'id'>>, o: UpdateOptions = {}): Promise<Envelope> {
    for (let attempt = 0; ; attempt++) {
      const text = await this.redis.get(this.key(id));
      if (text === null) throw new NotFound(`there is no job ${id}`);
      const cur = this.parse(id, text);
      if (o.asOwner !== undefined && cur.owner !== o.asOwner) throw new LostJob(id, cur.owner);
      const next: Envelope = {
        schema: JOB_RECORD_SCHEMA,
        record: { ...cur.record, ...patch, id },
        owner: o.owner !== undefined ? o.owner : cur.owner,
        cancel: cur.cancel || o.cancel === true,
      };
      const written = await this.redis.casJob(this.key(id), text, JSON.stringify(next), this.channel, this.message(o.type ?? 'state', next.record));
      if (written === 1) return next;
      if (attempt > 50) throw new Error(`job ${id} changes too often to be updated`);
    }
  }

  /** Ids of the jobs not finished yet (after a reconnection, their current records are sent again). */
  async unfinished(): Promise<JobRecord[]> {
    return (await this.list()).filter((j) => j.state === 'queued' || j.state === 'running');
  }
}
