/**
 * The models the server serves, by id: exported folders, or checkpoints exported once at start
 * (and reused while the checkpoint and settings are unchanged).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { type ModelManifest, PRESETS, exportModel, loadCheckpoint, openModelFolder, readConfigFile } from '@glmedsa/models';
import type { Logger } from 'pino';
import type { ModelEntryConfig } from '../config/schema.js';

export interface ServedModel {
  id: string;
  dir: string;
  manifest: ModelManifest;
  /** The id the inference workers know this model by: the model id, or `<id>@v<version>` with an adapter. */
  runtimeId: string;
  /** The adapter version served (null: the base model). */
  adapterVersion: number | null;
}

/**
 * The models served now, by id. Activating an adapter version replaces a model's entry with the
 * merged model; a request holds the entry it started with, so it finishes on that version.
 */
export class ModelCatalog {
  private readonly bases: Map<string, ServedModel>;
  private readonly current: Map<string, ServedModel>;

  constructor(models: ServedModel[]) {
    this.bases = new Map(models.map((m) => [m.id, m]));
    this.current = new Map(this.bases);
  }

  get(id: string): ServedModel | undefined {
    return this.current.get(id);
  }

  base(id: string): ServedModel | undefined {
    return this.bases.get(id);
  }

  list(): ServedModel[] {
    return [...this.current.values()];
  }

  ids(): string[] {
    return [...this.current.keys()];
  }

  /** Serves `model` under its id from now on; returns the entry it replaces. */
  swap(model: ServedModel): ServedModel {
    const old = this.current.get(model.id);
    if (!old) throw new Error(`no model '${model.id}' to replace`);
    this.current.set(model.id, model);
    return old;
  }
}

async function exportCheckpoint(entry: ModelEntryConfig, dataDir: string, log: Logger): Promise<string> {
  const out = entry.exportDir ?? path.join(dataDir, 'models', entry.id);
  const ckpt = path.resolve(entry.checkpoint!);
  const st = await fs.stat(ckpt).catch(() => {
    throw new Error(`model '${entry.id}': checkpoint ${ckpt} does not exist`);
  });
  const stamp = `${path.basename(ckpt)}:${st.size}:${st.mtimeMs}:${entry.variant ?? 'sam'}:${entry.inputSize ?? ''}:${entry.preset ?? entry.config}`;
  const stampFile = path.join(out, '.source');
  if (existsSync(path.join(out, 'model.json')) && (await fs.readFile(stampFile, 'utf8').catch(() => '')) === stamp) return out;
  log.info({ model: entry.id, checkpoint: ckpt }, 'exporting the checkpoint to ONNX (once)');
  const raw: Record<string, unknown> = entry.preset ? { ...PRESETS[entry.preset] } : await readConfigFile(entry.config!);
  raw['variant'] = entry.variant ?? 'sam';
  const loaded = await loadCheckpoint(ckpt, raw);
  await exportModel({
    config: loaded.config,
    weights: loaded.weights,
    outDir: out,
    ...(entry.inputSize ? { inputSize: entry.inputSize } : {}),
    name: entry.id,
    source: { checkpoint: path.basename(ckpt), ...(entry.preset ? { preset: entry.preset } : {}), initialized_adapters: loaded.initialized.length },
    progress: (e) => {
      if (e.done === e.total) log.info({ model: entry.id }, 'export finished');
    },
  });
  await fs.writeFile(stampFile, stamp);
  return out;
}

export async function resolveModels(entries: ModelEntryConfig[], dataDir: string, log: Logger): Promise<ServedModel[]> {
  const models: ServedModel[] = [];
  for (const entry of entries) {
    const dir = entry.dir ? path.resolve(entry.dir) : await exportCheckpoint(entry, dataDir, log);
    const folder = await openModelFolder(dir);
    models.push({ id: entry.id, dir, manifest: folder.manifest, runtimeId: entry.id, adapterVersion: null });
  }
  return models;
}

