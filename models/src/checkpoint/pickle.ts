/**
 * A restricted unpickler: it interprets the pickle opcodes a PyTorch state dict needs and never
 * runs anything. Python globals resolve only against an allow-list, each entry mapped to a small
 * TypeScript function (see `TORCH_GLOBALS` in torch-pickle.ts); any other global is refused the
 * moment it is named.
 * INST/OBJ/EXT and out-of-band buffer opcodes are refused, lengths are checked against the bytes
 * left before anything is allocated, and the memo size and MARK nesting depth are capped.
 *
 * Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
 * float -> number, str -> string, bytes -> Uint8Array, list -> PyValue[], tuple -> PyTuple,
 * dict/OrderedDict -> PyDict, set/frozenset -> PySet; torch storages and tensors become
 * `TorchStorage` / `TorchTensor` references whose bytes are read later (see pth.ts).
 */
import type { DType } from '../tensor.js';

/** Python tuple. */
export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** Python values usable as dict keys here. */
export type PyKey = string | number | bigint | boolean | null;

/** Python dict or collections.OrderedDict (insertion ordered either way). */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  /** Instance attributes set by BUILD (e.g. the `_metadata` torch attaches to a state dict). */
  attributes: PyDict | undefined;
  constructor(readonly ordered: boolean) {}
}

/** Python set or frozenset. */
export class PySet {
  readonly items: PyValue[] = [];
  constructor(readonly frozen: boolean) {}
}

/** What an allow-listed global can do. Globals without `call`/`newobj` are plain markers. */
export interface GlobalImpl {
  /** REDUCE: `callable(*args)`. */
  call?(args: readonly PyValue[]): PyValue;
  /** NEWOBJ: `cls.__new__(cls, *args)`. */
  newobj?(args: readonly PyValue[]): PyValue;
  /** Marker payload (storage type, dtype, tensor class). */
  readonly marker?: TorchStorageType | TorchDType | 'tensor-class';
}

/** An allow-listed Python global, e.g. `torch._utils._rebuild_tensor_v2`. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly impl: GlobalImpl,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A legacy typed storage class (`torch.FloatStorage`, ...) or `torch.UntypedStorage` (dtype null). */
export class TorchStorageType {
  constructor(
    readonly name: string,
    readonly dtype: DType | null,
  ) {}
}

/** A `torch.float32`-style dtype object. */
export class TorchDType {
  constructor(readonly dtype: DType) {}
}

/** A storage named by a persistent id: its bytes are the archive entry `<prefix>/data/<key>`. */
export class TorchStorage {
  constructor(
    readonly key: string,
    /** Element type, or null for an untyped (byte) storage. */
    readonly dtype: DType | null,
    /** Number of elements (bytes when untyped). */
    readonly size: number,
    readonly location: string,
  ) {}
}

/** A tensor view onto a storage, as `_rebuild_tensor_v2/v3` describe it. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly dtype: DType,
    /** Offset into the storage, in elements of `dtype`. */
    readonly offset: number,
    readonly shape: readonly number[],
    /** Strides in elements. */
    readonly stride: readonly number[],
  ) {}
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | TorchStorageType
  | TorchDType
  | TorchStorage
  | TorchTensor;

/** A malformed or refused pickle. */
class PickleError extends Error {
  override readonly name = 'PickleError';
}

interface UnpickleOptions {
  /** Name of the pickle in messages (default 'data.pkl'). */
  label?: string;
  /** Allowed globals by qualified name ('module.name'). */
  globals: ReadonlyMap<string, GlobalImpl>;
  /** Resolves PERSID/BINPERSID ids; without it those opcodes are refused. */
  persistentLoad?: (pid: PyValue) => PyValue;
  /** Most memo entries (default 4M). */
  maxMemo?: number;
  /** Deepest MARK nesting (default 256). */
  maxDepth?: number;
}

/** Short description of a value for error messages (never recursive). */
export function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return `number ${String(v)}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (v instanceof Uint8Array) return `bytes of length ${v.length}`;
  if (Array.isArray(v)) return `list of length ${v.length}`;
  if (v instanceof PyTuple) return `tuple of length ${v.items.length}`;
  if (v instanceof PyDict) return `${v.ordered ? 'OrderedDict' : 'dict'} of ${v.map.size} entries`;
  if (v instanceof PySet) return `${v.frozen ? 'frozenset' : 'set'} of ${v.items.length} items`;
  if (v instanceof PyGlobal) return `global ${v.qualifiedName}`;
  if (v instanceof TorchStorageType) return `storage type torch.${v.name}`;
  if (v instanceof TorchDType) return `dtype ${v.dtype}`;
  if (v instanceof TorchStorage) return `storage '${v.key}'`;
  return `tensor of shape [${v.shape.join(', ')}]`;
}

/** Opcode names, for messages. */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');
const MAX_LINE = 4096;

/** The message used when a pickle names a global outside the allow-list. */
function refusedGlobalMessage(label: string, qualifiedName: string): string {
  return (
    `checkpoint refused: ${label} references the Python global '${qualifiedName}', which is not allowed ` +
    'in a tensor state dict (only tensors, numbers, strings, lists and dicts are accepted)'
  );
}

/** Normalises a Python int: a number when it is exactly representable, else a bigint. */
function pyInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function isKey(v: PyValue): v is PyKey {
  return v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v);
}

/** Decodes Python's raw-unicode-escape (UNICODE opcode): latin-1 with \uXXXX and \UXXXXXXXX. */
function rawUnicodeEscape(bytes: Uint8Array): string {
  const s = latin1.decode(bytes);
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    if (cp > 0x10ffff) throw new PickleError(`invalid code point \\U${u8} in UNICODE string`);
    return String.fromCodePoint(cp);
  });
}

/** Interprets `bytes` as a pickle under the restrictions described in this module's header. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PyValue {
  return new Unpickler(bytes, options).load();
}

class Unpickler {
  private pos = 0;
  private readonly dv: DataView;
  private stack: PyValue[] = [];
  private readonly metastack: PyValue[][] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly label: string;
  private readonly maxMemo: number;
  private readonly maxDepth: number;
  /** Position of the opcode being interpreted, for messages. */
  private opAt = 0;
  private op = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.label = options.label ?? 'data.pkl';
    this.maxMemo = options.maxMemo ?? 1 << 22;
    this.maxDepth = options.maxDepth ?? 256;
  }

  private fail(message: string): never {
    const name = OPCODE_NAMES[this.op] ?? `0x${this.op.toString(16)}`;
    throw new PickleError(`${this.label}: ${message} (opcode ${name} at byte ${this.opAt})`);
  }

  /** Checks that `n` more bytes exist (n may come from untrusted lengths). */
  private need(n: number | bigint): number {
    const left = this.bytes.length - this.pos;
    if (n < 0 || BigInt(n) > BigInt(left)) {
      this.fail(`truncated pickle: ${n} bytes needed but only ${left} remain`);
    }
    return Number(n);
  }

  private take(n: number | bigint): Uint8Array {
    const len = this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  private u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private i32(): number {
    this.need(4);
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u64(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A text argument ending in '\n' (newline excluded), at most MAX_LINE bytes. */
  private line(): Uint8Array {
    const limit = Math.min(this.bytes.length, this.pos + MAX_LINE + 1);
    for (let i = this.pos; i < limit; i++) {
      if (this.bytes[i] === 0x0a) {
        const out = this.bytes.subarray(this.pos, i);
        this.pos = i + 1;
        return out;
      }
    }
    this.fail(limit === this.bytes.length ? 'truncated pickle: unterminated text argument' : 'text argument too long');
  }

  private text(bytes: Uint8Array): string {
    try {
      return utf8.decode(bytes);
    } catch {
      this.fail('string is not valid UTF-8');
    }
  }

  private push(v: PyValue): void {
    this.stack.push(v);
  }

  private pop(): PyValue {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop()!;
  }

  private top(): PyValue {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1]!;
  }

  /** Pops everything since the last MARK. */
  private popMark(): PyValue[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (!prev) this.fail('no MARK to pop to');
    this.stack = prev;
    return items;
  }

  private memoPut(index: number, v: PyValue): void {
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) {
      this.fail(`memo limit of ${this.maxMemo} entries exceeded`);
    }
    this.memo.set(index, v);
  }

  private memoGet(index: number): PyValue {
    const v = this.memo.get(index);
    if (v === undefined) this.fail(`memo key ${index} was never stored`);
    return v;
  }

  private parseDecimal(s: string): bigint {
    if (!/^[+-]?[0-9]+$/.test(s)) this.fail(`invalid integer literal ${JSON.stringify(s.slice(0, 40))}`);
    return BigInt(s);
  }

  /** Little-endian two's complement integer of `bytes` (LONG1/LONG4). */
  private decodeLong(bytes: Uint8Array): number | bigint {
    if (bytes.length === 0) return 0;
    let v = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
    if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(bytes.length * 8);
    return pyInt(v);
  }

  private resolveGlobal(module: string, name: string): PyGlobal {
    const qualified = `${module}.${name}`;
    const impl = this.options.globals.get(qualified);
    if (!impl) throw new PickleError(refusedGlobalMessage(this.label, qualified));
    return new PyGlobal(module, name, impl);
  }

  private persistent(pid: PyValue): PyValue {
    if (!this.options.persistentLoad) this.fail('persistent ids are not allowed here');
    try {
      return this.options.persistentLoad(pid);
    } catch (error) {
      if (error instanceof PickleError) throw error;
      this.fail((error as Error).message);
    }
  }

  private call(fn: PyValue, args: PyValue, how: 'REDUCE' | 'NEWOBJ'): PyValue {
    if (!(args instanceof PyTuple)) this.fail(`${how} arguments must be a tuple, got ${describe(args)}`);
    if (!(fn instanceof PyGlobal)) this.fail(`${how} applied to ${describe(fn)}, which is not an allowed callable`);
    const impl = how === 'REDUCE' ? fn.impl.call : fn.impl.newobj;
    if (!impl) this.fail(`${fn.qualifiedName} cannot be used with ${how}`);
    try {
      return impl(args.items);
    } catch (error) {
      if (error instanceof PickleError) throw error;
      this.fail(`${fn.qualifiedName}: ${(error as Error).message}`);
    }
  }

  private setItems(target: PyValue, items: readonly PyValue[]): void {
    if (!(target instanceof PyDict)) this.fail(`cannot set items on ${describe(target)}`);
    if (items.length % 2 !== 0) this.fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i]!;
      if (!isKey(k)) this.fail(`unsupported dict key: ${describe(k)}`);
      target.map.set(k, items[i + 1]!);
    }
  }

  private appendItems(target: PyValue, items: readonly PyValue[]): void {
    if (!Array.isArray(target)) this.fail(`cannot append to ${describe(target)}`);
    for (const item of items) target.push(item);
  }

  load(): PyValue {
    const b = this.bytes;
    while (this.pos < b.length) {
      this.opAt = this.pos;
      const op = (this.op = b[this.pos++]!);
      switch (op) {
        case 0x80: {
          const proto = this.u8();
          if (proto > 5) this.fail(`unsupported pickle protocol ${proto}`);
          break;
        }
        case 0x95: // FRAME: a length prefix; the content follows as ordinary opcodes
          this.need(this.u64());
          break;
        case 0x2e: // STOP
          if (this.metastack.length !== 0) this.fail('STOP inside an unclosed MARK');
          return this.pop();
        case 0x28: // MARK
          if (this.metastack.length >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} MARKs`);
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length > 0) this.stack.pop();
          else this.popMark();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;

        // ---- constants and numbers
        case 0x4e:
          this.push(null);
          break;
        case 0x88:
          this.push(true);
          break;
        case 0x89:
          this.push(false);
          break;
        case 0x4a:
          this.push(this.i32());
          break;
        case 0x4b:
          this.push(this.u8());
          break;
        case 0x4d:
          this.push(this.u16());
          break;
        case 0x8a:
          this.push(this.decodeLong(this.take(this.u8())));
          break;
        case 0x8b: {
          const n = this.i32();
          if (n < 0) this.fail('negative LONG4 length');
          this.push(this.decodeLong(this.take(n)));
          break;
        }
        case 0x49: {
          const s = latin1.decode(this.line());
          if (s === '00') this.push(false);
          else if (s === '01') this.push(true);
          else this.push(pyInt(this.parseDecimal(s)));
          break;
        }
        case 0x4c: {
          const s = latin1.decode(this.line());
          this.push(pyInt(this.parseDecimal(s.endsWith('L') ? s.slice(0, -1) : s)));
          break;
        }
        case 0x47: {
          this.need(8);
          this.push(this.dv.getFloat64(this.pos, false));
          this.pos += 8;
          break;
        }
        case 0x46: {
          const s = latin1.decode(this.line());
          if (!/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan)$/i.test(s)) {
            this.fail(`invalid float literal ${JSON.stringify(s.slice(0, 40))}`);
          }
          this.push(/inf/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(s) ? NaN : Number(s));
          break;
        }

        // ---- strings and bytes
        case 0x58:
          this.push(this.text(this.take(this.u32())));
          break;
        case 0x8c:
          this.push(this.text(this.take(this.u8())));
          break;
        case 0x8d:
          this.push(this.text(this.take(this.u64())));
          break;
        case 0x56:
          this.push(rawUnicodeEscape(this.line()));
          break;
        case 0x54: {
          const n = this.i32();
          if (n < 0) this.fail('negative BINSTRING length');
          this.push(latin1.decode(this.take(n)));
          break;
        }
        case 0x55:
          this.push(latin1.decode(this.take(this.u8())));
          break;
        case 0x42:
          this.push(this.take(this.u32()).slice());
          break;
        case 0x43:
          this.push(this.take(this.u8()).slice());
          break;
        case 0x8e:
        case 0x96:
          this.push(this.take(this.u64()).slice());
          break;

        // ---- containers
        case 0x7d:
          this.push(new PyDict(false));
          break;
        case 0x5d:
          this.push([]);
          break;
        case 0x29:
          this.push(new PyTuple([]));
          break;
        case 0x8f:
          this.push(new PySet(false));
          break;
        case 0x74:
          this.push(new PyTuple(this.popMark()));
          break;
        case 0x85:
          this.push(new PyTuple([this.pop()]));
          break;
        case 0x86: {
          const b2 = this.pop();
          const a = this.pop();
          this.push(new PyTuple([a, b2]));
          break;
        }
        case 0x87: {
          const c = this.pop();
          const b2 = this.pop();
          const a = this.pop();
          this.push(new PyTuple([a, b2, c]));
          break;
        }
        case 0x6c:
          this.push(this.popMark());
          break;
        case 0x64: {
          const d = new PyDict(false);
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x91: {
          const s = new PySet(true);
          s.items.push(...this.popMark());
          this.push(s);
          break;
        }
        case 0x61: {
          const item = this.pop();
          this.appendItems(this.top(), [item]);
          break;
        }
        case 0x65: {
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x73: {
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: {
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x90: {
          const items = this.popMark();
          const target = this.top();
          if (!(target instanceof PySet) || target.frozen) this.fail(`cannot add items to ${describe(target)}`);
          target.items.push(...items);
          break;
        }

        // ---- memo
        case 0x71:
          this.memoPut(this.u8(), this.top());
          break;
        case 0x72:
          this.memoPut(this.u32(), this.top());
          break;
        case 0x70:
          this.memoPut(Number(this.parseDecimal(latin1.decode(this.line()))), this.top());
          break;
        case 0x94:
          this.memoPut(this.memo.size, this.top());
          break;
        case 0x68:
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a:
          this.push(this.memoGet(this.u32()));
          break;
        case 0x67:
          this.push(this.memoGet(Number(this.parseDecimal(latin1.decode(this.line())))));
          break;

        // ---- globals and object construction (restricted)
        case 0x63: {
          const module = this.text(this.line());
          const name = this.text(this.line());
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x93: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') {
            this.fail('STACK_GLOBAL needs two strings');
          }
          this.push(this.resolveGlobal(module, name));
          break;
        }
        case 0x52: {
          const args = this.pop();
          const fn = this.pop();
          this.push(this.call(fn, args, 'REDUCE'));
          break;
        }
        case 0x81: {
          const args = this.pop();
          const cls = this.pop();
          this.push(this.call(cls, args, 'NEWOBJ'));
          break;
        }
        case 0x92: {
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof PyDict) || kwargs.map.size !== 0) this.fail('NEWOBJ_EX keyword arguments are not supported');
          this.push(this.call(cls, args, 'NEWOBJ'));
          break;
        }
        case 0x62: {
          const state = this.pop();
          const target = this.top();
          if (target instanceof TorchTensor) break; // tensor/parameter state (python attributes): ignored
          if (target instanceof PyDict && target.ordered && (state instanceof PyDict || state === null)) {
            // torch's state_dict() OrderedDict carries a `_metadata` attribute; keep it, inertly.
            target.attributes = state ?? undefined;
            break;
          }
          this.fail(`BUILD (setting object state) is only allowed on tensors, not on ${describe(target)}`);
          break;
        }
        case 0x50:
          this.push(this.persistent(this.text(this.line())));
          break;
        case 0x51:
          this.push(this.persistent(this.pop()));
          break;

        case 0x69:
        case 0x6f:
          this.fail('this opcode creates arbitrary Python objects and is not allowed in a tensor state dict');
          break;
        case 0x82:
        case 0x83:
        case 0x84:
          this.fail('extension registry opcodes are not allowed in a tensor state dict');
          break;
        case 0x97:
        case 0x98:
          this.fail('out-of-band buffers are not supported');
          break;
        case 0x53:
          this.fail('the STRING opcode is not supported');
          break;
        default:
          this.fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
    this.opAt = this.pos;
    this.fail('truncated pickle: it ends without a STOP opcode');
  }
}
