/**
 * Resumable training state: parameters and AdamW moments in one safetensors file written
 * atomically, with the step and a key of the run's options so a resume continues the same run.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Weights } from '../sam/weights.js';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../checkpoint/index.js';
import { type Tensor, float32 } from '../tensor.js';
import { AdamW } from './adamw.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

interface TrainingState {
  step: number;
  runKey: string;
  /** Running averages shown in progress (restored so the display continues smoothly). */
  stats: Record<string, number>;
}

async function saveCheckpoint(
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
async function loadCheckpoint(
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

/** A run's trainable tensors (the same objects as in the weights), its optimizer and where it starts. */
interface RunState {
  params: Map<string, Tensor<'float32'>>;
  optimizer: AdamW;
  /** The step to start at: the checkpoint's when resuming the same run, else 0. */
  start: number;
  /** The running figures saved with the checkpoint (empty when starting afresh). */
  stats: Record<string, number>;
  /** Writes the checkpoint of the steps done so far. */
  save(step: number, stats: Record<string, number>): Promise<void>;
}

/**
 * Opens a training run in `workDir`: resumes from its checkpoint (refusing one of another run) when
 * `resume` is set, otherwise removes any checkpoint there and starts at step 0.
 */
export async function startRun(o: { weights: Weights; trainable: string[]; lr: number; weightDecay?: number; workDir: string; runKey: string; resume?: boolean }): Promise<RunState> {
  const params = new Map<string, Tensor<'float32'>>();
  for (const name of o.trainable) {
    const t = o.weights.get(name);
    if (!t) throw new Error(`unknown trainable parameter ${name}`);
    params.set(name, t);
  }
  const optimizer = new AdamW({ lr: o.lr, weightDecay: o.weightDecay ?? 0 });
  await mkdir(o.workDir, { recursive: true });
  const file = path.join(o.workDir, CHECKPOINT_FILE);
  let start = 0;
  let stats: Record<string, number> = {};
  if (o.resume) {
    const state = await loadCheckpoint(file, params, optimizer, o.runKey);
    if (state) ({ step: start, stats } = state);
  } else {
    await rm(file, { force: true });
  }
  return { params, optimizer, start, stats, save: (step, s) => saveCheckpoint(file, params, optimizer, { step, runKey: o.runKey, stats: s }) };
}
