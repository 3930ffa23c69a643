/**
 * safetensors reader and writer. Layout: an 8-byte little-endian u64 header length N, N bytes of
 * JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}`, then the
 * data section (offsets are relative to its start).
 *
 * The reader validates everything before allocating tensor memory: header length within the file,
 * UTF-8 JSON object, known dtypes, integer shapes, offsets inside the data section and equal to
 * numel * itemsize, no two tensors overlapping. Files are read with positional reads, one tensor
 * at a time, so a multi-GB file is never held twice.
 *
 * The writer is atomic (temp file, fsync, rename) and streams tensor bytes. Tensors are laid out
 * like the reference implementation does (by decreasing item size, then by name, no gaps), which
 * keeps every tensor aligned to its own item size (the header is space-padded to a multiple of 8
 * so the data section starts 8-byte aligned), while staying readable by the official readers,
 * which reject gaps between tensors.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { BYTES_PER_ELEMENT, type DType, type Tensor, fromBytes, numel, shapeString, toBytes } from '../tensor.js';
import { CheckpointError, type StateDict, bytesText, readExactly, writeAll, writeFileAtomic } from './common.js';

/** safetensors dtype names -> our dtypes. */
const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

const DTYPE_NAMES = Object.fromEntries(Object.entries(SAFETENSORS_DTYPES).map(([k, v]) => [v, k])) as Record<DType, string>;

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor as described by the header; offsets are relative to the data section. */
interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

interface SafetensorsHeader {
  /** N, the JSON header's length in bytes. */
  headerLength: number;
  /** Absolute file offset of the data section (8 + N). */
  dataOffset: number;
  /** Tensors in header order. */
  tensors: SafetensorsEntry[];
  metadata: Record<string, string>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Reads and checks the 8-byte length prefix. */
function headerLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize === 0) throw new CheckpointError(file, 'empty file: not a safetensors file');
  if (fileSize < 8) throw new CheckpointError(file, `not a safetensors file: only ${bytesText(fileSize)} long`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new CheckpointError(
      file,
      `not a valid safetensors file: declared header length ${n} is larger than the ${bytesText(fileSize - 8)} after the length prefix`,
    );
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(file, `safetensors header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (n < 2n) throw new CheckpointError(file, `not a valid safetensors file: header length ${n} is too small`);
  return Number(n);
}

/**
 * Parses and validates a safetensors JSON header. `dataLength` is the size of the data section
 * (file size - 8 - N), used to detect truncation and out-of-range offsets.
 */
function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new CheckpointError(file, 'invalid safetensors header: not valid UTF-8');
  }
  if (!text.startsWith('{')) throw new CheckpointError(file, 'invalid safetensors header: it does not start with a JSON object');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(file, `invalid safetensors header: ${(error as Error).message}`);
  }
  if (!isRecord(json)) throw new CheckpointError(file, 'invalid safetensors header: not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(info)) throw new CheckpointError(file, 'invalid safetensors header: __metadata__ is not an object');
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') {
          throw new CheckpointError(file, `invalid safetensors header: __metadata__ value for '${k}' is not a string`);
        }
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (!isRecord(info)) throw new CheckpointError(file, `invalid safetensors header: ${where} is not an object`);
    const dtype = typeof info.dtype === 'string' ? SAFETENSORS_DTYPES[info.dtype] : undefined;
    if (!dtype) {
      throw new CheckpointError(
        file,
        `${where} has unsupported dtype ${JSON.stringify(info.dtype)} (supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`,
      );
    }
    const { shape, data_offsets: offsets } = info;
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw new CheckpointError(file, `invalid safetensors header: ${where} has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      throw new CheckpointError(file, `invalid safetensors header: ${where} has data_offsets ${JSON.stringify(offsets)}, not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = numel(shape) * BYTES_PER_ELEMENT[dtype];
    if (!Number.isSafeInteger(expected)) throw new CheckpointError(file, `${where} shape ${shapeString(shape)} is too large`);
    if (end < begin) throw new CheckpointError(file, `invalid safetensors header: ${where} has data_offsets [${begin}, ${end}] with end before begin`);
    if (end - begin !== expected) {
      throw new CheckpointError(
        file,
        `${where}: data_offsets [${begin}, ${end}] span ${bytesText(end - begin)}, but ${dtype} shape ` +
          `${shapeString(shape)} needs ${bytesText(expected)}`,
      );
    }
    if (end > dataLength) {
      throw new CheckpointError(
        file,
        `file is truncated or corrupt: ${where} ends at data offset ${end}, but the data section has only ${bytesText(dataLength)}`,
      );
    }
    tensors.push({ name, dtype, shape: [...shape], begin, end });
  }
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.begin < a.end) {
      throw new CheckpointError(
        file,
        `invalid safetensors header: tensor '${b.name}' [${b.begin}, ${b.end}] overlaps tensor '${a.name}' [${a.begin}, ${a.end}]`,
      );
    }
  }
  return { headerLength: headerBytes.length, dataOffset: 8 + headerBytes.length, tensors, metadata };
}

/** Parses a whole safetensors file held in memory (tensors get their own copies of the bytes). */
export function parseSafetensors(bytes: Uint8Array, label = '<buffer>'): StateDict {
  const n = headerLength(bytes.subarray(0, 8), bytes.length, label);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, label);
  const out: StateDict = new Map();
  for (const t of header.tensors) {
    const data = bytes.slice(header.dataOffset + t.begin, header.dataOffset + t.end);
    out.set(t.name, { dtype: t.dtype, shape: t.shape, data: fromBytes(t.dtype, data) });
  }
  return out;
}

async function readHeader(fh: FileHandle, file: string): Promise<{ header: SafetensorsHeader; size: number }> {
  const size = (await fh.stat()).size;
  const prefix = size >= 8 ? await readExactly(fh, file, 0, 8, 'safetensors length prefix') : new Uint8Array(8);
  const n = headerLength(prefix, size, file);
  const headerBytes = await readExactly(fh, file, 8, n, 'safetensors header');
  return { header: parseSafetensorsHeader(headerBytes, size - 8 - n, file), size };
}

/** Reads and validates just the header of a safetensors file. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await open(path, 'r');
  try {
    return (await readHeader(fh, path)).header;
  } finally {
    await fh.close();
  }
}

/** The `__metadata__` string map of a safetensors file ({} when absent). */
export async function readSafetensorsMetadata(path: string): Promise<Record<string, string>> {
  return (await readSafetensorsHeader(path)).metadata;
}

/** Reads every tensor of a safetensors file, in header order. */
export async function readSafetensors(path: string): Promise<StateDict> {
  const fh = await open(path, 'r');
  try {
    const { header } = await readHeader(fh, path);
    const out: StateDict = new Map();
    for (const t of header.tensors) {
      const bytes = await readExactly(fh, path, header.dataOffset + t.begin, t.end - t.begin, `tensor '${t.name}'`);
      out.set(t.name, { dtype: t.dtype, shape: t.shape, data: fromBytes(t.dtype, bytes) });
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** Checks that a tensor's data length matches its shape; names the key otherwise. */
export function checkTensor(file: string, name: string, t: Tensor): void {
  const n = numel(t.shape);
  if (!t.shape.every(isCount)) throw new CheckpointError(file, `tensor '${name}' has an invalid shape ${shapeString(t.shape)}`);
  if (t.data.length !== n) {
    throw new CheckpointError(
      file,
      `tensor '${name}' has ${t.data.length} elements of data, but its shape ${shapeString(t.shape)} needs ${n}`,
    );
  }
  if (BYTES_PER_ELEMENT[t.dtype] === undefined) throw new CheckpointError(file, `tensor '${name}' has unknown dtype ${String(t.dtype)}`);
}

/**
 * Writes `dict` as a safetensors file, atomically. `metadata` becomes `__metadata__`.
 */
export async function writeSafetensors(path: string, dict: StateDict, metadata?: Record<string, string>): Promise<void> {
  const entries = [...dict.entries()];
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new CheckpointError(path, "a tensor cannot be called '__metadata__'");
    checkTensor(path, name, t);
  }
  entries.sort(([a, ta], [b, tb]) => BYTES_PER_ELEMENT[tb.dtype] - BYTES_PER_ELEMENT[ta.dtype] || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new CheckpointError(path, `metadata value for '${k}' is not a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const size = t.data.byteLength;
    header[name] = { dtype: DTYPE_NAMES[t.dtype], shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  let jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.length / 8) * 8;
  if (padded !== jsonBytes.length) {
    json += ' '.repeat(padded - jsonBytes.length);
    jsonBytes = new TextEncoder().encode(json);
  }
  await writeFileAtomic(path, async (fh) => {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
    await writeAll(fh, prefix, 0);
    await writeAll(fh, jsonBytes, 8);
    let at = 8 + jsonBytes.length;
    for (const [, t] of entries) {
      await writeAll(fh, toBytes(t.data), at);
      at += t.data.byteLength;
    }
  });
}
