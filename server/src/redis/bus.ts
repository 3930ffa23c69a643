/**
 * Messages between the replicas of a cluster over Redis pub/sub: job events (the SSE stream of a
 * job on any replica), adapter activations, job cancellations. Pub/sub delivers to whoever listens
 * now and keeps nothing, so every message only says "look again": the state itself is in Redis
 * keys, and after a reconnection (`onReconnect`) each listener reads it again, so a message lost
 * while Redis was away costs a delay, never a wrong state.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { openRedis } from './connection.js';

export class RedisBus {
  private readonly sub: Redis;
  private readonly pub: Redis;
  private readonly emitter = new EventEmitter();
  private readonly channels = new Set<string>();
  private connectedOnce = false;

  constructor(
    url: string,
    private readonly prefix: string,
    name: string,
    log: Logger,
  ) {
    this.emitter.setMaxListeners(0);
    this.sub = openRedis(url, 'worker', `${name}:sub`);
    this.pub = openRedis(url, 'request', `${name}:pub`);
    for (const c of [this.sub, this.pub]) c.on('error', (err: Error) => log.debug({ err: err.message }, 'redis connection error'));
    this.sub.on('message', (channel: string, text: string) => {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        log.warn({ channel }, 'a message on the bus is not JSON; ignored');
        return;
      }
      this.emitter.emit(channel, message);
    });
    this.sub.on('ready', () => {
      if (this.connectedOnce) this.emitter.emit('reconnect');
      this.connectedOnce = true;
    });
  }

  private channel(name: string): string {
    return `${this.prefix}:bus:${name}`;
  }

  /** The full channel name of `name` (for a script that publishes inside a transaction). */
  channelName(name: string): string {
    return this.channel(name);
  }

  /** Calls `handler` with every message on `name` from now on; returns the unsubscription. */
  async subscribe(name: string, handler: (message: unknown) => void): Promise<() => void> {
    const channel = this.channel(name);
    if (!this.channels.has(channel)) {
      this.channels.add(channel);
      await this.sub.subscribe(channel);
    }
    this.emitter.on(channel, handler);
    return () => this.emitter.off(channel, handler);
  }

  async publish(name: string, message: unknown): Promise<void> {
    await this.pub.publish(this.channel(name), JSON.stringify(message));
  }

  /** Calls `fn` after each reconnection to Redis (messages may have been missed meanwhile). */
  onReconnect(fn: () => void): () => void {
    this.emitter.on('reconnect', fn);
    return () => this.emitter.off('reconnect', fn);
  }

  close(): void {
    this.emitter.removeAllListeners();
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
