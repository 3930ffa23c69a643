/**
 * A minimal pickle emitter (protocol 2, the one torch.save uses), with one method per opcode
 * family plus `raw()` for arbitrary bytes, so tests can craft hostile or unusual pickles too.
 * Test tooling (the product only reads pickles); `writePth` (pth-writer.ts) uses it to emit the
 * same structure torch.save does.
 */

/** Pickle opcodes by name (the subset this project reads, plus a few it refuses). */
export const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a,
  BININT1: 0x4b, LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52,
  STRING: 0x53, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61,
  BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68,
  INST: 0x69, LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d, OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71,
  LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, BINFLOAT: 0x47,
  PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, NEWTRUE: 0x88,
  NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, BINBYTES: 0x42, SHORT_BINBYTES: 0x43, SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91,
  STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
} as const;

const encoder = new TextEncoder();

/** Builds a pickle byte string opcode by opcode. */
export class PickleWriter {
  private buf = new Uint8Array(1024);
  private len = 0;
  private nextMemo = 0;
  private readonly globals = new Map<string, number>();
  private readonly strings = new Map<string, number>();

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Appends raw bytes (opcodes and arguments). */
  raw(...bytes: (number | Uint8Array)[]): this {
    for (const b of bytes) {
      if (typeof b === 'number') {
        this.reserve(1);
        this.buf[this.len++] = b & 0xff;
      } else {
        this.reserve(b.length);
        this.buf.set(b, this.len);
        this.len += b.length;
      }
    }
    return this;
  }

  private u32(n: number): Uint8Array {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return b;
  }

  /** Appends ASCII/UTF-8 text followed by '\n' (for text-argument opcodes). */
  line(text: string): this {
    return this.raw(encoder.encode(`${text}\n`));
  }

  proto(version = 2): this {
    return this.raw(OP.PROTO, version);
  }

  stop(): this {
    return this.raw(OP.STOP);
  }

  mark(): this {
    return this.raw(OP.MARK);
  }

  none(): this {
    return this.raw(OP.NONE);
  }

  bool(v: boolean): this {
    return this.raw(v ? OP.NEWTRUE : OP.NEWFALSE);
  }

  /** Smallest integer opcode for `v` (BININT1/BININT2/BININT/LONG1). */
  int(v: number | bigint): this {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 0x100) return this.raw(OP.BININT1, v);
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 0x10000) return this.raw(OP.BININT2, v & 0xff, v >> 8);
    if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v, true);
      return this.raw(OP.BININT, b);
    }
    let x = BigInt(v);
    const out: number[] = [];
    while (true) {
      out.push(Number(x & 0xffn));
      x >>= 8n; // arithmetic shift keeps the sign
      const last = out[out.length - 1]!;
      if ((x === 0n && !(last & 0x80)) || (x === -1n && last & 0x80)) break;
    }
    return this.raw(OP.LONG1, out.length, Uint8Array.from(out));
  }

  float(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    return this.raw(OP.BINFLOAT, b);
  }

  /** A str as BINUNICODE; repeated strings are fetched from the memo when `memoize` (default). */
  str(s: string, memoize = true): this {
    const at = memoize ? this.strings.get(s) : undefined;
    if (at !== undefined) return this.get(at);
    const bytes = encoder.encode(s);
    this.raw(OP.BINUNICODE, this.u32(bytes.length), bytes);
    if (memoize) this.strings.set(s, this.put());
    return this;
  }

  bytes(b: Uint8Array): this {
    return b.length < 256 ? this.raw(OP.SHORT_BINBYTES, b.length, b) : this.raw(OP.BINBYTES, this.u32(b.length), b);
  }

  /** GLOBAL 'module\nname\n', memoized so each global is written once. */
  global(module: string, name: string): this {
    const key = `${module}\n${name}`;
    const at = this.globals.get(key);
    if (at !== undefined) return this.get(at);
    this.raw(OP.GLOBAL).line(module).line(name);
    this.globals.set(key, this.put());
    return this;
  }

  /** STACK_GLOBAL with module and name pushed as strings. */
  stackGlobal(module: string, name: string): this {
    return this.str(module, false).str(name, false).raw(OP.STACK_GLOBAL);
  }

  /** BINPUT/LONG_BINPUT of the top of stack; returns its memo index. */
  put(): number {
    const i = this.nextMemo++;
    if (i < 256) this.raw(OP.BINPUT, i);
    else this.raw(OP.LONG_BINPUT, this.u32(i));
    return i;
  }

  get(i: number): this {
    return i < 256 ? this.raw(OP.BINGET, i) : this.raw(OP.LONG_BINGET, this.u32(i));
  }

  emptyTuple(): this {
    return this.raw(OP.EMPTY_TUPLE);
  }

  /** Builds a tuple of the `n` items just pushed after a `mark()` (or TUPLE1-3 when no mark). */
  tuple(n?: number): this {
    if (n === 1) return this.raw(OP.TUPLE1);
    if (n === 2) return this.raw(OP.TUPLE2);
    if (n === 3) return this.raw(OP.TUPLE3);
    return this.raw(OP.TUPLE);
  }

  /** A tuple of small non-negative integers (sizes, strides). */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.emptyTuple();
    if (values.length <= 3) {
      for (const v of values) this.int(v);
      return this.tuple(values.length);
    }
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }

  emptyDict(): this {
    return this.raw(OP.EMPTY_DICT);
  }

  emptyList(): this {
    return this.raw(OP.EMPTY_LIST);
  }

  reduce(): this {
    return this.raw(OP.REDUCE);
  }

  build(): this {
    return this.raw(OP.BUILD);
  }

  binpersid(): this {
    return this.raw(OP.BINPERSID);
  }

  setitem(): this {
    return this.raw(OP.SETITEM);
  }

  setitems(): this {
    return this.raw(OP.SETITEMS);
  }

  appends(): this {
    return this.raw(OP.APPENDS);
  }

  /** The pickle so far. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
