/**
 * Serialises an IR graph as an ONNX ModelProto. Tensors can be stored in an external data file
 * (required past protobuf's 2 GB limit), written atomically next to the model.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { type Tensor, toBytes } from '../tensor.js';
import type { AttrValue } from '../ir/attrs.js';
import { ONNX_DTYPE } from '../ir/dtype-codes.js';
import type { Graph, Value } from '../ir/graph.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { ProtoWriter, concatChunks } from './protobuf-writer.js';

/** ONNX IR version 10 and default-domain opset 21: both load in onnxruntime-node 1.29. */
export const IR_VERSION = 10;
export const OPSET = 21;
const PROTOBUF_LIMIT = 2 ** 31 - 1;

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

interface SerializeOptions {
  /** Free-form key/value metadata stored in the model (ModelProto.metadata_props). */
  metadata?: Record<string, string>;
  docString?: string;
}

interface ExternalPlan {
  location: string;
  offsets: Map<string, { offset: number; length: number }>;
  chunks: Uint8Array[];
  size: number;
}

function tensorProto(name: string, t: Tensor, external?: ExternalPlan): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.shape) w.int(1, d);
  w.int(2, ONNX_DTYPE[t.dtype]);
  w.string(8, name);
  const ext = external?.offsets.get(name);
  if (ext && external) {
    const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
    w.message(13, entry('location', external.location));
    w.message(13, entry('offset', String(ext.offset)));
    w.message(13, entry('length', String(ext.length)));
    w.int(14, 1);
  } else {
    w.bytes(9, toBytes(t.data));
  }
  return w;
}

function attributeProto(name: string, a: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, tensorProto('', a.value));
      break;
    case 'floats':
      for (const v of a.value) w.float(7, v);
      break;
    case 'ints':
      for (const v of a.value) w.int(8, v);
      break;
  }
  w.int(20, ATTR_TYPE[a.kind]);
  return w;
}

function valueInfo(v: Value): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tt = new ProtoWriter().int(1, ONNX_DTYPE[v.dtype]).message(2, shape);
  const type = new ProtoWriter().message(1, tt);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function graphProto(g: Graph, external?: ExternalPlan): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) {
    const nw = new ProtoWriter();
    for (const i of n.inputs) nw.string(1, i ? i.name : '');
    for (const o of n.outputs) nw.string(2, o.name);
    nw.string(3, n.name);
    nw.string(4, n.opType);
    for (const [k, a] of Object.entries(n.attrs)) nw.message(5, attributeProto(k, a));
    if (n.domain) nw.string(7, n.domain);
    w.message(1, nw);
  }
  w.string(2, g.name);
  for (const [name, t] of g.initializers) w.message(5, tensorProto(name, t, external));
  for (const v of g.inputs) w.message(11, valueInfo(v));
  for (const v of g.outputs) w.message(12, valueInfo(v));
  return w;
}

function modelProto(g: Graph, options: SerializeOptions, external?: ExternalPlan): Uint8Array[] {
  const m = new ProtoWriter();
  m.int(1, IR_VERSION);
  m.string(2, 'glmedsa');
  m.string(3, '0.1.0');
  if (options.docString) m.string(6, options.docString);
  m.message(7, graphProto(g, external));
  m.message(8, new ProtoWriter().string(1, '').int(2, OPSET));
  for (const [k, v] of Object.entries(options.metadata ?? {})) {
    m.message(14, new ProtoWriter().string(1, k).string(2, v));
  }
  return m.finish();
}

/** The model as one in-memory buffer (for models under 2 GB). */
export function serializeModel(g: Graph, options: SerializeOptions = {}): Uint8Array {
  const bytes = concatChunks(modelProto(g, options));
  if (bytes.byteLength > PROTOBUF_LIMIT) {
    throw new Error('model exceeds 2 GB: write it to a file with external data (writeModel)');
  }
  return bytes;
}

function planExternal(g: Graph, location: string, minBytes: number): ExternalPlan {
  const plan: ExternalPlan = { location, offsets: new Map(), chunks: [], size: 0 };
  for (const [name, t] of g.initializers) {
    const bytes = toBytes(t.data);
    if (bytes.byteLength < minBytes) continue;
    const padding = (64 - (plan.size % 64)) % 64; // keep each tensor aligned for memory mapping
    if (padding) {
      plan.chunks.push(new Uint8Array(padding));
      plan.size += padding;
    }
    plan.offsets.set(name, { offset: plan.size, length: bytes.byteLength });
    plan.chunks.push(bytes);
    plan.size += bytes.byteLength;
  }
  return plan;
}

interface WriteModelOptions extends SerializeOptions {
  /** 'auto' (default): external data only when the model would not fit in 2 GB. */
  externalData?: 'auto' | 'always' | 'never';
  /** Called as bytes reach the disk (model and external data together). */
  onBytes?: (written: number, total: number) => void;
}

interface WrittenModel {
  path: string;
  bytes: number;
  sha256: string;
  externalData?: { path: string; bytes: number; sha256: string };
}

async function writeChunksAtomically(
  file: string,
  chunks: Uint8Array[],
  onBytes?: (written: number, total: number) => void,
): Promise<{ bytes: number; sha256: string }> {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const hash = createHash('sha256');
  let bytes = 0;
  await writeFileAtomic(file, async (handle) => {
    // writev has a per-call limit on the number of buffers; write in batches.
    for (let i = 0; i < chunks.length; i += 512) {
      const batch = chunks.slice(i, i + 512);
      for (const c of batch) {
        hash.update(c);
        bytes += c.byteLength;
      }
      await handle.writev(batch);
      onBytes?.(bytes, total);
    }
  });
  return { bytes, sha256: hash.digest('hex') };
}

/** Writes `file` (and `file.data` when tensors go external), atomically. */
export async function writeModel(g: Graph, file: string, options: WriteModelOptions = {}): Promise<WrittenModel> {
  const mode = options.externalData ?? 'auto';
  let initBytes = 0;
  for (const t of g.initializers.values()) initBytes += t.data.byteLength;
  const external = mode === 'always' || (mode === 'auto' && initBytes > 1.8e9);
  const dataFile = `${file}.data`;
  let plan: ExternalPlan | undefined;
  let writtenData: WrittenModel['externalData'];
  if (external) {
    plan = planExternal(g, path.basename(dataFile), 1024);
    const r = await writeChunksAtomically(dataFile, plan.chunks, options.onBytes);
    writtenData = { path: dataFile, ...r };
  } else {
    await fs.rm(dataFile, { force: true });
  }
  const chunks = modelProto(g, options, plan);
  const r = await writeChunksAtomically(file, chunks, options.onBytes);
  if (r.bytes > PROTOBUF_LIMIT) throw new Error(`${file}: model proto exceeds 2 GB even with external data`);
  return { path: file, ...r, ...(writtenData ? { externalData: writtenData } : {}) };
}
