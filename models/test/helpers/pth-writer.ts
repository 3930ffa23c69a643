/**
 * Test tooling: writes PyTorch zip checkpoints the way torch.save (>= 1.6) does, so tests can make
 * `.pth` files (valid ones, odd ones, hostile ones) without Python. The product only reads them
 * (models/src/checkpoint/pth.ts).
 *
 * `writePth` emits a protocol 2 pickle of an OrderedDict of `_rebuild_tensor_v2` calls with
 * ('storage', torch.XStorage, key, 'cpu', numel) persistent ids, stored uncompressed with 64-byte
 * aligned data, ZIP64 when needed, written atomically and streamed tensor by tensor.
 */
import { type DType, numel, toBytes } from '../../src/tensor.js';
import type { StateDict } from '../../src/checkpoint/common.js';
import { writeFileAtomic } from '../../src/util/atomic-file.js';
import { TORCH_STORAGE_DTYPES } from '../../src/checkpoint/torch-pickle.js';
import { checkTensor } from '../../src/checkpoint/safetensors.js';
import { PickleWriter } from './pickle-writer.js';
import { ZipWriter } from './zip-writer.js';

/** Row-major strides torch gives a contiguous tensor of `shape`. */
function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= Math.max(shape[i]!, 1);
  }
  return out;
}

const STORAGE_CLASS: Record<DType, string> = Object.fromEntries(
  Object.entries(TORCH_STORAGE_DTYPES).map(([cls, dtype]) => [dtype, cls]),
) as Record<DType, string>;

export interface TorchZipOptions {
  /** Top folder name (default 'archive', as torch.save uses). */
  prefix?: string;
  /** Content of `<prefix>/byteorder` (default 'little'); null omits the entry. */
  byteorder?: string | null;
  /** Content of `<prefix>/version` (default '3'). */
  version?: string;
  /** Force ZIP64 records (tests). */
  forceZip64?: boolean;
  /** Deflate entries instead of storing them (tests; torch itself stores). */
  compress?: boolean;
}

/**
 * Writes a torch-style zip archive from an already built `data.pkl` and storage bytes, atomically.
 * Storage chunks are streamed to the file as they are.
 */
export async function writeTorchZip(
  path: string,
  pickle: Uint8Array,
  storages: Iterable<readonly [string, Uint8Array | readonly Uint8Array[]]>,
  options: TorchZipOptions = {},
): Promise<void> {
  const prefix = options.prefix ?? 'archive';
  const compress = options.compress ?? false;
  await writeFileAtomic(path, async (fh) => {
    const zip = new ZipWriter(fh, { forceZip64: options.forceZip64 ?? false });
    await zip.add(`${prefix}/data.pkl`, pickle, { compress });
    const byteorder = options.byteorder === undefined ? 'little' : options.byteorder;
    if (byteorder !== null) await zip.add(`${prefix}/byteorder`, new TextEncoder().encode(byteorder), { compress });
    for (const [key, bytes] of storages) await zip.add(`${prefix}/data/${key}`, bytes, { align: 64, compress });
    await zip.add(`${prefix}/version`, new TextEncoder().encode(`${options.version ?? '3'}\n`), { compress });
    await zip.finish();
  });
}

/** The protocol-2 data.pkl torch.save writes for an OrderedDict of contiguous tensors. */
export function torchStateDictPickle(dict: StateDict): Uint8Array {
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  w.put();
  let key = 0;
  let inBatch = 0;
  w.mark();
  for (const [name, t] of dict) {
    if (inBatch === 1000) {
      w.setitems().mark();
      inBatch = 0;
    }
    w.str(name, false);
    w.put();
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.mark();
    w.mark().str('storage').global('torch', STORAGE_CLASS[t.dtype]).str(String(key++), false).str('cpu').int(numel(t.shape)).tuple();
    w.binpersid();
    w.int(0).intTuple(t.shape).intTuple(contiguousStrides(t.shape)).bool(false);
    w.global('collections', 'OrderedDict').emptyTuple().reduce();
    w.tuple().reduce();
    inBatch++;
  }
  w.setitems().stop();
  return w.toBytes();
}

/**
 * Writes `dict` as a torch.save-compatible zip checkpoint, atomically; each tensor becomes its own
 * storage (keys '0', '1', ... in dict order) streamed straight from the tensor's memory.
 */
export async function writePth(path: string, dict: StateDict, options: TorchZipOptions = {}): Promise<void> {
  for (const [name, t] of dict) checkTensor(path, name, t);
  const pickle = torchStateDictPickle(dict);
  let key = 0;
  const storages = [...dict.values()].map((t) => [String(key++), toBytes(t.data)] as const);
  await writeTorchZip(path, pickle, storages, options);
}
