/**
 * A least-recently-used map bounded by a total size (bytes, or 1 per entry) and optionally by
 * age, with single-flight loading: concurrent requests for a missing key share one computation.
 */

interface LruOptions<V> {
  /** Largest total size; entries are evicted oldest-used first past it. */
  maxSize: number;
  sizeOf?: (v: V) => number;
  /** Entries older than this are treated as absent. */
  ttlMs?: number;
  onEvict?: (key: string, value: V) => void;
}

interface Entry<V> {
  value: V;
  size: number;
  at: number;
}

export class Lru<V> {
  private readonly map = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, Promise<V>>();
  private total = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly o: LruOptions<V>) {}

  get size(): number {
    return this.total;
  }

  get count(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (this.o.ttlMs !== undefined && Date.now() - e.at > this.o.ttlMs) {
      this.delete(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, e); // most recently used last
    return e.value;
  }

  set(key: string, value: V): void {
    const size = this.o.sizeOf ? this.o.sizeOf(value) : 1;
    this.delete(key);
    if (size > this.o.maxSize) return; // larger than the whole cache: do not keep it
    this.map.set(key, { value, size, at: Date.now() });
    this.total += size;
    for (const [k, e] of this.map) {
      if (this.total <= this.o.maxSize) break;
      this.map.delete(k);
      this.total -= e.size;
      this.o.onEvict?.(k, e.value);
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (e) {
      this.map.delete(key);
      this.total -= e.size;
    }
  }

  /**
   * The cached value, or the result of `load` (shared by every caller that asks while it runs).
   * `cached` says whether it came from the cache or joined a computation already running. A caller
   * whose joined computation fails loads again itself, `joinRetries` times at most.
   */
  async getOrLoad(key: string, load: () => Promise<V>, joinRetries = 1): Promise<{ value: V; cached: boolean }> {
    const hit = this.get(key);
    if (hit !== undefined) {
      this.hits++;
      return { value: hit, cached: true };
    }
    const running = this.inflight.get(key);
    if (running) {
      this.hits++;
      try {
        return { value: await running, cached: true };
      } catch (err) {
        // The load this call joined was started by another request, which may have given it up (its
        // client went away, its propagation was cancelled): that must not fail this one, so it loads
        // once more itself (a real failure then comes back with its own cause).
        if (joinRetries <= 0) throw err;
        return this.getOrLoad(key, load, joinRetries - 1);
      }
    }
    this.misses++;
    const p = load();
    this.inflight.set(key, p);
    try {
      const value = await p;
      this.set(key, value);
      return { value, cached: false };
    } finally {
      this.inflight.delete(key);
    }
  }
}
