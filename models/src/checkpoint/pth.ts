/**
 * PyTorch checkpoints in the zip format torch.save has written since 1.6:
 * `<prefix>/data.pkl` (the pickled object), `<prefix>/data/<key>` (raw little-endian storages),
 * optional `<prefix>/byteorder` and `<prefix>/version`, where `<prefix>` is one top folder name.
 *
 * Reading: data.pkl goes through the restricted unpickler (pickle.ts); the state dict is picked
 * (the top object itself or a wrapper's `state_dict`/`model`/... entry); each storage used by it
 * is read once, and every tensor is materialised as a contiguous row-major copy honouring its
 * offset and strides, which are checked to stay inside the storage.

 * The product only reads these files; the writer used to make test checkpoints lives in
 * models/test/helpers/pth-writer.ts.
 */
import { open } from 'node:fs/promises';
import { BYTES_PER_ELEMENT, type Tensor, fromBytes, numel, shapeString } from '../tensor.js';
import { CheckpointError, type StateDict, asCheckpointError, bytesText, readExactly } from './common.js';
import { type PyKey, type PyValue, PyDict, TorchStorage, TorchTensor, describe } from './pickle.js';
import { unpickleTorch } from './torch-pickle.js';
import { ZipReader } from './zip.js';

/** Wrapper keys under which training scripts store the state dict, in order of preference. */
const STATE_DICT_KEYS = [
  'state_dict',
  'model',
  'model_state_dict',
  'state_dict_ema',
  'model_ema',
  'ema',
  'net',
  'module',
  'params',
] as const;

/** How far materialised views may exceed the bytes of their storages (see checkExpansion). */
const MAX_EXPANSION_BYTES = 1 << 30;

/** Largest data.pkl accepted. */
const MAX_PICKLE_BYTES = 512 * 1024 * 1024;

export interface ReadPthOptions {
  /** Called once per storage read from the archive (diagnostics and tests). */
  onStorageRead?: (key: string, bytes: number) => void;
}

/** The message for pre-1.6 (non-zip) torch files. */
export function legacyFormatMessage(): string {
  return (
    'this is a legacy (pre-1.6, non-zip) PyTorch checkpoint, which is not supported: re-save it with a ' +
    'newer PyTorch (torch.save(torch.load(path), new_path) with torch >= 1.6) or convert it to safetensors'
  );
}

/** Reads the state dict of a torch zip checkpoint. */
export async function readPth(path: string, options: ReadPthOptions = {}): Promise<StateDict> {
  await checkZipMagic(path);
  const zip = await ZipReader.open(path);
  try {
    return await readFromZip(zip, path, options);
  } catch (error) {
    throw asCheckpointError(path, error);
  } finally {
    await zip.close();
  }
}

/** Refuses empty files, legacy pickles and other non-zip content with a clear message. */
async function checkZipMagic(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size === 0) throw new CheckpointError(path, 'empty file: not a PyTorch checkpoint');
    const head = await readExactly(fh, path, 0, Math.min(4, size), 'file signature');
    if (head[0] === 0x80 && head.length > 1 && head[1]! >= 2 && head[1]! <= 5) {
      throw new CheckpointError(path, legacyFormatMessage());
    }
    if (!(head[0] === 0x50 && head[1] === 0x4b)) {
      throw new CheckpointError(path, 'not a PyTorch zip checkpoint (the file does not start with a ZIP signature)');
    }
  } finally {
    await fh.close();
  }
}

async function readFromZip(zip: ZipReader, path: string, options: ReadPthOptions): Promise<StateDict> {
  const pickles = zip.names().filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length === 0) {
    const sample = zip.names().slice(0, 5).join(', ');
    throw new CheckpointError(path, `not a PyTorch checkpoint: the ZIP archive has no '<folder>/data.pkl' entry (entries: ${sample || 'none'})`);
  }
  if (pickles.length > 1) {
    throw new CheckpointError(path, `ambiguous PyTorch checkpoint: several data.pkl entries (${pickles.join(', ')})`);
  }
  const prefix = pickles[0]!.slice(0, -'data.pkl'.length);
  const byteorder = zip.get(`${prefix}byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(await zip.read(byteorder, { maxBytes: 64, verifyCrc: 'always' })).trim();
    if (order === 'big') {
      throw new CheckpointError(path, `checkpoint was saved on a big-endian machine (${prefix}byteorder = "big"), which is not supported`);
    }
    if (order !== 'little') throw new CheckpointError(path, `unknown byte order ${JSON.stringify(order)} in ${prefix}byteorder`);
  }
  const pkl = await zip.read(pickles[0]!, { maxBytes: MAX_PICKLE_BYTES, verifyCrc: 'always' });
  const top = unpickleTorch(pkl, 'data.pkl');
  const refs = selectStateDict(top, path);

  // Check every view against its declared storage before reading anything.
  const byStorage = new Map<TorchStorage, string[]>();
  for (const [name, ref] of refs) {
    checkView(path, name, ref, ref.storage.dtype === null ? ref.storage.size / BYTES_PER_ELEMENT[ref.dtype] : ref.storage.size);
    const list = byStorage.get(ref.storage);
    if (list) list.push(name);
    else byStorage.set(ref.storage, [name]);
  }

  checkExpansion(path, refs, byStorage);

  const out: StateDict = new Map();
  const done = new Map<string, Tensor>();
  for (const [storage, names] of byStorage) {
    const entryName = `${prefix}data/${storage.key}`;
    const entry = zip.get(entryName);
    if (!entry) {
      throw new CheckpointError(
        path,
        `tensor '${names[0]}' uses storage '${storage.key}', but the archive has no entry '${entryName}'`,
      );
    }
    const itemsize = storage.dtype === null ? 1 : BYTES_PER_ELEMENT[storage.dtype];
    const expected = storage.size * itemsize;
    if (entry.uncompressedSize !== expected) {
      throw new CheckpointError(
        path,
        `storage '${storage.key}' (used by tensor '${names[0]}') should hold ${bytesText(expected)} ` +
          `(${storage.size} x ${storage.dtype ?? 'byte'}), but '${entryName}' has ${bytesText(entry.uncompressedSize)}`,
      );
    }
    const bytes = await zip.read(entry, { maxBytes: Number.MAX_SAFE_INTEGER });
    options.onStorageRead?.(storage.key, bytes.byteLength);
    for (const name of names) done.set(name, materialize(refs.get(name)!, bytes, names.length === 1));
  }
  for (const name of refs.keys()) out.set(name, done.get(name)!);
  return out;
}

/**
 * Views with zero or overlapping strides (and storages shared by many views) can make the
 * materialised tensors far bigger than the archive. Allow at most `MAX_EXPANSION_BYTES` beyond the
 * storages' own size, so a tiny file cannot demand terabytes.
 */
function checkExpansion(path: string, refs: Map<string, TorchTensor>, byStorage: Map<TorchStorage, string[]>): void {
  let storageBytes = 0;
  for (const s of byStorage.keys()) storageBytes += s.size * (s.dtype === null ? 1 : BYTES_PER_ELEMENT[s.dtype]);
  let outputBytes = 0;
  let largest = '';
  let largestBytes = -1;
  for (const [name, ref] of refs) {
    const bytes = numel(ref.shape) * BYTES_PER_ELEMENT[ref.dtype];
    outputBytes += bytes;
    if (bytes > largestBytes) [largest, largestBytes] = [name, bytes];
  }
  if (outputBytes > storageBytes + MAX_EXPANSION_BYTES) {
    throw new CheckpointError(
      path,
      `the tensors would need ${bytesText(outputBytes)} but their storages hold only ${bytesText(storageBytes)} ` +
        `(largest: tensor '${largest}' with ${bytesText(largestBytes)}); views expanding storages this much are refused`,
    );
  }
}

function isTensorDict(v: PyValue): boolean {
  if (!(v instanceof PyDict) || v.map.size === 0) return false;
  for (const x of v.map.values()) if (!(x instanceof TorchTensor)) return false;
  return true;
}

function keyText(k: PyKey): string {
  return typeof k === 'string' ? `'${k}'` : String(k);
}

/** Converts a dict of tensors into a name -> view map, requiring string keys and tensor values only. */
function tensorEntries(d: PyDict, path: string, where: string): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of d.map) {
    if (typeof k !== 'string') throw new CheckpointError(path, `${where} has a non-string key ${keyText(k)}`);
    if (!(v instanceof TorchTensor)) {
      throw new CheckpointError(path, `${where} entry '${k}' is a ${describe(v)}, not a tensor; a state dict may contain only tensors`);
    }
    out.set(k, v);
  }
  return out;
}

/**
 * Picks the state dict: the top-level dict if all its values are tensors, else the first of
 * `STATE_DICT_KEYS` whose value is a dict of tensors. Other wrapper entries (epoch, optimizer...)
 * are ignored and never read from the archive.
 */
function selectStateDict(top: PyValue, path: string): Map<string, TorchTensor> {
  if (!(top instanceof PyDict)) {
    throw new CheckpointError(path, `the checkpoint holds a ${describe(top)}, not a dict of tensors`);
  }
  if (isTensorDict(top)) return tensorEntries(top, path, 'the state dict');
  const problems: string[] = [];
  for (const key of STATE_DICT_KEYS) {
    if (!top.map.has(key)) continue;
    const v = top.map.get(key)!;
    if (isTensorDict(v)) return tensorEntries(v as PyDict, path, `the state dict under '${key}'`);
    if (v instanceof PyDict) {
      const bad = [...v.map].find(([, x]) => !(x instanceof TorchTensor));
      problems.push(
        bad
          ? `'${key}' has entry ${keyText(bad[0])} which is a ${describe(bad[1])}, not a tensor`
          : `'${key}' is an empty dict`,
      );
    } else {
      problems.push(`'${key}' is a ${describe(v)}`);
    }
  }
  const hasTensors = [...top.map.values()].some((v) => v instanceof TorchTensor);
  if (hasTensors && problems.length === 0) {
    // Looks like a state dict with stray entries: name the first non-tensor entry.
    tensorEntries(top, path, 'the state dict');
  }
  const keys = [...top.map.keys()].slice(0, 20).map(keyText).join(', ');
  throw new CheckpointError(
    path,
    `no state dict found: the checkpoint is a dict with keys [${keys}${top.map.size > 20 ? ', ...' : ''}]` +
      (problems.length ? `; ${problems.join('; ')}` : `; expected tensors at the top level or under one of ${STATE_DICT_KEYS.join(', ')}`),
  );
}

/** Checks that every element a view addresses lies inside a storage of `storageNumel` elements. */
function checkView(path: string, name: string, ref: TorchTensor, storageNumel: number): void {
  const { shape, stride, offset } = ref;
  if (!Number.isInteger(storageNumel)) {
    throw new CheckpointError(path, `tensor '${name}': untyped storage '${ref.storage.key}' of ${ref.storage.size} bytes is not a whole number of ${ref.dtype} elements`);
  }
  const n = numel(shape);
  if (!Number.isSafeInteger(n)) throw new CheckpointError(path, `tensor '${name}' shape ${shapeString(shape)} is too large`);
  if (n === 0) {
    if (offset > storageNumel) {
      throw new CheckpointError(path, `tensor '${name}': storage offset ${offset} is past the end of storage '${ref.storage.key}' (${storageNumel} elements)`);
    }
    return;
  }
  let last = offset;
  for (let i = 0; i < shape.length; i++) last += (shape[i]! - 1) * stride[i]!;
  if (last >= storageNumel) {
    throw new CheckpointError(
      path,
      `tensor '${name}' of shape ${shapeString(shape)} with stride ${shapeString(stride)} and offset ${offset} ` +
        `addresses element ${last}, but storage '${ref.storage.key}' has only ${storageNumel} ${ref.dtype} elements`,
    );
  }
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i]! !== 1 && stride[i]! !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/**
 * A contiguous copy of the view `ref` over `storage` (bytes already checked by `checkView`).
 * When `exclusive` and the view covers the whole storage contiguously, the bytes are reused.
 */
function materialize(ref: TorchTensor, storage: Uint8Array, exclusive: boolean): Tensor {
  const size = BYTES_PER_ELEMENT[ref.dtype];
  const n = numel(ref.shape);
  const shape = [...ref.shape];
  if (n === 0) return { dtype: ref.dtype, shape, data: fromBytes(ref.dtype, new Uint8Array(0)) };
  if (isContiguous(ref.shape, ref.stride)) {
    const begin = ref.offset * size;
    const end = begin + n * size;
    const bytes = exclusive && begin === 0 && end === storage.byteLength ? storage : storage.slice(begin, end);
    return { dtype: ref.dtype, shape, data: fromBytes(ref.dtype, bytes) };
  }
  const out = new Uint8Array(n * size);
  stridedCopy(storage, out, size, ref.offset, ref.shape, ref.stride);
  return { dtype: ref.dtype, shape, data: fromBytes(ref.dtype, out) };
}

/** Element-wise gather of a strided view into `out`, moving whole elements as integer words. */
function stridedCopy(
  src: Uint8Array,
  out: Uint8Array,
  itemsize: number,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
): void {
  // Copy in units of `word` bytes (bit-exact, never through floats).
  const word = itemsize === 8 ? 4 : itemsize;
  const perItem = itemsize / word;
  const aligned = src.byteOffset % word === 0 ? src : src.slice();
  const s = wordView(aligned, word);
  const d = wordView(out, word);
  const dims = shape.length;
  const inner = shape[dims - 1]!;
  const innerStride = stride[dims - 1]! * perItem;
  const index = new Array<number>(Math.max(dims - 1, 0)).fill(0);
  let base = offset * perItem;
  let o = 0;
  const outer = numel(shape) / inner;
  for (let k = 0; k < outer; k++) {
    let p = base;
    if (perItem === 1) {
      for (let i = 0; i < inner; i++, p += innerStride) d[o++] = s[p]!;
    } else {
      for (let i = 0; i < inner; i++, p += innerStride) {
        d[o++] = s[p]!;
        d[o++] = s[p + 1]!;
      }
    }
    // Advance the outer multi-index (odometer), updating the base position incrementally.
    for (let ax = dims - 2; ax >= 0; ax--) {
      index[ax]!++;
      base += stride[ax]! * perItem;
      if (index[ax]! < shape[ax]!) break;
      base -= shape[ax]! * stride[ax]! * perItem;
      index[ax] = 0;
    }
  }
}

function wordView(bytes: Uint8Array, word: number): Uint8Array | Uint16Array | Uint32Array {
  if (word === 1) return bytes;
  if (word === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}
