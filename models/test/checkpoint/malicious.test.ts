/** Hostile and broken inputs: each must be refused with a precise message naming the file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ZipReader,
  readCheckpoint,
  readPth,
  readSafetensors,
  parseSafetensors,
  unpickle,
  unpickleTorch,
  TORCH_GLOBALS,
} from '../../src/checkpoint/index.js';
import { OP, PickleWriter } from '../helpers/pickle-writer.js';
import { writePth, writeTorchZip } from '../helpers/pth-writer.js';
import { fixtureFile } from '../helpers/paths.js';
import { emitDict, emitTensor, f32Bytes, tempDir, viewsPickle } from './helpers.js';

const dir = await tempDir();
let counter = 0;

/** Writes `pickle` as data.pkl of a torch zip with `storages`, and returns the readPth rejection. */
async function pthWith(pickle: Uint8Array, storages: [string, Uint8Array][] = [], byteorder?: string): Promise<string> {
  const path = join(dir, `case${counter++}.pth`);
  await writeTorchZip(path, pickle, storages, byteorder === undefined ? {} : { byteorder });
  return path;
}

function refused(name: string): RegExp {
  const escaped = name.replace(/\./g, '\\.');
  return new RegExp(
    `checkpoint refused: data\\.pkl references the Python global '${escaped}', which is not allowed in a tensor state dict ` +
      '\\(only tensors, numbers, strings, lists and dicts are accepted\\)',
  );
}

/** Writes raw bytes to a temp file. */
async function fileWith(bytes: Uint8Array | string, ext: string): Promise<string> {
  const path = join(dir, `raw${counter++}.${ext}`);
  await writeFile(path, bytes);
  return path;
}

// ---- pickle: globals and opcodes

test('os.system via GLOBAL is refused, naming the file and the global', async () => {
  const p = new PickleWriter().proto(2).global('os', 'system').str('echo pwned').tuple(1).reduce().stop().toBytes();
  const path = await pthWith(p);
  await assert.rejects(readPth(path), (e: Error) => {
    assert.ok(e.message.startsWith(`${path}: `), e.message);
    assert.match(e.message, refused('os.system'));
    return true;
  });
  await assert.rejects(readCheckpoint(path), refused('os.system'));
});

test('os.system via STACK_GLOBAL is refused', async () => {
  const p = new PickleWriter().proto(4).stackGlobal('os', 'system').str('id').tuple(1).reduce().stop().toBytes();
  await assert.rejects(readPth(await pthWith(p)), refused('os.system'));
});

test('builtins.eval via REDUCE, and other non-tensor globals, are refused before anything is called', () => {
  const evil = new PickleWriter().proto(2).global('builtins', 'eval').str('__import__("os")').tuple(1).reduce().stop();
  assert.throws(() => unpickleTorch(evil.toBytes()), refused('builtins.eval'));
  for (const [m, n] of [
    ['subprocess', 'Popen'],
    ['argparse', 'Namespace'],
    ['numpy.core.multiarray', '_reconstruct'],
    ['builtins', 'set'],
    ['torch', 'load'],
  ]) {
    const p = new PickleWriter().proto(4).stackGlobal(m!, n!).emptyTuple().raw(OP.NEWOBJ).stop().toBytes();
    assert.throws(() => unpickleTorch(p), refused(`${m}.${n}`));
  }
});

test('REDUCE/NEWOBJ only apply to allow-listed callables', () => {
  const onString = new PickleWriter().proto(2).str('os.system').emptyTuple().reduce().stop().toBytes();
  assert.throws(() => unpickleTorch(onString), /REDUCE applied to string "os\.system", which is not an allowed callable/);
  const onMarker = new PickleWriter().proto(2).global('torch', 'FloatStorage').emptyTuple().reduce().stop().toBytes();
  assert.throws(() => unpickleTorch(onMarker), /torch\.FloatStorage cannot be used with REDUCE/);
  const badArgs = new PickleWriter().proto(2).global('collections', 'OrderedDict').str('x').tuple(1).reduce().stop().toBytes();
  assert.throws(() => unpickleTorch(badArgs), /only an empty OrderedDict\(\) can be created/);
});

test('INST, OBJ and EXT opcodes are refused even with allowed classes', async () => {
  const inst = new PickleWriter().proto(2).mark().raw(OP.INST).line('collections').line('OrderedDict').stop().toBytes();
  await assert.rejects(readPth(await pthWith(inst)), /creates arbitrary Python objects and is not allowed.*opcode INST at byte 3/);
  const instOs = new PickleWriter().proto(2).mark().raw(OP.INST).line('os').line('system').stop().toBytes();
  assert.throws(() => unpickleTorch(instOs), /opcode INST/);
  const obj = new PickleWriter().proto(2).mark().global('collections', 'OrderedDict').raw(OP.OBJ).stop().toBytes();
  assert.throws(() => unpickleTorch(obj), /creates arbitrary Python objects.*opcode OBJ/);
  const ext = new PickleWriter().proto(2).raw(OP.EXT1, 1).stop().toBytes();
  assert.throws(() => unpickleTorch(ext), /extension registry opcodes are not allowed.*EXT1/);
});

test('BUILD on a non-tensor is refused; BUILD on a tensor is ignored', () => {
  const onList = new PickleWriter().proto(2).emptyList().emptyDict().build().stop().toBytes();
  assert.throws(() => unpickleTorch(onList), /BUILD \(setting object state\) is only allowed on tensors, not on list of length 0/);
  const onPlainDict = new PickleWriter().proto(2).emptyDict().emptyDict().build().stop().toBytes();
  assert.throws(() => unpickleTorch(onPlainDict), /not on dict of 0 entries/);
  const onTensor = new PickleWriter().proto(2);
  emitTensor(onTensor, { key: '0', numel: 1, shape: [1], stride: [1] }).emptyDict().build().stop();
  assert.ok(unpickleTorch(onTensor.toBytes()));
});

test('unknown opcodes, truncated data, huge lengths, memo and nesting limits', () => {
  const run = (b: PickleWriter | Uint8Array, opts = {}) =>
    unpickle(b instanceof PickleWriter ? b.toBytes() : b, { globals: TORCH_GLOBALS, ...opts });
  assert.throws(() => run(new PickleWriter().proto(2).raw(0xff)), /unknown pickle opcode 0xff \(opcode 0xff at byte 2\)/);
  assert.throws(() => run(new PickleWriter().proto(6)), /unsupported pickle protocol 6/);
  assert.throws(() => run(new PickleWriter().proto(2).none()), /ends without a STOP opcode/);
  // A 4 GB string length in a 10-byte pickle: refused without allocating.
  assert.throws(() => run(new PickleWriter().proto(2).raw(OP.BINUNICODE, new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0x41)), /truncated pickle: 4294967295 bytes needed but only 1 remain/);
  assert.throws(() => run(new PickleWriter().proto(4).raw(OP.BINBYTES8, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x7f]))), /truncated pickle: \d+ bytes needed but only 0 remain/);
  assert.throws(() => run(new PickleWriter().proto(4).raw(OP.FRAME, new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0]))), /truncated pickle/);
  const memo = new PickleWriter().proto(2).none();
  for (let i = 0; i < 11; i++) memo.raw(OP.BINPUT, i);
  assert.throws(() => run(memo.stop(), { maxMemo: 10 }), /memo limit of 10 entries exceeded/);
  assert.throws(() => run(new PickleWriter().proto(2).raw(OP.BINGET, 3).stop()), /memo key 3 was never stored/);
  const deep = new PickleWriter().proto(2);
  for (let i = 0; i < 300; i++) deep.mark();
  assert.throws(() => run(deep), /nesting deeper than 256 MARKs/);
  assert.throws(() => run(new PickleWriter().proto(2).raw(OP.TUPLE)), /no MARK to pop to/);
  assert.throws(() => run(new PickleWriter().proto(2).raw(OP.POP)), /no MARK to pop to/);
  assert.throws(() => run(new PickleWriter().proto(2).emptyList().raw(OP.SETITEM)), /stack underflow/);
  assert.throws(() => run(new PickleWriter().proto(2).emptyList().str('k').int(1).setitem()), /cannot set items on list of length 0/);
  assert.throws(() => run(new PickleWriter().proto(2).emptyDict().emptyList().int(1).setitem()), /unsupported dict key: list/);
  assert.throws(() => run(new PickleWriter().proto(2).emptyDict().int(1).raw(OP.APPEND)), /cannot append to dict/);
  assert.throws(() => run(new PickleWriter().proto(2).emptyDict().emptyList().int(1).raw(OP.TUPLE2).int(1).setitem()), /unsupported dict key: tuple/);
  assert.throws(() => run(new PickleWriter().proto(2).raw(OP.SHORT_BINUNICODE, 2, 0xc3, 0x28).stop()), /not valid UTF-8/);
  assert.throws(() => run(new PickleWriter().proto(2).raw(OP.INT).line('12x').stop()), /invalid integer literal "12x"/);
  assert.throws(() => run(new PickleWriter().proto(2).raw(OP.BINPERSID)), /stack underflow/);
  assert.throws(() => unpickle(new PickleWriter().proto(2).str('x').raw(OP.BINPERSID).stop().toBytes(), { globals: new Map() }), /persistent ids are not allowed here/);
});

test('persistent ids must be well-formed storage tuples', () => {
  const pid = (build: (w: PickleWriter) => void) => {
    const w = new PickleWriter().proto(2).mark();
    build(w);
    return w.tuple().binpersid().stop().toBytes();
  };
  assert.throws(() => unpickleTorch(pid((w) => w.str('storage').global('torch', 'FloatStorage').str('0').str('cpu'))), /is not a \('storage', type, key, location, numel\) tuple/);
  assert.throws(() => unpickleTorch(pid((w) => w.str('module').global('torch', 'FloatStorage').str('0').str('cpu').int(1))), /persistent id of kind string "module"/);
  assert.throws(() => unpickleTorch(pid((w) => w.str('storage').global('torch', 'float32').str('0').str('cpu').int(1))), /storage type global torch\.float32 is not a storage class/);
  assert.throws(() => unpickleTorch(pid((w) => w.str('storage').global('torch', 'FloatStorage').str('../x').str('cpu').int(1))), /storage key string "\.\.\/x" is not a valid name/);
});

// ---- pth structure

test('a storage key that does not exist in the archive', async () => {
  const p = viewsPickle([['encoder.weight', { key: '7', numel: 4, shape: [2, 2], stride: [2, 1] }]]);
  const path = await pthWith(p, [['0', f32Bytes([1, 2, 3, 4])]]);
  await assert.rejects(readPth(path), /tensor 'encoder\.weight' uses storage '7', but the archive has no entry 'archive\/data\/7'/);
});

test('a view whose size and stride reach past its storage', async () => {
  const p = viewsPickle([['w', { key: '0', numel: 6, shape: [3, 3], stride: [3, 1] }]]);
  await assert.rejects(
    readPth(await pthWith(p, [['0', f32Bytes([1, 2, 3, 4, 5, 6])]])),
    /tensor 'w' of shape \[3, 3\] with stride \[3, 1\] and offset 0 addresses element 8, but storage '0' has only 6 float32 elements/,
  );
  const off = viewsPickle([['b', { key: '0', numel: 6, offset: 5, shape: [2], stride: [1] }]]);
  await assert.rejects(readPth(await pthWith(off, [['0', f32Bytes([1, 2, 3, 4, 5, 6])]])), /tensor 'b' .* addresses element 6/);
});

test('stride-0 views that would expand a tiny storage into terabytes', async () => {
  const p = viewsPickle([['huge', { key: '0', numel: 1, shape: [1000000, 1000000], stride: [0, 0] }]]);
  await assert.rejects(
    readPth(await pthWith(p, [['0', f32Bytes([1])]])),
    /the tensors would need 4000000000000 bytes but their storages hold only 4 bytes \(largest: tensor 'huge'/,
  );
});

test('a storage entry whose size disagrees with the declared numel', async () => {
  const p = viewsPickle([['w', { key: '0', numel: 6, shape: [6], stride: [1] }]]);
  await assert.rejects(
    readPth(await pthWith(p, [['0', f32Bytes([1, 2, 3])]])),
    /storage '0' \(used by tensor 'w'\) should hold 24 bytes \(6 x float32\), but 'archive\/data\/0' has 12 bytes/,
  );
});

test('state dict selection: non-tensor entries, unknown wrappers, non-dict tops', async () => {
  const mixed = new PickleWriter().proto(2);
  emitDict(mixed, [
    ['w', (w) => void emitTensor(w, { key: '0', numel: 1, shape: [1], stride: [1] })],
    ['step', (w) => void w.int(3)],
  ]).stop();
  await assert.rejects(
    readPth(await pthWith(mixed.toBytes(), [['0', f32Bytes([1])]])),
    /the state dict entry 'step' is a number 3, not a tensor; a state dict may contain only tensors/,
  );
  const wrapper = new PickleWriter().proto(2).emptyDict().mark().str('epoch').int(1).str('args').str('x').setitems().stop();
  await assert.rejects(readPth(await pthWith(wrapper.toBytes())), /no state dict found: the checkpoint is a dict with keys \['epoch', 'args'\]/);
  const badInner = new PickleWriter().proto(2).emptyDict().str('state_dict');
  emitDict(badInner, [['lr', (w) => void w.float(0.1)]]).setitem().stop();
  await assert.rejects(readPth(await pthWith(badInner.toBytes())), /'state_dict' has entry 'lr' which is a number 0\.1, not a tensor/);
  const list = new PickleWriter().proto(2).emptyList().stop();
  await assert.rejects(readPth(await pthWith(list.toBytes())), /the checkpoint holds a list of length 0, not a dict of tensors/);
});

test('big-endian byteorder is refused', async () => {
  const p = viewsPickle([['w', { key: '0', numel: 1, shape: [1], stride: [1] }]]);
  await assert.rejects(readPth(await pthWith(p, [['0', f32Bytes([1])]], 'big')), /saved on a big-endian machine \(archive\/byteorder = "big"\)/);
});

test('a ZIP without data.pkl, and a legacy (pre-1.6) torch pickle', async () => {
  const path = join(dir, 'nopkl.pth');
  await writeTorchZip(path, new Uint8Array([0x80, 2, 0x4e, 0x2e]), [], { prefix: 'a/b' });
  await assert.rejects(readPth(path), /no '<folder>\/data\.pkl' entry \(entries: a\/b\/data\.pkl, a\/b\/byteorder/);
  // torch < 1.6: a bare pickle starting with the protocol-2 magic number.
  const legacy = new Uint8Array([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
  const lp = await fileWith(legacy, 'pth');
  const legacyRe = /legacy \(pre-1\.6, non-zip\) PyTorch checkpoint, which is not supported: re-save it with a newer PyTorch .* or convert it to safetensors/;
  await assert.rejects(readPth(lp), (e: Error) => e.message.startsWith(`${lp}: `) && legacyRe.test(e.message));
  await assert.rejects(readCheckpoint(lp), legacyRe);
});

// ---- zip level

test('a truncated ZIP (fixture cut in half)', async () => {
  const bytes = await readFile(fixtureFile('sam_tiny', 'weights.pth'));
  const path = await fileWith(bytes.subarray(0, bytes.length >> 1), 'pth');
  const re = /truncated ZIP archive: it starts like a ZIP file but has no end of central directory record/;
  await assert.rejects(readPth(path), (e: Error) => e.message.startsWith(`${path}: `) && re.test(e.message));
  await assert.rejects(readCheckpoint(path), re);
});

/** Offset of the central directory record of `name` in `bytes`. */
function centralRecord(bytes: Buffer, name: string): number {
  const needle = Buffer.concat([Buffer.from('PK\x01\x02', 'latin1')]);
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    const len = bytes.readUInt16LE(at + 28);
    if (bytes.toString('utf8', at + 46, at + 46 + len) === name) return at;
  }
  throw new Error(`no central record for ${name}`);
}

test('ZIP entries: encrypted, unsupported method, pointing outside the file, bad CRC, not a zip', async () => {
  const good = join(dir, 'good.pth');
  await writePth(good, new Map([['w', { dtype: 'float32', shape: [2], data: Float32Array.from([1, 2]) }]]));
  const bytes = await readFile(good);
  const patched = async (edit: (b: Buffer) => void) => {
    const b = Buffer.from(bytes);
    edit(b);
    return fileWith(b, 'pth');
  };
  const pkl = centralRecord(bytes, 'archive/data.pkl');
  await assert.rejects(readPth(await patched((b) => b.writeUInt16LE(0x0801, pkl + 8))), /ZIP entry 'archive\/data\.pkl' is encrypted; encrypted archives are not supported/);
  await assert.rejects(readPth(await patched((b) => b.writeUInt16LE(12, pkl + 10))), /ZIP entry 'archive\/data\.pkl' uses compression method 12; only stored \(0\) and deflate \(8\) are supported/);
  const st = centralRecord(bytes, 'archive/data/0');
  await assert.rejects(readPth(await patched((b) => b.writeUInt32LE(0x7ffffff0, st + 42))), /corrupt ZIP archive: entry 'archive\/data\/0' points outside the file data \(local header at 2147483632/);
  await assert.rejects(readPth(await patched((b) => b.writeUInt32LE(1 << 30, st + 20))), /entry 'archive\/data\/0' points outside the file data/);
  // Flip a byte inside data.pkl's content: the CRC check catches it.
  await assert.rejects(readPth(await patched((b) => (b[b.indexOf('_rebuild_tensor_v2')] ^= 0x01))), /CRC-32 of entry 'archive\/data\.pkl' is 0x[0-9a-f]{8} but the archive records 0x[0-9a-f]{8}/);
  await assert.rejects(ZipReader.open(await fileWith('x'.repeat(100), 'zip')), /not a ZIP archive: no end of central directory record found/);
  await assert.rejects(ZipReader.open(await fileWith('PK', 'zip')), /not a ZIP archive: the file is only 2 bytes long/);
});

// ---- safetensors

/** A safetensors file from a header (object or raw text), `dataLen` data bytes, and an optional declared length. */
function rawSafetensors(header: object | string, dataLen: number, declared?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declared ?? BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.alloc(dataLen)]);
}

test('safetensors: truncated file (fixture cut short)', async () => {
  const bytes = await readFile(fixtureFile('sam_tiny', 'weights.safetensors'));
  const path = await fileWith(bytes.subarray(0, bytes.length >> 1), 'safetensors');
  await assert.rejects(readSafetensors(path), (e: Error) =>
    e.message.startsWith(`${path}: file is truncated or corrupt: tensor '`) && /ends at data offset \d+, but the data section has only \d+ bytes/.test(e.message),
  );
  const headerOnly = await fileWith(bytes.subarray(0, 20), 'safetensors');
  await assert.rejects(readSafetensors(headerOnly), /declared header length 21352 is larger than the 12 bytes after the length prefix/);
});

test('safetensors: bad offsets, overlaps, wrong lengths, huge header length, bad JSON, bad dtype', async () => {
  const f32 = (shape: number[], offsets: [number, number]) => ({ dtype: 'F32', shape, data_offsets: offsets });
  const cases: [Uint8Array, RegExp][] = [
    [rawSafetensors({ a: f32([4], [0, 16]) }, 8), /tensor 'a' ends at data offset 16, but the data section has only 8 bytes/],
    [rawSafetensors({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12), /tensor 'b' \[4, 12\] overlaps tensor 'a' \[0, 8\]/],
    [rawSafetensors({ a: f32([3], [0, 8]) }, 12), /tensor 'a': data_offsets \[0, 8\] span 8 bytes, but float32 shape \[3\] needs 12 bytes/],
    [rawSafetensors({ a: f32([2], [8, 0]) }, 12), /data_offsets \[8, 0\] with end before begin/],
    [rawSafetensors({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, 0), /shape \[-1\], not a list of non-negative integers/],
    [rawSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /has data_offsets \[0\], not \[begin, end\]/],
    [rawSafetensors({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1), /tensor 'a' has unsupported dtype "F8_E4M3"/],
    [rawSafetensors({ __metadata__: { n: 1 } }, 0), /__metadata__ value for 'n' is not a string/],
    [rawSafetensors('{"a": ', 4), /invalid safetensors header: /],
    [rawSafetensors('[1, 2]', 4), /it does not start with a JSON object/],
    [rawSafetensors({}, 0, 1n << 60n), /declared header length 1152921504606846976 is larger than the 2 bytes after the length prefix/],
    [new Uint8Array([1, 2, 3]), /not a safetensors file: only 3 bytes long/],
  ];
  for (const [bytes, re] of cases) {
    const path = await fileWith(bytes, 'safetensors');
    await assert.rejects(readSafetensors(path), (e: Error) => {
      assert.ok(e.message.startsWith(`${path}: `), e.message);
      assert.match(e.message, re);
      return true;
    });
    assert.throws(() => parseSafetensors(bytes, 'mem.safetensors'), re);
  }
});

// ---- content sniffing

test('empty files and garbage bytes', async () => {
  const empty = await fileWith('', 'pth');
  await assert.rejects(readCheckpoint(empty), new RegExp(`^.*${empty}: empty file: not a checkpoint`));
  await assert.rejects(readPth(empty), /empty file: not a PyTorch checkpoint/);
  await assert.rejects(readSafetensors(empty), /empty file: not a safetensors file/);
  const garbage = await fileWith(Buffer.from('this is not a model, just some text\n'.repeat(4)), 'bin');
  await assert.rejects(readCheckpoint(garbage), (e: Error) =>
    e.message.startsWith(`${garbage}: unrecognised checkpoint format`),
  );
  await assert.rejects(readPth(garbage), /not a PyTorch zip checkpoint/);
  await assert.rejects(readSafetensors(garbage), /declared header length \d+ is larger than/);
});
