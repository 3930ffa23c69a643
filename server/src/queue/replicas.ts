/**
 * Who is in the cluster now: each replica keeps a key with its role and the base models it serves
 * (id -> weights checksum), renewed every few seconds and expiring when the replica stops renewing
 * it. A trainer handed a job for base weights it does not serve asks here whether another trainer
 * serves them (then leaves the job to it) or none does (then fails it with a sentence).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

interface ReplicaInfo {
  id: string;
  role: 'api' | 'trainer' | 'all';
  /** Served base models: id -> weights sha256. */
  models: Record<string, string>;
  startedAt: string;
}

const BEAT_MS = 3_000;
const TTL_MS = 10_000;

export class ReplicaRegistry {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly self: ReplicaInfo,
    private readonly log: Logger,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:replica:${id}`;
  }

  private async beat(): Promise<void> {
    await this.redis.set(this.key(this.self.id), JSON.stringify(this.self), 'PX', TTL_MS);
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => this.beat().catch((err: Error) => this.log.debug({ err: err.message }, 'replica heartbeat failed')), BEAT_MS);
    this.timer.unref();
  }

  /** The replicas whose key has not expired. */
  async list(): Promise<ReplicaInfo[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', this.key('*'), 'COUNT', 200);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    if (!keys.length) return [];
    const values = await this.redis.mget(keys);
    return values.flatMap((v) => {
      try {
        return v ? [JSON.parse(v) as ReplicaInfo] : [];
      } catch {
        return [];
      }
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.redis.del(this.key(this.self.id)).catch(() => undefined);
  }
}
