/**
 * The torch side of the restricted unpickler: the allow-list of Python globals a torch state dict
 * may name, each mapped to a small, safe TypeScript function or an inert marker, and the loader
 * for torch's `('storage', type, key, location, numel)` persistent ids.
 *
 * Allowed: collections.OrderedDict; torch._utils._rebuild_tensor_v2/_v3, _rebuild_parameter(_with_state);
 * torch._tensor._rebuild_from_type_v2 (for plain torch.Tensor / torch.nn.parameter.Parameter);
 * the legacy storage classes (torch.FloatStorage ...), torch(.storage).UntypedStorage and the
 * torch dtypes (torch.float32 ...). Everything else is refused by the unpickler.
 */
import type { DType } from '../tensor.js';
import {
  type GlobalImpl,
  type PyValue,
  PyDict,
  PyGlobal,
  PyTuple,
  TorchDType,
  TorchStorage,
  TorchStorageType,
  TorchTensor,
  describe,
  unpickle,
} from './pickle.js';

/** torch legacy storage class name -> dtype. */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** `torch.<name>` dtype objects -> dtype (canonical names and aliases). */
const TORCH_DTYPES: Readonly<Record<string, DType>> = {
  float32: 'float32', float: 'float32',
  float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16',
  float64: 'float64', double: 'float64',
  int64: 'int64', long: 'int64',
  int32: 'int32', int: 'int32',
  int16: 'int16', short: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

function nonNegativeInt(v: PyValue, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Error(`${what} must be a non-negative integer, got ${describe(v)}`);
  }
  return v;
}

function intTuple(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple)) throw new Error(`${what} must be a tuple, got ${describe(v)}`);
  return v.items.map((x, i) => nonNegativeInt(x, `${what}[${i}]`));
}

function rebuildTensor(
  storage: PyValue,
  offset: PyValue,
  size: PyValue,
  stride: PyValue,
  dtype: DType | undefined,
): TorchTensor {
  if (!(storage instanceof TorchStorage)) throw new Error(`the storage argument is ${describe(storage)}, not a storage`);
  const shape = intTuple(size, 'size');
  const strides = intTuple(stride, 'stride');
  if (strides.length !== shape.length) {
    throw new Error(`size [${shape.join(', ')}] and stride [${strides.join(', ')}] have different lengths`);
  }
  const type = dtype ?? storage.dtype;
  if (type === null) throw new Error(`untyped storage '${storage.key}' needs an explicit dtype`);
  if (dtype !== undefined && storage.dtype !== null && storage.dtype !== dtype) {
    throw new Error(`dtype ${dtype} does not match the ${storage.dtype} storage '${storage.key}'`);
  }
  return new TorchTensor(storage, type, nonNegativeInt(offset, 'storage_offset'), shape, strides);
}

function arity(args: readonly PyValue[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    throw new Error(`expected ${min === max ? min : `${min} to ${max}`} arguments, got ${args.length}`);
  }
}

function tensorArg(v: PyValue): TorchTensor {
  if (!(v instanceof TorchTensor)) throw new Error(`expected a tensor, got ${describe(v)}`);
  return v;
}

/** The marker payload of an allow-listed marker global (storage class, dtype, tensor class). */
function markerOf(v: PyValue): GlobalImpl['marker'] {
  return v instanceof PyGlobal ? v.impl.marker : undefined;
}

function newOrderedDict(args: readonly PyValue[]): PyDict {
  if (args.length !== 0) throw new Error('only an empty OrderedDict() can be created');
  return new PyDict(true);
}

function buildTorchGlobals(): Map<string, GlobalImpl> {
  const g = new Map<string, GlobalImpl>();
  g.set('collections.OrderedDict', { call: newOrderedDict, newobj: newOrderedDict });
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  g.set('torch._utils._rebuild_tensor_v2', {
    call: (a) => (arity(a, 6, 7), rebuildTensor(a[0]!, a[1]!, a[2]!, a[3]!, undefined)),
  });
  // _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
  g.set('torch._utils._rebuild_tensor_v3', {
    call: (a) => {
      arity(a, 7, 8);
      const dt = markerOf(a[6]!);
      if (!(dt instanceof TorchDType)) throw new Error(`dtype argument is ${describe(a[6]!)}, not a torch dtype`);
      return rebuildTensor(a[0]!, a[1]!, a[2]!, a[3]!, dt.dtype);
    },
  });
  // _rebuild_parameter(data, requires_grad, backward_hooks)
  g.set('torch._utils._rebuild_parameter', { call: (a) => (arity(a, 3, 3), tensorArg(a[0]!)) });
  // _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state)
  g.set('torch._utils._rebuild_parameter_with_state', { call: (a) => (arity(a, 4, 4), tensorArg(a[0]!)) });
  // _rebuild_from_type_v2(func, new_type, args, state): func(*args), for plain tensors/parameters
  g.set('torch._tensor._rebuild_from_type_v2', {
    call: (a) => {
      arity(a, 4, 4);
      const [fn, type, args] = a as [PyValue, PyValue, PyValue];
      if (markerOf(type) !== 'tensor-class') {
        throw new Error(`new_type ${describe(type)} is not torch.Tensor or torch.nn.Parameter`);
      }
      if (!(fn instanceof PyGlobal) || !fn.impl.call) throw new Error(`func ${describe(fn)} is not callable`);
      if (!(args instanceof PyTuple)) throw new Error(`args must be a tuple, got ${describe(args)}`);
      return tensorArg(fn.impl.call(args.items));
    },
  });
  g.set('torch.Tensor', { marker: 'tensor-class' });
  g.set('torch.nn.parameter.Parameter', { marker: 'tensor-class' });
  for (const [name, dtype] of Object.entries(TORCH_STORAGE_DTYPES)) {
    g.set(`torch.${name}`, { marker: new TorchStorageType(name, dtype) });
  }
  g.set('torch.UntypedStorage', { marker: new TorchStorageType('UntypedStorage', null) });
  g.set('torch.storage.UntypedStorage', { marker: new TorchStorageType('UntypedStorage', null) });
  for (const [name, dtype] of Object.entries(TORCH_DTYPES)) {
    g.set(`torch.${name}`, { marker: new TorchDType(dtype) });
  }
  return g;
}

/** The globals a torch state dict may reference, each mapped to a safe TypeScript function or marker. */
export const TORCH_GLOBALS: ReadonlyMap<string, GlobalImpl> = buildTorchGlobals();

/**
 * Returns a persistent-id loader for torch's zip format: ids are
 * `('storage', <storage type>, key, location, numel)`; the same key always yields the same
 * `TorchStorage` (and must agree on type and size).
 */
function torchPersistentLoader(): (pid: PyValue) => PyValue {
  const storages = new Map<string, TorchStorage>();
  return (pid) => {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5) {
      throw new Error(`persistent id ${describe(pid)} is not a ('storage', type, key, location, numel) tuple`);
    }
    const [tag, type, key, location, numel] = pid.items as [PyValue, PyValue, PyValue, PyValue, PyValue];
    if (tag !== 'storage') throw new Error(`persistent id of kind ${describe(tag)} is not supported`);
    const marker = markerOf(type);
    if (!(marker instanceof TorchStorageType)) throw new Error(`storage type ${describe(type)} is not a storage class`);
    if (typeof key !== 'string' || key === '' || key.includes('/')) {
      throw new Error(`storage key ${describe(key)} is not a valid name`);
    }
    if (typeof location !== 'string') throw new Error(`storage location ${describe(location)} is not a string`);
    const size = nonNegativeInt(numel, `size of storage '${key}'`);
    const previous = storages.get(key);
    if (previous) {
      if (previous.dtype !== marker.dtype || previous.size !== size) {
        throw new Error(`storage '${key}' is described twice with different types or sizes`);
      }
      return previous;
    }
    const storage = new TorchStorage(key, marker.dtype, size, location);
    storages.set(key, storage);
    return storage;
  };
}

/** Unpickles a torch `data.pkl` with the torch allow-list and storage persistent ids. */
export function unpickleTorch(bytes: Uint8Array, label = 'data.pkl'): PyValue {
  return unpickle(bytes, { label, globals: TORCH_GLOBALS, persistentLoad: torchPersistentLoader() });
}
