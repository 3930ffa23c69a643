/** Shared helpers for the checkpoint tests: temp dirs, hand-built torch pickles, tensor comparison. */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PickleWriter } from '../helpers/pickle-writer.js';
import type { StateDict } from '../../src/checkpoint/common.js';
import { type DType, type Tensor, fromBytes, numel, toBytes } from '../../src/tensor.js';

/** A fresh temp directory, removed when the test file finishes. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ckpt-test-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A tensor of random bytes (bool: 0/1) of `dtype` and `shape`. */
export function randomTensor(dtype: DType, shape: number[]): Tensor {
  const n = numel(shape);
  const size = { float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 }[dtype];
  const bytes = new Uint8Array(randomBytes(n * size));
  if (dtype === 'bool') for (let i = 0; i < bytes.length; i++) bytes[i]! &= 1;
  return { dtype, shape, data: fromBytes(dtype, bytes.slice()) };
}

/** Asserts two state dicts have the same keys (in any order), dtypes, shapes and bytes. */
export function assertSameStateDict(actual: StateDict, expected: StateDict): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k)!;
    assert.equal(a.dtype, e.dtype, `dtype of ${k}`);
    assert.deepEqual(a.shape, e.shape, `shape of ${k}`);
    assert.ok(Buffer.from(toBytes(a.data)).equals(Buffer.from(toBytes(e.data))), `bytes of ${k}`);
  }
}

/** A tensor view to emit with `_rebuild_tensor_v2`. */
export interface ViewSpec {
  key: string;
  /** torch storage class, default FloatStorage. */
  cls?: string;
  /** Declared storage size in elements. */
  numel: number;
  offset?: number;
  shape: number[];
  stride: number[];
}

/** Emits `torch._utils._rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())`. */
export function emitTensor(w: PickleWriter, v: ViewSpec): PickleWriter {
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().str('storage').global('torch', v.cls ?? 'FloatStorage').str(v.key, false).str('cpu').int(v.numel).tuple().binpersid();
  w.int(v.offset ?? 0).intTuple(v.shape).intTuple(v.stride).bool(false);
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  return w.tuple().reduce();
}

/** Emits an OrderedDict whose values are written by the callbacks. */
export function emitDict(w: PickleWriter, entries: [string, (w: PickleWriter) => void][]): PickleWriter {
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  if (entries.length === 0) return w;
  w.mark();
  for (const [k, emit] of entries) {
    w.str(k, false);
    emit(w);
  }
  return w.setitems();
}

/** A protocol-2 pickle of an OrderedDict of tensor views. */
export function viewsPickle(views: [string, ViewSpec][]): Uint8Array {
  const w = new PickleWriter().proto(2);
  emitDict(
    w,
    views.map(([k, v]) => [k, (x: PickleWriter) => void emitTensor(x, v)]),
  );
  return w.stop().toBytes();
}

/** Float32 bytes of the given values. */
export function f32Bytes(values: number[]): Uint8Array {
  return toBytes(Float32Array.from(values));
}
