/**
 * Connections to the cluster's Redis (ioredis). Two kinds, for two kinds of caller:
 * - 'request': an HTTP request waits on it, so a command fails at once while Redis is unreachable
 *   (no offline queue) and the request is answered 503 with a sentence ({@link queueUnavailable});
 * - 'worker': a trainer's bookkeeping, which must not be lost, so commands wait (queued in the
 *   client) until Redis is back.
 * Both reconnect on their own, forever, with a capped back-off. See docs/architecture.md,
 * "Several machines".
 */
import { Redis, type RedisOptions } from 'ioredis';
import { Busy } from '../errors.js';

type ConnectionKind = 'request' | 'worker';

/** The URL without its password, for logs and sentences. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'the configured Redis URL';
  }
}

/** Reconnect after 100 ms, 200 ms, ... up to 2 s between tries, forever. */
const reconnect = (times: number) => Math.min(times * 100, 2000);

/** Options of a long-lived connection of `kind`, named `name` in Redis's CLIENT LIST. */
function redisOptions(kind: ConnectionKind, name: string): RedisOptions {
  return {
    connectionName: name,
    retryStrategy: reconnect,
    // BullMQ's workers need null (their blocking commands wait through a reconnection).
    maxRetriesPerRequest: kind === 'worker' ? null : 1,
    enableOfflineQueue: kind === 'worker',
    connectTimeout: 5000,
  };
}

export function openRedis(url: string, kind: ConnectionKind, name: string): Redis {
  return new Redis(url, redisOptions(kind, name));
}

/** Resolves once `redis` is connected (a fail-fast connection refuses commands until then). */
export function ready(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the queue did not accept a connection within ${timeoutMs} ms`)), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Fails with a sentence when Redis at `url` does not answer a PING within `timeoutMs`: a replica
 * that cannot reach its queue does not start half-working.
 */
export async function assertReachable(url: string, timeoutMs: number): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: timeoutMs });
  probe.on('error', () => undefined);
  try {
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  } catch (err) {
    const why = (err as Error).message || String(err);
    throw new Error(
      `cannot reach the shared queue at ${shownUrl(url)} (${why}): a replica does not start without its queue; start Redis there, or correct queue.url (GLMEDSA_QUEUE_URL)`,
    );
  } finally {
    probe.disconnect();
  }
}

/** A request that needed Redis while it was unreachable: 503 with a sentence (and the cause for the log). */
function queueUnavailable(err: unknown): Busy {
  const e = new Busy('the shared job queue (Redis) cannot be reached right now; try again in a few seconds', 5);
  (e as { cause?: unknown }).cause = err;
  return e;
}

/** Runs a request-path Redis call, turning a connection failure into {@link queueUnavailable}. */
export async function orUnavailable<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConnectionError(err)) throw queueUnavailable(err);
    throw err;
  }
}

/** ioredis's errors of a connection that is down (not a command's own error). */
function isConnectionError(err: unknown): boolean {
  const m = (err as Error)?.message ?? '';
  return /enableOfflineQueue|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|max retries per request|Reached the max retries/i.test(m);
}
