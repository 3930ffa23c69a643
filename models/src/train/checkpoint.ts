/**
 * Resumable training state: parameters and AdamW moments in one safetensors file written
 * atomically, with the step and a key of the run's options so a resume continues the same run.
 */
import { existsSync } from 'node:fs';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../checkpoint/index.js';
import { type Tensor, float32 } from '../tensor.js';
import type { AdamW } from './adamw.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

interface TrainingState {
  step: number;
  runKey: string;
  /** Running averages shown in progress (restored so the display continues smoothly). */
  stats: Record<string, number>;
}

export async function saveCheckpoint(
  file: string,
  params: Map<string, Tensor<'float32'>>,
  optimizer: AdamW,
  state: TrainingState,
): Promise<void> {
  const dict = new Map<string, Tensor>();
  for (const [name, t] of params) {
    dict.set(`param.${name}`, t);
    const m = optimizer.state.m.get(name);
    const v = optimizer.state.v.get(name);
    if (m && v) {
      dict.set(`adam_m.${name}`, float32(t.shape, m));
      dict.set(`adam_v.${name}`, float32(t.shape, v));
    }
  }
  await writeSafetensors(file, dict, {
    step: String(state.step),
    adam_step: String(optimizer.state.step),
    run_key: state.runKey,
    stats: JSON.stringify(state.stats),
  });
}

/** Restores parameters and optimizer moments in place; returns the saved state, or null when absent. */
export async function loadCheckpoint(
  file: string,
  params: Map<string, Tensor<'float32'>>,
  optimizer: AdamW,
  runKey: string,
): Promise<TrainingState | null> {
  if (!existsSync(file)) return null;
  const meta = await readSafetensorsMetadata(file);
  if (meta['run_key'] !== runKey) {
    throw new Error(`${file} belongs to a run with other options (data, model, seed or hyper-parameters); remove it or resume with the same options`);
  }
  const dict = await readSafetensors(file);
  for (const [name, t] of params) {
    const p = dict.get(`param.${name}`);
    if (!p || p.data.length !== t.data.length) throw new Error(`${file} lacks parameter ${name}`);
    t.data.set(p.data as Float32Array);
    const m = dict.get(`adam_m.${name}`);
    const v = dict.get(`adam_v.${name}`);
    if (m && v) {
      optimizer.state.m.set(name, Float32Array.from(m.data as Float32Array));
      optimizer.state.v.set(name, Float32Array.from(v.data as Float32Array));
    }
  }
  optimizer.state.step = Number(meta['adam_step'] ?? 0);
  return { step: Number(meta['step']), runKey, stats: JSON.parse(meta['stats'] ?? '{}') as Record<string, number> };
}
