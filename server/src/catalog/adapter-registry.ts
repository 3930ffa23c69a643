/**
 * The adapter registry: every finished job publishes a new numbered version of its base model's
 * adapters under DATA/adapters/<model>/<version>/ (adapter.safetensors + adapter.json from
 * `glmedsa train`, plus version.json: base checksum, variant, data summary, validation metrics
 * before and after, job id, time). A version is assembled in a temporary folder and renamed into
 * place, so a crash leaves either no version or a complete one. The active version of each model
 * is DATA/adapters/<model>/active.json, written atomically.
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

  constructor(private readonly root: string) {}

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
      const existing = (await this.list(p.model)).find((v) => v.job === p.job);
      if (existing) return existing;
      const version = Math.max(0, ...(await fs.readdir(modelDir)).filter((n) => /^[1-9]\d*$/.test(n)).map(Number)) + 1;
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
    });
  }

  /** The active version of a model (null: the base model). */
  async active(model: string): Promise<number | null> {
    try {
      return ActiveSchema.parse(JSON.parse(await fs.readFile(path.join(this.modelDir(model), ACTIVE_FILE), 'utf8'))).version;
    } catch {
      return null;
    }
  }

  setActive(model: string, version: number | null): Promise<void> {
    return this.serial(async () => {
      await fs.mkdir(this.modelDir(model), { recursive: true });
      await writeJsonAtomic(path.join(this.modelDir(model), ACTIVE_FILE), { version, changed_at: new Date().toISOString() });
    });
  }

  /** Removes half-written publish folders a crash left behind (they never became versions). */
  async sweep(model: string): Promise<void> {
    const entries = await fs.readdir(this.modelDir(model)).catch(() => [] as string[]);
    await Promise.all(entries.filter((n) => n.startsWith('.publish-')).map((n) => fs.rm(path.join(this.modelDir(model), n), { recursive: true, force: true })));
  }
}
