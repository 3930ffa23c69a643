/**
 * The adapter registry: every finished job publishes a new numbered version of its base model's
 * adapters under DATA/adapters/<model>/<version>/ (adapter.safetensors + adapter.json from
 * `glmedsa train`, plus version.json: base checksum, variant, data summary, validation metrics
 * before and after, job id, time). A version is assembled in a temporary folder and renamed into
 * place, so a crash leaves either no version or a complete one. The active version of each model
 * is DATA/adapters/<model>/active.json, written atomically.
 *
 * In a cluster the folders are on the storage every replica shares (storage.dir), and the index of
 * versions and the active version are in Redis ({@link SharedAdapterIndex}): a version is listed
 * once its folder is in place, and an activation is seen by every replica at once.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { ADAPTER_MANIFEST, ADAPTER_TENSORS, AdapterManifestSchema, writeJsonAtomic } from '@glmedsa/models';
import { z } from 'zod';
import { AdapterMetricsSchema } from '../api/adapters.js';

const VERSION_MANIFEST = 'version.json';
const ACTIVE_FILE = 'active.json';

const AdapterVersionSchema = z.object({
  format: z.literal('glmedsa-adapter-version'),
  format_version: z.literal(1),
  model: z.string(),
  version: z.number().int().positive(),
  base: z.object({ name: z.string(), weights_sha256: z.string() }),
  variant: z.string(),
  parameters: z.number().int().nonnegative(),
  data: z.record(z.string(), z.unknown()),
  metrics: AdapterMetricsSchema,
  training: z.record(z.string(), z.unknown()),
  job: z.string(),
  created_at: z.string(),
});
export type AdapterVersion = z.infer<typeof AdapterVersionSchema>;

const ActiveSchema = z.object({ version: z.number().int().positive().nullable(), changed_at: z.string() });

/** Reads a version.json (null when it is not one this server reads). */
export function parseAdapterVersion(text: string): AdapterVersion | null {
  try {
    return AdapterVersionSchema.parse(JSON.parse(text));
  } catch {
    return null;
  }
}

/**
 * The registry's index where several replicas share it: the versions of each model and its active
 * version. The folders stay the truth: a version is added to the index after its folder is in place.
 */
export interface SharedAdapterIndex {
  list(model: string): Promise<AdapterVersion[]>;
  add(version: AdapterVersion): Promise<void>;
  active(model: string): Promise<number | null>;
  setActive(model: string, version: number | null): Promise<void>;
}

interface PublishInput {
  model: string;
  /** The folder `glmedsa train --out` wrote (adapter.safetensors + adapter.json). */
  adapterDir: string;
  data: Record<string, unknown>;
  validation: AdapterVersion['metrics']['validation'];
  job: string;
}

export class AdapterRegistry {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly root: string,
    /** A cluster's index in Redis (absent: the folders and active.json are the index). */
    private readonly shared?: SharedAdapterIndex,
  ) {}

  private modelDir(model: string): string {
    return path.join(this.root, model);
  }

  /** The folder of a version (its adapter.safetensors and adapter.json are what `--adapter` takes). */
  dir(model: string, version: number): string {
    return path.join(this.modelDir(model), String(version));
  }

  /** Runs registry writes one after another. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The versions of a model, oldest first; folders that are not complete versions are ignored. */
  async list(model: string): Promise<AdapterVersion[]> {
    if (this.shared) return this.shared.list(model);
    return this.listFolders(model);
  }

  private async listFolders(model: string): Promise<AdapterVersion[]> {
    const entries = await fs.readdir(this.modelDir(model)).catch(() => [] as string[]);
    const versions: AdapterVersion[] = [];
    for (const e of entries.filter((n) => /^[1-9]\d*$/.test(n))) {
      const v = await this.read(model, Number(e));
      if (v) versions.push(v);
    }
    return versions.sort((a, b) => a.version - b.version);
  }

  async read(model: string, version: number): Promise<AdapterVersion | undefined> {
    const dir = this.dir(model, version);
    if (!existsSync(path.join(dir, ADAPTER_TENSORS))) return undefined;
    try {
      return AdapterVersionSchema.parse(JSON.parse(await fs.readFile(path.join(dir, VERSION_MANIFEST), 'utf8')));
    } catch {
      return undefined;
    }
  }

  async publish(p: PublishInput): Promise<AdapterVersion> {
    const adapter = AdapterManifestSchema.parse(JSON.parse(await fs.readFile(path.join(p.adapterDir, ADAPTER_MANIFEST), 'utf8')));
    return this.serial(async () => {
      const modelDir = this.modelDir(p.model);
      await fs.mkdir(modelDir, { recursive: true });
      // A job published once keeps its version (a resumed publish step does not make a second one).
      const existing = (await this.listFolders(p.model)).find((v) => v.job === p.job);
      if (existing) {
        await this.shared?.add(existing);
        return existing;
      }
      // Several trainers may publish at once on shared storage: a taken number is retried with the next.
      for (let attempt = 0; ; attempt++) {
        const version = Math.max(0, ...(await fs.readdir(modelDir)).filter((n) => /^[1-9]\d*$/.test(n)).map(Number)) + 1;
        try {
          const manifest = await this.assemble(p, adapter, version);
          await this.shared?.add(manifest);
          return manifest;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if ((code === 'ENOTEMPTY' || code === 'EEXIST') && attempt < 20) continue;
          throw err;
        }
      }
    });
  }

  /** Writes version `version` in a temporary folder and renames it into place (EEXIST/ENOTEMPTY: the number is taken). */
  private async assemble(p: PublishInput, adapter: z.infer<typeof AdapterManifestSchema>, version: number): Promise<AdapterVersion> {
    const modelDir = this.modelDir(p.model);
    const tmp = path.join(modelDir, `.publish-${version}-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(tmp);
    try {
      await fs.copyFile(path.join(p.adapterDir, ADAPTER_TENSORS), path.join(tmp, ADAPTER_TENSORS));
      const after = p.validation.after;
      await writeJsonAtomic(path.join(tmp, ADAPTER_MANIFEST), {
        ...adapter,
        name: `${p.model}-v${version}`,
        metrics: { ...adapter.metrics, ...(after !== null ? { validation: { dice: after, iou: 0, ...(p.validation.images ? { n: p.validation.images } : {}) } } : {}) },
      });
      const manifest: AdapterVersion = {
        format: 'glmedsa-adapter-version',
        format_version: 1,
        model: p.model,
        version,
        base: adapter.base,
        variant: adapter.variant,
        parameters: adapter.parameters,
        data: { ...p.data, fingerprint: adapter.data.fingerprint, description: adapter.data.description },
        metrics: { validation: p.validation, ...(adapter.metrics.train ? { train: adapter.metrics.train } : {}) },
        training: adapter.training,
        job: p.job,
        created_at: new Date().toISOString(),
      };
      await writeJsonAtomic(path.join(tmp, VERSION_MANIFEST), AdapterVersionSchema.parse(manifest));
      await fs.rename(tmp, this.dir(p.model, version));
      return manifest;
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Adds to the shared index the versions whose folders it lacks (a trainer that died between the two). */
  async reconcile(model: string): Promise<void> {
    if (!this.shared) return;
    const listed = new Set((await this.shared.list(model)).map((v) => v.version));
    for (const v of await this.listFolders(model)) if (!listed.has(v.version)) await this.shared.add(v);
  }

  /** The active version of a model (null: the base model). */
  async active(model: string): Promise<number | null> {
    if (this.shared) return this.shared.active(model);
    try {
      return ActiveSchema.parse(JSON.parse(await fs.readFile(path.join(this.modelDir(model), ACTIVE_FILE), 'utf8'))).version;
    } catch {
      return null;
    }
  }

  setActive(model: string, version: number | null): Promise<void> {
    if (this.shared) return this.shared.setActive(model, version);
    return this.serial(async () => {
      await fs.mkdir(this.modelDir(model), { recursive: true });
      await writeJsonAtomic(path.join(this.modelDir(model), ACTIVE_FILE), { version, changed_at: new Date().toISOString() });
    });
  }

  /**
   * Removes half-written publish folders a crash left behind (they never became versions). On shared
   * storage another trainer may be publishing now, so only folders older than `minAgeMs` go.
   */
  async sweep(model: string, minAgeMs = 0): Promise<void> {
    const dir = this.modelDir(model);
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    const old = async (n: string) => minAgeMs === 0 || Date.now() - (await fs.stat(path.join(dir, n)).then((st) => st.mtimeMs, () => Date.now())) > minAgeMs;
    for (const n of entries.filter((e) => e.startsWith('.publish-'))) if (await old(n)) await fs.rm(path.join(dir, n), { recursive: true, force: true });
  }
}
