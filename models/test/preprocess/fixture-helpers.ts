/** Test helpers for the preprocessing tests: loading the parity fixtures' tensors and cases. */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSafetensors } from '../../src/checkpoint/index.js';
import { type DType, type Tensor } from '../../src/tensor.js';
import { PARITY_FIXTURES } from '../helpers/paths.js';

/** Reads every tensor of a .safetensors file with the project's reader. */
export function readSafetensors(path: string): Map<string, Tensor> {
  const file = readFileSync(path);
  return parseSafetensors(new Uint8Array(file.buffer, file.byteOffset, file.byteLength), path);
}

/** Gets a tensor of the expected dtype or throws. */
export function get<D extends DType>(tensors: Map<string, Tensor>, name: string, dtype: D): Tensor<D> {
  const t = tensors.get(name);
  if (!t) throw new Error(`fixture has no tensor ${name}`);
  if (t.dtype !== dtype) throw new Error(`fixture tensor ${name} is ${t.dtype}, expected ${dtype}`);
  return t as Tensor<D>;
}

/** One prompt case of a fixture.json. */
export interface FixtureCase {
  name: string;
  points: [number, number][] | null;
  labels: number[] | null;
  box: [number, number, number, number] | null;
  mask: boolean;
  multimask: boolean;
}

/** The parts of fixture.json these tests use. */
export interface FixtureJson {
  model: { img_size: number; variant: string };
  original_size_hw: [number, number];
  input_size_hw: [number, number];
  cases: FixtureCase[];
}

/** The parity fixtures folder (the in-repo copy of shared/fixtures/parity). */
export function parityDir(): string {
  return PARITY_FIXTURES;
}

/** The fixture folders the preprocessing tests use. */
export const FIXTURE_NAMES = ['sam_tiny', 'glmedsa_tiny'] as const;

/** A loaded fixture: its JSON and io.safetensors tensors. */
export interface Fixture {
  name: string;
  json: FixtureJson;
  io: Map<string, Tensor>;
}

const cache = new Map<string, Fixture>();

/** Loads a fixture folder (cached). */
export function loadFixture(root: string, name: string): Fixture {
  const hit = cache.get(name);
  if (hit) return hit;
  const json = JSON.parse(readFileSync(join(root, name, 'fixture.json'), 'utf8')) as FixtureJson;
  const io = readSafetensors(join(root, name, 'io.safetensors'));
  const f = { name, json, io };
  cache.set(name, f);
  return f;
}
