/**
 * A queue of long work shared by the replicas of a cluster, on Redis with BullMQ: one BullMQ queue
 * per kind of work (fine-tuning now; propagations plug in the same way, see the README's "Running
 * on several machines"), items named by the id of their record, taken one at a time per worker.
 *
 * What BullMQ gives us: a taken item is locked by its worker, the lock renewed while it works
 * (every half of `lockMs`); a worker that dies (kill -9, a lost node) stops renewing, and the
 * stalled-job check of any live worker (every `stalledCheckMs`) moves the item back to the queue,
 * where another worker takes it and resumes from the checkpoint on shared storage. Items are
 * added with their own id, so adding one twice is a no-op.
 *
 * What we add: every item carries the schema version it was written in; a worker refuses an item
 * of a newer schema (written by an upgraded replica) and leaves it for a newer worker instead of
 * misreading it. A handler may also give an item back ('requeue': this worker is shutting down,
 * or 'elsewhere': another worker should take it).
 */
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { openRedis, orUnavailable, ready } from '../redis/connection.js';

/** What every item of every kind carries. */
export interface WorkItem {
  /** The schema version of the item and of the record it names. */
  schema: number;
  /** The id of its record (a job, a propagation): also the BullMQ job id. */
  id: string;
}

/** How a handler ended: done (its record says how), or given back to the queue. */
export type WorkOutcome = 'done' | 'requeue' | 'elsewhere';

export interface WorkContext {
  /** The BullMQ lock token: proof that this worker holds the item. */
  token: string;
  /** Aborted when this worker must stop working on the item (its lock could not be renewed). */
  signal: AbortSignal;
}

interface WorkQueueOptions {
  url: string;
  prefix: string;
  /** The kind of work, e.g. 'fine-tune' (the BullMQ queue's name). */
  name: string;
  /** The item schema this server writes and reads. */
  schema: number;
  /** This replica's name (BullMQ's worker name, in the logs). */
  replica: string;
  lockMs: number;
  stalledCheckMs: number;
  /** How many times a stalled item goes back to the queue before BullMQ fails it itself. */
  maxStalls: number;
  log: Logger;
}

/** How long an item this worker refused waits before a worker looks at it again. */
const REFUSED_DELAY_MS = 5_000;

export class WorkQueue<T extends WorkItem> {
  private readonly queue: Queue;
  private worker: Worker | null = null;

  /** Our own connections (BullMQ leaves a connection it was given open). */
  private readonly connections: Redis[] = [];

  constructor(private readonly o: WorkQueueOptions) {
    this.queue = new Queue(o.name, { connection: this.open('request', 'queue'), prefix: `${o.prefix}:bull` });
    this.queue.on('error', (err: Error) => o.log.debug({ err: err.message, queue: o.name }, 'queue connection error'));
  }

  private open(kind: 'request' | 'worker', what: string): Redis {
    const c = openRedis(this.o.url, kind, `${this.o.replica}:${this.o.name}:${what}`);
    c.on('error', (err: Error) => this.o.log.debug({ err: err.message, queue: this.o.name }, 'queue connection error'));
    this.connections.push(c);
    return c;
  }

  /** Resolves once the queue's connection is up (its commands fail at once while it is not). */
  connected(timeoutMs: number): Promise<void> {
    return ready(this.connections[0]!, timeoutMs);
  }

  /** Queues an item (a no-op when an item with its id is queued already). */
  async add(item: T): Promise<void> {
    await orUnavailable(() => this.queue.add(this.o.name, item, { jobId: item.id, attempts: 1, removeOnComplete: true, removeOnFail: { count: 1000 } }));
  }

  /** Removes an item that no worker has taken yet: true; false when it has started (or is gone). */
  async removeWaiting(id: string): Promise<boolean> {
    return orUnavailable(async () => {
      const job = await this.queue.getJob(id);
      if (!job) return false;
      const state = await job.getState();
      if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
      try {
        await job.remove();
        return true;
      } catch {
        return false; // taken meanwhile
      }
    });
  }

  /** Items waiting for a worker. */
  waiting(): Promise<number> {
    return orUnavailable(async () => {
      const c = await this.queue.getJobCounts('waiting', 'delayed', 'prioritized');
      return (c['waiting'] ?? 0) + (c['delayed'] ?? 0) + (c['prioritized'] ?? 0);
    });
  }

  /** Starts taking items, one at a time, and hands each to `handler`. */
  work(handler: (item: T, ctx: WorkContext) => Promise<WorkOutcome>): void {
    const o = this.o;
    const worker = new Worker(
      o.name,
      async (job: Job, token?: string, signal?: AbortSignal) => {
        const item = job.data as T;
        if (typeof item?.schema !== 'number' || item.schema > o.schema) {
          o.log.warn(
            { queue: o.name, item: job.id, schema: item?.schema },
            `item ${job.id} was queued by a newer version of the server (schema ${String(item?.schema)}; this server reads up to ${o.schema}): left for an upgraded worker`,
          );
          await job.moveToDelayed(Date.now() + REFUSED_DELAY_MS, token);
          throw new DelayedError();
        }
        const outcome = await handler(item, { token: token ?? '', signal: signal ?? new AbortController().signal });
        if (outcome === 'done') return;
        await job.moveToDelayed(Date.now() + (outcome === 'elsewhere' ? 1000 : 0), token);
        throw new DelayedError();
      },
      {
        connection: this.open('worker', 'worker'),
        prefix: `${o.prefix}:bull`,
        name: o.replica,
        concurrency: 1,
        lockDuration: o.lockMs,
        stalledInterval: o.stalledCheckMs,
        maxStalledCount: o.maxStalls,
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 1000 },
      },
    );
    worker.on('error', (err: Error) => o.log.debug({ err: err.message, queue: o.name }, 'worker connection error'));
    worker.on('lockRenewalFailed', (ids: string[]) => {
      // The lock has expired (a renewal waits through a short Redis outage; it fails only when the
      // lock is gone): another worker may have the item now, so this one stops working on it.
      o.log.warn({ queue: o.name, items: ids }, 'the lock of a running item was lost; this worker stops working on it');
      for (const id of ids) worker.cancelJob(id, 'the lock was lost');
    });
    worker.on('stalled', (id: string) => o.log.warn({ queue: o.name, item: id }, 'an item whose worker stopped was put back in the queue'));
    this.worker = worker;
  }

  /** Stops taking items; waits for the current one's handler to return (stop it first). */
  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    for (const c of this.connections) c.disconnect();
  }
}
