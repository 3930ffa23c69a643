/**
 * A small streaming ZIP writer: each entry's bytes (given as one or more chunks already in memory)
 * are written straight to the file handle, never copied into one big buffer. Entries are stored
 * (or deflated on request), with sizes and CRCs in the local headers (no data descriptors), data
 * optionally aligned with a padding extra field (PyTorch uses 64 and the id "FB"), and ZIP64
 * records wherever a size, offset or the entry count overflows (or always, with `forceZip64`).
 */
import type { FileHandle } from 'node:fs/promises';
import zlib from 'node:zlib';
import { writeAll } from '../../src/checkpoint/common.js';
import {
  SIG_CENTRAL,
  SIG_EOCD,
  SIG_EOCD64,
  SIG_EOCD64_LOCATOR,
  SIG_LOCAL,
  ZIP64_EXTRA_ID,
  crc32,
} from '../../src/checkpoint/zip.js';

export interface ZipWriterOptions {
  /** Write ZIP64 fields and end records even when nothing overflows (for tests). */
  forceZip64?: boolean;
}

export interface ZipAddOptions {
  /** Deflate the entry (method 8) instead of storing it. */
  compress?: boolean;
  /** Align the start of the entry's data in the file to this many bytes (padding extra field). */
  align?: number;
}

interface CentralRecord {
  name: Uint8Array;
  method: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  offset: number;
}

/** Extra field id PyTorch uses for alignment padding ("FB"). */
const PAD_EXTRA_ID = 0x4246;
const U32_MAX = 0xffffffff;
const DOS_DATE_1980 = 0x0021;
/** Writes at least this big go straight to the file. */
const SMALL_WRITE = 64 * 1024;
const BATCH_BYTES = 1 << 20;

/** Writes a ZIP archive sequentially from position 0 of `fh`. Call `finish()` at the end. */
export class ZipWriter {
  private position = 0;
  private readonly records: CentralRecord[] = [];
  private readonly names = new Set<string>();
  private finished = false;
  /** Small writes (headers, small entries) are batched here before hitting the file. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private pendingAt = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly options: ZipWriterOptions = {},
  ) {}

  /** Bytes written so far. */
  get size(): number {
    return this.position;
  }

  /** Appends bytes at the current position, batching small pieces. */
  private async emit(data: Uint8Array): Promise<void> {
    if (data.byteLength >= SMALL_WRITE) {
      await this.flush();
      await writeAll(this.fh, data, this.position);
    } else {
      if (this.pendingBytes === 0) this.pendingAt = this.position;
      this.pending.push(data);
      this.pendingBytes += data.byteLength;
      if (this.pendingBytes >= BATCH_BYTES) await this.flush();
    }
    this.position += data.byteLength;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await writeAll(this.fh, joined, this.pendingAt);
  }

  /** Appends an entry whose content is the concatenation of `data`'s chunks. */
  async add(name: string, data: Uint8Array | readonly Uint8Array[], options: ZipAddOptions = {}): Promise<void> {
    if (this.finished) throw new Error('ZipWriter: add() after finish()');
    if (this.names.has(name)) throw new Error(`ZipWriter: duplicate entry '${name}'`);
    this.names.add(name);
    let chunks: readonly Uint8Array[] = data instanceof Uint8Array ? [data] : data;
    let crc = 0;
    let uncompressedSize = 0;
    for (const c of chunks) {
      crc = crc32(c, crc);
      uncompressedSize += c.byteLength;
    }
    let method = 0;
    if (options.compress) {
      const joined = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      chunks = [new Uint8Array(zlib.deflateRawSync(joined))];
      method = 8;
    }
    const compressedSize = chunks.reduce((n, c) => n + c.byteLength, 0);
    const nameBytes = new TextEncoder().encode(name);
    const offset = this.position;

    const zip64 = this.options.forceZip64 || uncompressedSize >= U32_MAX || compressedSize >= U32_MAX;
    const extras: Uint8Array[] = [];
    if (zip64) {
      const z = new DataView(new ArrayBuffer(20));
      z.setUint16(0, ZIP64_EXTRA_ID, true);
      z.setUint16(2, 16, true);
      z.setBigUint64(4, BigInt(uncompressedSize), true);
      z.setBigUint64(12, BigInt(compressedSize), true);
      extras.push(new Uint8Array(z.buffer));
    }
    const align = options.align ?? 1;
    if (align > 1) {
      const before = offset + 30 + nameBytes.length + extras.reduce((n, e) => n + e.length, 0);
      let pad = (align - (before % align)) % align;
      if (pad > 0 && pad < 4) pad += align; // an extra field needs at least its 4-byte header
      if (pad > 0) {
        const p = new Uint8Array(pad);
        const pv = new DataView(p.buffer);
        pv.setUint16(0, PAD_EXTRA_ID, true);
        pv.setUint16(2, pad - 4, true);
        p.fill(0x5a, 4); // 'Z', as PyTorch pads
        extras.push(p);
      }
    }
    const extraLen = extras.reduce((n, e) => n + e.length, 0);
    const head = new Uint8Array(30 + nameBytes.length + extraLen);
    const hv = new DataView(head.buffer);
    hv.setUint32(0, SIG_LOCAL, true);
    hv.setUint16(4, zip64 ? 45 : 20, true);
    hv.setUint16(6, 0x0800, true);
    hv.setUint16(8, method, true);
    hv.setUint16(10, 0, true);
    hv.setUint16(12, DOS_DATE_1980, true);
    hv.setUint32(14, crc, true);
    hv.setUint32(18, zip64 ? U32_MAX : compressedSize, true);
    hv.setUint32(22, zip64 ? U32_MAX : uncompressedSize, true);
    hv.setUint16(26, nameBytes.length, true);
    hv.setUint16(28, extraLen, true);
    head.set(nameBytes, 30);
    let at = 30 + nameBytes.length;
    for (const e of extras) {
      head.set(e, at);
      at += e.length;
    }
    await this.emit(head);
    for (const c of chunks) await this.emit(c);
    this.records.push({ name: nameBytes, method, crc, compressedSize, uncompressedSize, offset });
  }

  /** Writes the central directory and end records. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const force = this.options.forceZip64 ?? false;
    const cdOffset = this.position;
    const parts: Uint8Array[] = [];
    for (const r of this.records) {
      const bigU = force || r.uncompressedSize >= U32_MAX;
      const bigC = force || r.compressedSize >= U32_MAX;
      const bigO = force || r.offset >= U32_MAX;
      const z64Len = (bigU ? 8 : 0) + (bigC ? 8 : 0) + (bigO ? 8 : 0);
      const extraLen = z64Len ? 4 + z64Len : 0;
      const rec = new Uint8Array(46 + r.name.length + extraLen);
      const v = new DataView(rec.buffer);
      const needs64 = z64Len > 0;
      v.setUint32(0, SIG_CENTRAL, true);
      v.setUint16(4, needs64 ? 45 : 20, true);
      v.setUint16(6, needs64 ? 45 : 20, true);
      v.setUint16(8, 0x0800, true);
      v.setUint16(10, r.method, true);
      v.setUint16(12, 0, true);
      v.setUint16(14, DOS_DATE_1980, true);
      v.setUint32(16, r.crc, true);
      v.setUint32(20, bigC ? U32_MAX : r.compressedSize, true);
      v.setUint32(24, bigU ? U32_MAX : r.uncompressedSize, true);
      v.setUint16(28, r.name.length, true);
      v.setUint16(30, extraLen, true);
      v.setUint32(42, bigO ? U32_MAX : r.offset, true);
      rec.set(r.name, 46);
      if (z64Len) {
        let p = 46 + r.name.length;
        v.setUint16(p, ZIP64_EXTRA_ID, true);
        v.setUint16(p + 2, z64Len, true);
        p += 4;
        if (bigU) (v.setBigUint64(p, BigInt(r.uncompressedSize), true), (p += 8));
        if (bigC) (v.setBigUint64(p, BigInt(r.compressedSize), true), (p += 8));
        if (bigO) v.setBigUint64(p, BigInt(r.offset), true);
      }
      parts.push(rec);
    }
    const cdSize = parts.reduce((n, p) => n + p.length, 0);
    const count = this.records.length;
    const zip64 = force || count >= 0xffff || cdOffset >= U32_MAX || cdSize >= U32_MAX;
    if (zip64) {
      const recordAt = cdOffset + cdSize;
      const e = new DataView(new ArrayBuffer(56 + 20));
      e.setUint32(0, SIG_EOCD64, true);
      e.setBigUint64(4, 44n, true);
      e.setUint16(12, 45, true);
      e.setUint16(14, 45, true);
      e.setBigUint64(24, BigInt(count), true);
      e.setBigUint64(32, BigInt(count), true);
      e.setBigUint64(40, BigInt(cdSize), true);
      e.setBigUint64(48, BigInt(cdOffset), true);
      e.setUint32(56, SIG_EOCD64_LOCATOR, true);
      e.setBigUint64(64, BigInt(recordAt), true);
      e.setUint32(72, 1, true);
      parts.push(new Uint8Array(e.buffer));
    }
    const end = new DataView(new ArrayBuffer(22));
    end.setUint32(0, SIG_EOCD, true);
    end.setUint16(8, zip64 ? 0xffff : count, true);
    end.setUint16(10, zip64 ? 0xffff : count, true);
    end.setUint32(12, zip64 ? U32_MAX : cdSize, true);
    end.setUint32(16, zip64 ? U32_MAX : cdOffset, true);
    parts.push(new Uint8Array(end.buffer));
    for (const p of parts) await this.emit(p);
    await this.flush();
  }
}
