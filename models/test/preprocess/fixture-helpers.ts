/**
 * Test helpers: a tiny safetensors reader (kept local to the tests on purpose) and the location of
 * the parity fixtures (`shared/fixtures/parity`, looked up from this file's folder upwards, or
 * `$GLMEDSA_PARITY_FIXTURES`).
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBytes, type DType, type Tensor } from '../../src/tensor.js';

const DTYPES: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Reads every tensor of a .safetensors file: 8-byte LE header length, JSON header, raw LE data. */
export function readSafetensors(path: string): Map<string, Tensor> {
  const file = readFileSync(path);
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, HeaderEntry | Record<string, string>>;
  const dataStart = 8 + headerLen;
  const out = new Map<string, Tensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as HeaderEntry;
    const dtype = DTYPES[e.dtype];
    if (!dtype) throw new Error(`unsupported safetensors dtype ${e.dtype}`);
    const [s, t] = e.data_offsets;
    out.set(name, { dtype, shape: e.shape, data: fromBytes(dtype, bytes.slice(dataStart + s, dataStart + t)) });
  }
  return out;
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

/** The parity fixtures folder, or null when it cannot be found. */
export function parityDir(): string | null {
  const env = process.env['GLMEDSA_PARITY_FIXTURES'];
  if (env && existsSync(env)) return env;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'shared', 'fixtures', 'parity');
    if (existsSync(join(candidate, 'README.md'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
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
