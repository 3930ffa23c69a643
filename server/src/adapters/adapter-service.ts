/**
 * Switching the served model between its base and its adapter versions with no restart and no
 * failed request: the merged model (base + adapter, as `glmedsa export --model --adapter` makes
 * it) is exported in a child process, loaded into every inference worker next to the current
 * one, and only then swapped in; requests that started before keep the entry they hold and
 * finish on their version; the replaced version is released after a grace period.
 *
 * In a cluster the active version is in the shared index, and `follow` keeps this replica on it:
 * an activation, rollback or deactivation on any replica publishes a message, and each replica
 * reads the active version again and loads it before it serves it (a message lost while Redis was
 * away is made up for on reconnection, and by a periodic look).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { openModelFolder } from '@glmedsa/models';
import type { Logger } from 'pino';
import type { AdapterInfo } from '../api/adapters.js';
import { Conflict, NotFound } from '../errors.js';
import type { InferencePool } from '../inference/pool.js';
import { lastError, runCli } from '../children/cli-process.js';
import type { ModelCatalog, ServedModel } from '../catalog/model-catalog.js';
import type { AdapterRegistry, AdapterVersion } from '../catalog/adapter-registry.js';

export type { AdapterInfo } from '../api/adapters.js';

interface AdapterServiceOptions {
  registry: AdapterRegistry;
  catalog: ModelCatalog;
  pool: InferencePool;
  /** Where merged models are exported (DATA/merged). */
  mergedRoot: string;
  /** onnxruntime threads of the export child. */
  threads: number;
  /** How long a replaced version stays loaded for requests that started on it. */
  releaseGraceMs: number;
  /** The registry is shared by the replicas of a cluster (folders on shared storage, index in Redis). */
  shared?: boolean;
  log: Logger;
}

/** On shared storage, a publish folder younger than this may be another trainer's publication in progress. */
const SHARED_SWEEP_AGE_MS = 60 * 60 * 1000;
/** How often a replica of a cluster reads the shared active versions again, in case a message was lost. */
const RESYNC_MS = 10_000;

export class AdapterService {
  private readonly versions = new Map<string, AdapterVersion[]>();
  private readonly switching = new Map<string, Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unfollow: (() => void)[] = [];
  private readonly loads = new Map<string, Promise<void>>();
  private announce: ((model: string, version: number) => Promise<void>) | null = null;

  constructor(private readonly o: AdapterServiceOptions) {}

  private base(model: string): ServedModel {
    const b = this.o.catalog.base(model);
    if (!b) throw new NotFound(`there is no model '${model}' (available: ${this.o.catalog.ids().join(', ')})`);
    return b;
  }

  /**
   * Reads the registry and serves each model's active version (the base when it cannot be; on one
   * machine the registry then says so, in a cluster the other replicas' choice is left as it is).
   */
  async start(): Promise<void> {
    for (const id of this.o.catalog.ids()) {
      await this.o.registry.sweep(id, this.o.shared ? SHARED_SWEEP_AGE_MS : 0);
      await this.o.registry.reconcile(id);
      await this.refresh(id);
      const active = await this.o.registry.active(id);
      if (active === null) continue;
      try {
        await this.exclusive(id, () => this.serve(id, active));
      } catch (err) {
        this.o.log.error({ model: id, version: active, err: (err as Error).message }, 'could not serve the active adapter version; serving the base model');
        if (!this.o.shared) await this.o.registry.setActive(id, null);
      }
    }
  }

  /**
   * Cluster: follows the shared active version. `subscribe` delivers the models whose versions or
   * active version changed, and versions another replica is about to activate (`prepare`: this
   * replica loads them at the same time, so that it can serve them as soon as they are active);
   * `onReconnect` says when messages may have been missed; `announce` tells the others that this
   * replica is about to activate a version.
   */
  async follow(bus: {
    subscribe(handler: (change: { model: string; prepare?: number }) => void): Promise<() => void>;
    onReconnect(fn: () => void): () => void;
    announce(model: string, version: number): Promise<void>;
  }): Promise<void> {
    const sync = (model: string) => void this.sync(model);
    this.announce = bus.announce;
    this.unfollow.push(await bus.subscribe((c) => (c.prepare !== undefined ? void this.prepare(c.model, c.prepare) : sync(c.model))));
    this.unfollow.push(bus.onReconnect(() => this.o.catalog.ids().forEach(sync)));
    const timer = setInterval(() => this.o.catalog.ids().forEach(sync), RESYNC_MS);
    timer.unref();
    this.unfollow.push(() => clearInterval(timer));
  }

  /** Loads a version another replica is activating, and releases it later if it is not served by then. */
  private async prepare(model: string, version: number): Promise<void> {
    const base = this.o.catalog.base(model);
    if (!base || this.o.catalog.get(model)?.adapterVersion === version) return;
    try {
      const v = await this.o.registry.read(model, version);
      if (!v || v.base.weights_sha256 !== base.manifest.weights_sha256) return;
      const dir = await this.merged(base, version);
      const runtimeId = `${model}@v${version}`;
      await this.load(runtimeId, dir);
      this.releaseLater({ ...base, dir, runtimeId, adapterVersion: version });
    } catch (err) {
      this.o.log.debug({ model, version, reason: (err as Error).message }, 'could not load ahead a version another replica is activating');
    }
  }

  /** Loads a merged model into every worker once; a caller during the load waits for the same load. */
  private load(runtimeId: string, dir: string): Promise<void> {
    let loading = this.loads.get(runtimeId);
    if (!loading) {
      loading = this.o.pool.loadModel({ id: runtimeId, dir });
      this.loads.set(runtimeId, loading);
      const done = () => void this.loads.delete(runtimeId);
      loading.then(done, done);
    }
    return loading;
  }

  /** Serves the shared active version of `model` if this replica does not already. */
  private sync(model: string): Promise<void> {
    if (!this.o.catalog.base(model)) return Promise.resolve();
    return this.exclusive(model, async () => {
      await this.refresh(model);
      const wanted = await this.o.registry.active(model);
      if ((this.o.catalog.get(model)?.adapterVersion ?? null) === wanted) return;
      if (wanted === null) this.replace(this.base(model));
      else await this.serve(model, wanted);
      this.o.log.info({ model, version: wanted ?? 'base' }, 'now serving the adapter version activated on another replica');
    }).catch((err: unknown) => {
      // Redis away (the next look, or the reconnection, tries again), or a version this replica cannot load.
      this.o.log.warn({ model, reason: (err as Error).message }, 'could not follow the active adapter version of the cluster; still serving the previous one');
    });
  }

  async refresh(model: string): Promise<void> {
    this.versions.set(model, await this.o.registry.list(model));
  }

  /** The versions of a model as GET /v1/models/:id/adapters shows them (synchronous, from memory). */
  describe(model: string): AdapterInfo[] {
    const base = this.base(model);
    const active = this.o.catalog.get(model)?.adapterVersion ?? null;
    return (this.versions.get(model) ?? []).map((v) => ({
      version: v.version,
      active: v.version === active,
      variant: v.variant,
      baseWeightsSha256: v.base.weights_sha256,
      compatible: v.base.weights_sha256 === base.manifest.weights_sha256,
      parameters: v.parameters,
      data: v.data,
      metrics: v.metrics,
      training: v.training,
      job: v.job,
      createdAt: v.created_at,
    }));
  }

  activeVersion(model: string): number | null {
    this.base(model);
    return this.o.catalog.get(model)?.adapterVersion ?? null;
  }

  /** One switch per model at a time. */
  private exclusive<T>(model: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.switching.get(model) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.switching.set(model, next.catch(() => undefined));
    return next;
  }

  activate(model: string, version: number): Promise<AdapterInfo> {
    this.base(model);
    return this.exclusive(model, async () => {
      await this.serve(model, version, true);
      await this.o.registry.setActive(model, version);
      this.o.log.info({ model, version }, 'adapter version activated');
      await this.refresh(model);
      return this.describe(model).find((i) => i.version === version)!;
    });
  }

  /**
   * Loads version `version` into every worker and then serves it (call inside `exclusive`);
   * `announce`: an activation here, which the other replicas of a cluster load at the same time.
   */
  private async serve(model: string, version: number, announce = false): Promise<void> {
    const base = this.base(model);
    const v = await this.o.registry.read(model, version);
    if (!v) throw new NotFound(`model '${model}' has no adapter version ${version}`);
    if (v.base.weights_sha256 !== base.manifest.weights_sha256) {
      throw new Conflict(
        `adapter version ${version} was trained on another base model (weights ${v.base.weights_sha256.slice(0, 12)}, served ${base.manifest.weights_sha256.slice(0, 12)}); it cannot be activated`,
      );
    }
    if (this.o.catalog.get(model)?.adapterVersion === version) return;
    const dir = await this.merged(base, version);
    const manifest = (await openModelFolder(dir)).manifest;
    const runtimeId = `${model}@v${version}`;
    // The other replicas of a cluster load it while this one does (the merged model is on the shared storage now).
    if (announce) this.announce?.(model, version).catch(() => undefined);
    await this.load(runtimeId, dir);
    this.replace({ id: model, dir, manifest, runtimeId, adapterVersion: version });
  }

  deactivate(model: string): Promise<void> {
    const base = this.base(model);
    return this.exclusive(model, async () => {
      if (this.o.catalog.get(model)?.adapterVersion !== null) this.replace(base);
      await this.o.registry.setActive(model, null);
      this.o.log.info({ model }, 'adapter deactivated; serving the base model');
    });
  }

  private replace(next: ServedModel): void {
    const old = this.o.catalog.swap(next);
    // The base stays loaded (it is what deactivation falls back to); a replaced version goes after the grace.
    if (old.adapterVersion === null || old.runtimeId === next.runtimeId) return;
    this.releaseLater(old);
  }

  /** Unloads a replaced version after the grace period, once no queued or running inference job uses it. */
  private releaseLater(old: ServedModel, delayMs = this.o.releaseGraceMs): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.o.catalog.get(old.id)?.runtimeId === old.runtimeId) return;
      if (this.o.pool.hasJobsFor(old.runtimeId)) this.releaseLater(old, 1000);
      else this.o.pool.unloadModel(old.runtimeId);
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** The merged model folder of a version, exported once (temporary folder, then renamed). */
  private async merged(base: ServedModel, version: number): Promise<string> {
    const dir = path.join(this.o.mergedRoot, base.id, `v${version}-${base.manifest.weights_sha256.slice(0, 16)}`);
    if (existsSync(path.join(dir, 'model.json'))) return dir;
    await fs.mkdir(path.dirname(dir), { recursive: true });
    const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    const run = runCli(['export', '--model', base.dir, '--adapter', this.o.registry.dir(base.id, version), '--out', tmp, '--name', `${base.manifest.name}-v${version}`], {
      threads: this.o.threads,
    });
    const { code, stderrTail } = await run.exited;
    if (code !== 0) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw new Error(`exporting adapter version ${version} failed: ${lastError(stderrTail)}`);
    }
    try {
      await fs.rename(tmp, dir);
    } catch (err) {
      // On shared storage another replica may have exported the same version first: use theirs.
      await fs.rm(tmp, { recursive: true, force: true });
      if (!existsSync(path.join(dir, 'model.json'))) throw err;
    }
    return dir;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const off of this.unfollow.splice(0)) off();
  }
}
