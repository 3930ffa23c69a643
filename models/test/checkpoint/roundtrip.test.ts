/** Round trips through our writers, hand-built pickles (strided views, shared storages), and pickle decoding. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PyDict,
  PySet,
  PyTuple,
  ZipReader,
  readPth,
  readSafetensors,
  readSafetensorsHeader,
  readSafetensorsMetadata,
  parseSafetensors,
  unpickle,
  writeSafetensors,
  type StateDict,
} from '../../src/checkpoint/index.js';
import { OP, PickleWriter } from '../helpers/pickle-writer.js';
import { ZipWriter } from '../helpers/zip-writer.js';
import { writePth, writeTorchZip } from '../helpers/pth-writer.js';
import { type DType, type Tensor, numel, toBytes } from '../../src/tensor.js';
import { assertSameStateDict, emitDict, emitTensor, f32Bytes, randomTensor, tempDir, viewsPickle } from './helpers.js';
import { open } from 'node:fs/promises';

const DTYPES: DType[] = ['float32', 'float16', 'bfloat16', 'float64', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

function sampleDict(): StateDict {
  const d: StateDict = new Map();
  DTYPES.forEach((dtype, i) => d.set(`t.${dtype}`, randomTensor(dtype, [3, i + 1, 2])));
  d.set('scalar', randomTensor('float32', []));
  d.set('empty', randomTensor('float32', [0, 4]));
  d.set('odd.u8', randomTensor('uint8', [5]));
  d.set('z.last', randomTensor('float64', [7]));
  return d;
}

/** Reference strided gather: element i of the row-major output reads storage[offset + sum(idx*stride)]. */
function gather(storage: ArrayLike<number | bigint>, offset: number, shape: number[], stride: number[]): (number | bigint)[] {
  const out: (number | bigint)[] = [];
  const n = numel(shape);
  for (let flat = 0; flat < n; flat++) {
    let rem = flat;
    let p = offset;
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      p += (rem % shape[ax]!) * stride[ax]!;
      rem = Math.floor(rem / shape[ax]!);
    }
    out.push(storage[p]!);
  }
  return out;
}

test('writePth -> readPth keeps every dtype, scalars and zero-size tensors', async () => {
  const dir = await tempDir();
  const d = sampleDict();
  await writePth(join(dir, 'a.pth'), d);
  const back = await readPth(join(dir, 'a.pth'));
  assertSameStateDict(back, d);
  assert.deepEqual([...back.keys()], [...d.keys()]);
  assert.deepEqual(back.get('scalar')!.shape, []);
  assert.deepEqual(back.get('empty')!.shape, [0, 4]);
});

test('writePth writes a torch-style archive: archive/ prefix, byteorder, version, 64-byte aligned storages', async () => {
  const dir = await tempDir();
  await writePth(join(dir, 'a.pth'), sampleDict());
  const zip = await ZipReader.open(join(dir, 'a.pth'));
  try {
    assert.equal(zip.names()[0], 'archive/data.pkl');
    assert.equal(new TextDecoder().decode(await zip.read('archive/byteorder')), 'little');
    assert.equal(new TextDecoder().decode(await zip.read('archive/version')), '3\n');
    for (const name of zip.names().filter((n) => n.startsWith('archive/data/'))) {
      const e = zip.get(name)!;
      assert.equal(e.method, 0);
      assert.equal((await zip.dataOffset(e)) % 64, 0, name);
    }
  } finally {
    await zip.close();
  }
  assert.deepEqual((await readdir(dir)).sort(), ['a.pth'], 'no temp files left behind');
});

test('ZIP64 (forced) and deflated archives read back identically', async () => {
  const dir = await tempDir();
  const d = sampleDict();
  await writePth(join(dir, 'z64.pth'), d, { forceZip64: true, prefix: 'weights' });
  assertSameStateDict(await readPth(join(dir, 'z64.pth')), d);
  await writePth(join(dir, 'deflate.pth'), d, { compress: true });
  assertSameStateDict(await readPth(join(dir, 'deflate.pth')), d);
  const zip = await ZipReader.open(join(dir, 'deflate.pth'));
  assert.equal(zip.get('archive/data.pkl')!.method, 8);
  await zip.close();
});

test('ZIP reader handles an archive with more than 65535 entries (ZIP64 entry count)', async () => {
  const dir = await tempDir();
  const path = join(dir, 'many.zip');
  const fh = await open(path, 'w');
  const w = new ZipWriter(fh);
  const empty = new Uint8Array(0);
  for (let i = 0; i < 65540; i++) await w.add(`f/${i}`, empty);
  await w.add('f/last', new Uint8Array([1, 2, 3]));
  await w.finish();
  await fh.close();
  const zip = await ZipReader.open(path);
  try {
    assert.equal(zip.entries.size, 65541);
    assert.deepEqual([...(await zip.read('f/last'))], [1, 2, 3]);
  } finally {
    await zip.close();
  }
});

test('writeSafetensors -> readSafetensors/parseSafetensors keeps every dtype and the metadata', async () => {
  const dir = await tempDir();
  const d = sampleDict();
  const path = join(dir, 'a.safetensors');
  await writeSafetensors(path, d, { format: 'pt', note: 'hello' });
  assertSameStateDict(await readSafetensors(path), d);
  assertSameStateDict(parseSafetensors(new Uint8Array(await readFile(path)), path), d);
  assert.deepEqual(await readSafetensorsMetadata(path), { format: 'pt', note: 'hello' });
  const header = await readSafetensorsHeader(path);
  assert.equal(header.dataOffset % 8, 0, 'data section starts 8-byte aligned');
  // Layout: no gaps, each tensor aligned to its item size (like the reference writer).
  const sorted = [...header.tensors].sort((a, b) => a.begin - b.begin);
  let end = 0;
  for (const t of sorted) {
    assert.equal(t.begin, end, `${t.name} follows the previous tensor`);
    assert.equal(t.begin % { float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 }[t.dtype], 0);
    end = t.end;
  }
  assert.deepEqual((await readdir(dir)).sort(), ['a.safetensors']);
});

test('a failed write leaves the existing file untouched and no temp file', async () => {
  const dir = await tempDir();
  const path = join(dir, 'keep.safetensors');
  await writeFile(path, 'previous');
  const bad: StateDict = new Map([['w', { dtype: 'float32', shape: [3, 3], data: new Float32Array(4) } as Tensor]]);
  await assert.rejects(writeSafetensors(path, bad), /tensor 'w' has 4 elements of data, but its shape \[3, 3\] needs 9/);
  await assert.rejects(writePth(path, bad), /tensor 'w' has 4 elements/);
  assert.equal(await readFile(path, 'utf8'), 'previous');
  assert.deepEqual(await readdir(dir), ['keep.safetensors']);
  await assert.rejects(writePth(join(dir, 'missing-dir', 'x.pth'), new Map()), /ENOENT/);
});

test('strided views: transposed, permuted 3-D int64, offset rows, stride-0 broadcast, all sharing storages read once', async () => {
  const dir = await tempDir();
  const base = [0, 1, 2, 3, 4, 5]; // a 2x3 matrix
  const i64 = BigInt64Array.from({ length: 24 }, (_, i) => BigInt(i) * 0x100000001n - 7n);
  const views: [string, Parameters<typeof emitTensor>[1]][] = [
    ['w', { key: 'm', numel: 6, shape: [2, 3], stride: [3, 1] }],
    ['wt', { key: 'm', numel: 6, shape: [3, 2], stride: [1, 3] }],
    ['row1', { key: 'm', numel: 6, offset: 3, shape: [3], stride: [1] }],
    ['col2', { key: 'm', numel: 6, offset: 2, shape: [2], stride: [3] }],
    ['bcast', { key: 'm', numel: 6, offset: 1, shape: [4, 2], stride: [0, 3] }],
    ['empty', { key: 'm', numel: 6, offset: 6, shape: [0, 3], stride: [3, 1] }],
    ['perm', { key: 'q', cls: 'LongStorage', numel: 24, offset: 0, shape: [4, 3, 2], stride: [1, 8, 4] }],
    ['perm_off', { key: 'q', cls: 'LongStorage', numel: 24, offset: 1, shape: [2, 2, 2], stride: [12, 1, 4] }],
  ];
  const reads: string[] = [];
  await writeTorchZip(join(dir, 'v.pth'), viewsPickle(views), [
    ['m', f32Bytes(base)],
    ['q', toBytes(i64)],
  ]);
  const d = await readPth(join(dir, 'v.pth'), { onStorageRead: (key) => reads.push(key) });
  assert.deepEqual(reads.sort(), ['m', 'q'], 'each storage is read exactly once');
  for (const [name, v] of views) {
    const t = d.get(name)!;
    assert.deepEqual(t.shape, v.shape, name);
    const src = v.cls === 'LongStorage' ? i64 : Float32Array.from(base);
    assert.deepEqual([...(t.data as ArrayLike<number | bigint> & Iterable<number | bigint>)], gather(src, v.offset ?? 0, v.shape, v.stride), name);
  }
  assert.deepEqual([...(d.get('wt')!.data as Float32Array)], [0, 3, 1, 4, 2, 5]);
  // Tensors never alias each other's memory.
  (d.get('w')!.data as Float32Array)[0] = 99;
  assert.equal((d.get('wt')!.data as Float32Array)[0], 0);
});

test('wrapper checkpoints: state_dict picked, other entries ignored and their storages never read', async () => {
  const dir = await tempDir();
  const w = new PickleWriter().proto(2);
  w.emptyDict().mark();
  w.str('epoch', false).int(12);
  w.str('optimizer', false);
  emitDict(w, [['exp_avg', (x) => void emitTensor(x, { key: '9', numel: 2, shape: [2], stride: [1] })]]);
  w.str('state_dict', false);
  emitDict(w, [['layer.weight', (x) => void emitTensor(x, { key: '0', numel: 4, shape: [2, 2], stride: [2, 1] })]]);
  w.setitems().stop();
  const reads: string[] = [];
  // storage 9 is deliberately missing: it must not be needed.
  await writeTorchZip(join(dir, 'wrap.pth'), w.toBytes(), [['0', f32Bytes([1, 2, 3, 4])]]);
  const d = await readPth(join(dir, 'wrap.pth'), { onStorageRead: (k) => reads.push(k) });
  assert.deepEqual([...d.keys()], ['layer.weight']);
  assert.deepEqual([...(d.get('layer.weight')!.data as Float32Array)], [1, 2, 3, 4]);
  assert.deepEqual(reads, ['0']);
});

test('real torch details: state_dict _metadata BUILD, _rebuild_parameter, v3 with UntypedStorage, protocol 4 framing', async () => {
  const dir = await tempDir();
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  // nn.Parameter(tensor)
  w.str('p', false).global('torch._utils', '_rebuild_parameter').mark();
  emitTensor(w, { key: '0', numel: 2, shape: [2], stride: [1] });
  w.bool(true).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  // _rebuild_tensor_v3(UntypedStorage of 4 bytes, 0, (2,), (1,), False, OrderedDict(), torch.float16)
  w.str('h', false).global('torch._utils', '_rebuild_tensor_v3').mark();
  w.mark().str('storage').global('torch', 'UntypedStorage').str('1', false).str('cpu').int(4).tuple().binpersid();
  w.int(0).intTuple([2]).intTuple([1]).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
  w.global('torch', 'float16').tuple().reduce();
  w.setitems();
  // state_dict()'s OrderedDict carries _metadata, restored with BUILD.
  w.emptyDict().str('_metadata', false).global('collections', 'OrderedDict').emptyTuple().reduce();
  w.str('', false).emptyDict().str('version', false).int(1).setitem().setitem().setitem().build();
  w.stop();
  await writeTorchZip(join(dir, 't.pth'), w.toBytes(), [
    ['0', f32Bytes([1.5, -2])],
    ['1', new Uint8Array([0x00, 0x3c, 0x00, 0xc0])], // float16 1.0, -2.0
  ]);
  const d = await readPth(join(dir, 't.pth'));
  assert.deepEqual([...(d.get('p')!.data as Float32Array)], [1.5, -2]);
  assert.equal(d.get('h')!.dtype, 'float16');
  assert.deepEqual([...(d.get('h')!.data as Uint16Array)], [0x3c00, 0xc000]);

  // Protocol 4: FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, EMPTY_DICT + SETITEM.
  const p4 = new PickleWriter().raw(OP.PROTO, 4, OP.FRAME, new Uint8Array(8));
  const s = (x: string) => p4.raw(OP.SHORT_BINUNICODE, x.length, new TextEncoder().encode(x), OP.MEMOIZE);
  p4.raw(OP.EMPTY_DICT, OP.MEMOIZE);
  s('x');
  s('torch._utils');
  s('_rebuild_tensor_v2');
  p4.raw(OP.STACK_GLOBAL, OP.MEMOIZE, OP.MARK, OP.MARK);
  s('storage');
  s('torch');
  s('FloatStorage');
  p4.raw(OP.STACK_GLOBAL, OP.MEMOIZE);
  s('0');
  s('cpu');
  p4.int(2).raw(OP.TUPLE, OP.MEMOIZE, OP.BINPERSID);
  // (_rebuild_tensor_v2 accepts any backward_hooks value; None here.)
  p4.int(0).intTuple([2]).intTuple([1]).bool(false).raw(OP.NONE, OP.TUPLE, OP.REDUCE, OP.SETITEM, OP.STOP);
  await writeTorchZip(join(dir, 'p4.pth'), p4.toBytes(), [['0', f32Bytes([7, 8])]]);
  const d4 = await readPth(join(dir, 'p4.pth'));
  assert.deepEqual([...(d4.get('x')!.data as Float32Array)], [7, 8]);
});

test('unpickle decodes the text and binary scalar opcodes', () => {
  const w = new PickleWriter().proto(2).emptyList().mark();
  w.raw(OP.INT).line('42').raw(OP.INT).line('-7').raw(OP.INT).line('01');
  w.raw(OP.LONG).line('123456789012345678901234567890L');
  w.raw(OP.FLOAT).line('1.5e3').float(-0.25);
  w.raw(OP.UNICODE).line('caf\\u00e9 \\U0001F600');
  w.raw(OP.BINSTRING, new Uint8Array([3, 0, 0, 0])).raw(new TextEncoder().encode('abc'));
  w.raw(OP.SHORT_BINSTRING, 2).raw(new TextEncoder().encode('hi'));
  w.int(-(2n ** 70n)).int(2 ** 40).int(-300).int(65535);
  w.raw(OP.LONG4, new Uint8Array([2, 0, 0, 0, 0xff, 0x7f]));
  w.bytes(new Uint8Array([1, 2])).raw(OP.BINBYTES8, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 9);
  w.none().bool(true).bool(false);
  w.int(1).int(2).tuple(2).raw(OP.PUT).line('77').raw(OP.GET).line('77');
  w.raw(OP.EMPTY_SET).mark().int(5).raw(OP.ADDITEMS).mark().int(6).raw(OP.FROZENSET);
  w.mark().str('k').int(1).raw(OP.DICT);
  w.str('x').raw(OP.DUP, OP.POP).mark().int(0).raw(OP.POP_MARK);
  w.appends().raw(OP.EMPTY_LIST).int(3).raw(OP.APPEND, OP.APPEND).stop();
  const v = unpickle(w.toBytes(), { globals: new Map() }) as unknown[];
  assert.deepEqual(v.slice(0, 13), [
    42, -7, true, 123456789012345678901234567890n, 1500, -0.25, 'café 😀', 'abc', 'hi', -(2n ** 70n), 2 ** 40, -300, 65535,
  ]);
  assert.equal(v[13], 0x7fff);
  assert.deepEqual([...(v[14] as Uint8Array)], [1, 2]);
  assert.deepEqual([...(v[15] as Uint8Array)], [9]);
  assert.deepEqual(v.slice(16, 19), [null, true, false]);
  assert.deepEqual((v[19] as PyTuple).items, [1, 2]);
  assert.equal(v[20], v[19], 'memo GET returns the same object');
  assert.deepEqual((v[21] as PySet).items, [5]);
  assert.ok((v[22] as PySet).frozen);
  assert.equal((v[23] as PyDict).map.get('k'), 1);
  assert.equal(v[24], 'x');
  assert.deepEqual(v[25], [3]);
  assert.equal(v.length, 26);
});
