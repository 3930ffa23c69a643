/**
 * The adapter registry's index in a cluster's Redis: per model, a hash of its versions (number ->
 * version.json) and its active version. Setting the active version publishes a message on the bus
 * in the same transaction, so every replica looks again at once ("Several machines" in
 * docs/architecture.md). The version folders themselves are on the shared storage.
 */
import type { Redis } from 'ioredis';
import type { RedisBus } from '../redis/bus.js';
import { orUnavailable } from '../redis/connection.js';
import { type AdapterVersion, type SharedAdapterIndex, parseAdapterVersion } from './adapter-registry.js';

/** The bus channel of adapter changes: `{ model }`, "read this model's versions and active version again". */
export const ADAPTERS_CHANNEL = 'adapters';

export class RedisAdapterIndex implements SharedAdapterIndex {
  /**
   * `redis`: a fail-fast connection (an activation request answers 503 while Redis is away);
   * `publisher`: a waiting one (a trainer's new version is indexed once Redis is back).
   */
  constructor(
    private readonly redis: Redis,
    private readonly publisher: Redis,
    private readonly prefix: string,
    private readonly bus: RedisBus,
  ) {}

  private versionsKey(model: string): string {
    return `${this.prefix}:adapters:${model}:versions`;
  }

  private activeKey(model: string): string {
    return `${this.prefix}:adapters:${model}:active`;
  }

  async list(model: string): Promise<AdapterVersion[]> {
    const all = await orUnavailable(() => this.redis.hgetall(this.versionsKey(model)));
    return Object.values(all)
      .map((text) => parseAdapterVersion(text))
      .filter((v): v is AdapterVersion => v !== null)
      .sort((a, b) => a.version - b.version);
  }

  async add(v: AdapterVersion): Promise<void> {
    await this.publisher
      .multi()
      .hset(this.versionsKey(v.model), String(v.version), JSON.stringify(v))
      .publish(this.bus.channelName(ADAPTERS_CHANNEL), JSON.stringify({ model: v.model }))
      .exec();
  }

  async active(model: string): Promise<number | null> {
    const text = await orUnavailable(() => this.redis.get(this.activeKey(model)));
    if (!text) return null;
    const v = (JSON.parse(text) as { version?: unknown }).version;
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
  }

  async setActive(model: string, version: number | null): Promise<void> {
    await orUnavailable(() =>
      this.redis
        .multi()
        .set(this.activeKey(model), JSON.stringify({ version, changed_at: new Date().toISOString() }))
        .publish(this.bus.channelName(ADAPTERS_CHANNEL), JSON.stringify({ model }))
        .exec(),
    );
  }
}
