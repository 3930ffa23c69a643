/**
 * Switching the served model between its base and its adapter versions with no restart and no
 * failed request: the merged model (base + adapter, as `glmedsa export --model --adapter` makes
 * it) is exported in a child process, loaded into every inference worker next to the current
 * one, and only then swapped in; requests that started before keep the entry they hold and
 * finish on their version; the replaced version is released after a grace period.
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
  log: Logger;
}

export class AdapterService {
  private readonly versions = new Map<string, AdapterVersion[]>();
  private readonly switching = new Map<string, Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: AdapterServiceOptions) {}

  private base(model: string): ServedModel {
    const b = this.o.catalog.base(model);
    if (!b) throw new NotFound(`there is no model '${model}' (available: ${this.o.catalog.ids().join(', ')})`);
    return b;
  }

  /** Reads the registry and serves each model's active version (the base when it cannot be). */
  async start(): Promise<void> {
    for (const id of this.o.catalog.ids()) {
      await this.o.registry.sweep(id);
      await this.refresh(id);
      const active = await this.o.registry.active(id);
      if (active === null) continue;
      try {
        await this.activate(id, active);
      } catch (err) {
        this.o.log.error({ model: id, version: active, err: (err as Error).message }, 'could not serve the active adapter version; serving the base model');
        await this.o.registry.setActive(id, null);
      }
    }
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
    const base = this.base(model);
    return this.exclusive(model, async () => {
      const v = await this.o.registry.read(model, version);
      if (!v) throw new NotFound(`model '${model}' has no adapter version ${version}`);
      if (v.base.weights_sha256 !== base.manifest.weights_sha256) {
        throw new Conflict(
          `adapter version ${version} was trained on another base model (weights ${v.base.weights_sha256.slice(0, 12)}, served ${base.manifest.weights_sha256.slice(0, 12)}); it cannot be activated`,
        );
      }
      if (this.o.catalog.get(model)?.adapterVersion !== version) {
        const dir = await this.merged(base, version);
        const manifest = (await openModelFolder(dir)).manifest;
        const runtimeId = `${model}@v${version}`;
        await this.o.pool.loadModel({ id: runtimeId, dir });
        this.replace({ id: model, dir, manifest, runtimeId, adapterVersion: version });
      }
      await this.o.registry.setActive(model, version);
      this.o.log.info({ model, version }, 'adapter version activated');
      return this.describe(model).find((i) => i.version === version)!;
    });
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
    await fs.rename(tmp, dir);
    return dir;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
