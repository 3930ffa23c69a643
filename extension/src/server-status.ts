/**
 * The server as the panel shows it: up or unreachable, its models and devices, the model in use;
 * polled every few seconds. A poll that finds the server back, or an active adapter changed since
 * the last poll (the browser's decoder and embeddings are then stale), refreshes what depends on it.
 */
import { type GlmedsaClient, UNREACHABLE } from './client.js';
import type { ReportFailure } from './report-failure.js';
import type { DecodeRouter } from './segmenter/decode-router.js';
import type { StatusStore } from './status.js';

interface ServerStatusParts {
  client: GlmedsaClient;
  status: StatusStore;
  decoding: DecodeRouter;
  fail: ReportFailure;
  /** Seconds between health checks (default 5). */
  intervalSeconds?: number;
}

export class ServerStatus {
  private timer: ReturnType<typeof setInterval> | null = null;
  /** model -> its active adapter as GET /v1/models last said (a change refetches the browser's decoder). */
  private readonly adapters = new Map<string, string | null>();

  constructor(private readonly o: ServerStatusParts) {}

  start(): void {
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.check(), (this.o.intervalSeconds ?? 5) * 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private down(): void {
    this.o.status.set({ server: 'down', error: UNREACHABLE, errorKind: 'unreachable' });
  }

  private async check(): Promise<void> {
    try {
      await this.o.client.health();
      if (this.o.status.get().server !== 'up' || this.o.decoding.mode !== 'server') await this.refresh();
    } catch {
      this.down();
    }
  }

  /** Server status, device and models for the panel. */
  async refresh(): Promise<void> {
    const { client, status } = this.o;
    try {
      await client.health();
    } catch {
      this.down();
      return;
    }
    status.set({ server: 'up', ...(status.get().errorKind === 'unreachable' ? { error: null, errorKind: null } : {}) });
    try {
      const { models } = await client.models();
      const chosen = status.get().model ?? models.find((m) => m.default)?.id ?? models[0]?.id ?? null;
      const device = models.find((m) => m.id === chosen)?.provider ?? null;
      status.set({
        models: models.map((m) => ({ id: m.id, name: m.name, provider: m.provider, activeAdapter: m.activeAdapter, default: m.default })),
        model: chosen,
        device: device ? device.toUpperCase() : null,
        ...(status.get().errorKind === 'unauthorised' ? { error: null, errorKind: null } : {}),
      });
      this.noticeAdapters(models, chosen);
    } catch (err) {
      this.o.fail(err);
    }
  }

  /** A changed active adapter makes the browser's decoder and embeddings stale: fetch them again. */
  private noticeAdapters(models: { id: string; activeAdapter: string | null }[], chosen: string | null): void {
    for (const m of models) {
      const before = this.adapters.get(m.id);
      this.adapters.set(m.id, m.activeAdapter);
      if (before !== undefined && before !== m.activeAdapter) this.o.decoding.invalidate(m.id);
    }
    if (chosen && this.o.status.get().decode === null) void this.o.decoding.prepare(chosen);
  }
}
