/**
 * A small read-only ZIP reader for PyTorch checkpoints. It reads through positional reads on a
 * file handle, so archives of several GB are never loaded whole: only the end records, the central
 * directory and the entries asked for are read.
 *
 * Supported: stored (0) and deflate (8) entries, ZIP64 (end-of-central-directory locator/record and
 * the 0x0001 extra field in central and local headers), data descriptors (sizes are taken from the
 * central directory). Not supported, with clear errors: multi-disk archives, encryption, other
 * compression methods.
 */
import { open, type FileHandle } from 'node:fs/promises';
import zlib from 'node:zlib';
import { CheckpointError, bytesText, readExactly } from './common.js';

/** One file in the archive, as described by the central directory. */
interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  /** General purpose bit flags (bit 0 = encrypted, bit 3 = data descriptor, bit 11 = UTF-8 name). */
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

interface ZipReadOptions {
  /** Refuse entries whose uncompressed size is larger than this (default 2 GiB - 1). */
  maxBytes?: number;
  /**
   * Check the CRC-32: 'always', 'never', or 'if-recorded' (default: skip when the recorded CRC is 0,
   * which is what writers that do not compute CRCs, e.g. torch with crc32 disabled, store).
   */
  verifyCrc?: 'always' | 'never' | 'if-recorded';
}

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_EOCD64 = 0x06064b50;
export const SIG_EOCD64_LOCATOR = 0x07064b50;
/** Id of the ZIP64 extended information extra field. */
export const ZIP64_EXTRA_ID = 0x0001;

const EOCD_SIZE = 22;
const EOCD64_SIZE = 56;
const LOCATOR_SIZE = 20;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const MAX_CENTRAL_DIRECTORY = 1 << 30;
const DEFAULT_MAX_BYTES = 2 ** 31 - 1;

/** CRC-32 (IEEE) of `data`, continuing from `previous`; uses zlib's native one when available. */
export function crc32(data: Uint8Array, previous = 0): number {
  const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  if (native) return native(data, previous) >>> 0;
  let c = ~previous >>> 0;
  const table = crcTable();
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

let table: Uint32Array | undefined;
function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a little-endian u64 as a number, failing when it is beyond 2^53. */
function u64(dv: DataView, at: number, file: string, what: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CheckpointError(file, `corrupt ZIP archive: ${what} is ${v}, which is too large`);
  }
  return Number(v);
}

/** The ZIP64 fields an extra block carries, in the order the spec gives them. */
interface Zip64Fields {
  uncompressedSize?: number;
  compressedSize?: number;
  localHeaderOffset?: number;
}

/**
 * Finds the ZIP64 extra field in `extra` and reads, in order, the fields whose 32-bit values were
 * saturated (`want` lists them).
 */
function parseZip64Extra(
  extra: Uint8Array,
  want: { uncompressed: boolean; compressed: boolean; offset: boolean },
  file: string,
  entryName: string,
): Zip64Fields {
  const dv = view(extra);
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = dv.getUint16(at, true);
    const size = dv.getUint16(at + 2, true);
    const body = at + 4;
    if (body + size > extra.length) {
      throw new CheckpointError(file, `corrupt ZIP archive: extra field of entry '${entryName}' overruns its header`);
    }
    if (id === ZIP64_EXTRA_ID) {
      const out: Zip64Fields = {};
      let p = body;
      const take = (what: string): number => {
        if (p + 8 > body + size) {
          throw new CheckpointError(file, `corrupt ZIP archive: ZIP64 extra field of entry '${entryName}' lacks the ${what}`);
        }
        const v = u64(dv, p, file, `ZIP64 ${what} of entry '${entryName}'`);
        p += 8;
        return v;
      };
      if (want.uncompressed) out.uncompressedSize = take('uncompressed size');
      if (want.compressed) out.compressedSize = take('compressed size');
      if (want.offset) out.localHeaderOffset = take('local header offset');
      return out;
    }
    at = body + size;
  }
  if (want.uncompressed || want.compressed || want.offset) {
    throw new CheckpointError(file, `corrupt ZIP archive: entry '${entryName}' has saturated sizes but no ZIP64 extra field`);
  }
  return {};
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function decodeName(bytes: Uint8Array, flags: number, file: string): string {
  if (flags & 0x0800) {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new CheckpointError(file, 'corrupt ZIP archive: an entry name is not valid UTF-8');
    }
  }
  return latin1.decode(bytes);
}

/** A ZIP archive opened for reading. Call `close()` when done. */
export class ZipReader {
  private readonly dataStarts = new Map<string, number>();

  private constructor(
    /** The archive's path (used in every error message). */
    readonly path: string,
    private readonly fh: FileHandle,
    /** The archive's size in bytes. */
    readonly size: number,
    /** Entries by name, in central directory order. */
    readonly entries: ReadonlyMap<string, ZipEntry>,
    /** Where the central directory starts: entry data must end before it. */
    private readonly centralDirectoryOffset: number,
  ) {}

  /** Opens `path` and reads its central directory. */
  static async open(path: string): Promise<ZipReader> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const { entries, cdOffset } = await readCentralDirectory(fh, path, size);
      return new ZipReader(path, fh, size, entries, cdOffset);
    } catch (error) {
      await fh.close();
      throw error;
    }
  }

  /** The entry called `name`, if any. */
  get(name: string): ZipEntry | undefined {
    return this.entries.get(name);
  }

  /** Entry names in central directory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The file offset where `entry`'s (possibly compressed) data starts, from its local header. */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const cached = this.dataStarts.get(entry.name);
    if (cached !== undefined) return cached;
    const file = this.path;
    const at = entry.localHeaderOffset;
    if (at + LOCAL_SIZE > this.centralDirectoryOffset) {
      throw new CheckpointError(
        file,
        `corrupt ZIP archive: entry '${entry.name}' points outside the file data (local header at ${at}, ` +
          `central directory starts at ${this.centralDirectoryOffset})`,
      );
    }
    const head = await readExactly(this.fh, file, at, LOCAL_SIZE, `local header of '${entry.name}'`);
    const dv = view(head);
    if (dv.getUint32(0, true) !== SIG_LOCAL) {
      throw new CheckpointError(file, `corrupt ZIP archive: no local header signature at offset ${at} for entry '${entry.name}'`);
    }
    const flags = dv.getUint16(6, true);
    const localCompressed = dv.getUint32(18, true);
    const localUncompressed = dv.getUint32(22, true);
    const nameLen = dv.getUint16(26, true);
    const extraLen = dv.getUint16(28, true);
    const variable = await readExactly(this.fh, file, at + LOCAL_SIZE, nameLen + extraLen, `local header of '${entry.name}'`);
    const localName = decodeName(variable.subarray(0, nameLen), flags | (entry.flags & 0x0800), file);
    if (localName !== entry.name) {
      throw new CheckpointError(
        file,
        `corrupt ZIP archive: local header at ${at} names '${localName}' but the central directory says '${entry.name}'`,
      );
    }
    if (!(flags & 0x0008)) {
      // Sizes are in the local header too (possibly via ZIP64): they must agree when recorded.
      const z64 = parseZip64Extra(
        variable.subarray(nameLen),
        { uncompressed: localUncompressed === 0xffffffff, compressed: localCompressed === 0xffffffff, offset: false },
        file,
        entry.name,
      );
      const compressed = z64.compressedSize ?? localCompressed;
      if (compressed !== 0 && compressed !== entry.compressedSize) {
        throw new CheckpointError(
          file,
          `corrupt ZIP archive: entry '${entry.name}' has compressed size ${compressed} in its local header ` +
            `but ${entry.compressedSize} in the central directory`,
        );
      }
    }
    const start = at + LOCAL_SIZE + nameLen + extraLen;
    if (start + entry.compressedSize > this.centralDirectoryOffset) {
      throw new CheckpointError(
        file,
        `corrupt or truncated ZIP archive: the data of entry '${entry.name}' (bytes ${start}..${start + entry.compressedSize}) ` +
          `extends past the file data, which ends at ${this.centralDirectoryOffset}`,
      );
    }
    this.dataStarts.set(entry.name, start);
    return start;
  }

  /** Reads and (for deflate) decompresses an entry. */
  async read(nameOrEntry: string | ZipEntry, options: ZipReadOptions = {}): Promise<Uint8Array> {
    const file = this.path;
    const entry = typeof nameOrEntry === 'string' ? this.entries.get(nameOrEntry) : nameOrEntry;
    if (!entry) throw new CheckpointError(file, `ZIP archive has no entry '${String(nameOrEntry)}'`);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (entry.flags & 0x0041) {
      throw new CheckpointError(file, `ZIP entry '${entry.name}' is encrypted; encrypted archives are not supported`);
    }
    if (entry.method !== 0 && entry.method !== 8) {
      throw new CheckpointError(
        file,
        `ZIP entry '${entry.name}' uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`,
      );
    }
    if (entry.uncompressedSize > maxBytes) {
      throw new CheckpointError(
        file,
        `ZIP entry '${entry.name}' is ${bytesText(entry.uncompressedSize)} uncompressed, more than the limit of ${bytesText(maxBytes)}`,
      );
    }
    if (entry.method === 0 && entry.compressedSize !== entry.uncompressedSize) {
      throw new CheckpointError(
        file,
        `corrupt ZIP archive: stored entry '${entry.name}' has compressed size ${entry.compressedSize} ` +
          `but uncompressed size ${entry.uncompressedSize}`,
      );
    }
    const start = await this.dataOffset(entry);
    const raw = await readExactly(this.fh, file, start, entry.compressedSize, `entry '${entry.name}'`);
    let data = raw;
    if (entry.method === 8) {
      try {
        const out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, Math.min(maxBytes, entry.uncompressedSize)) });
        data = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch (error) {
        throw new CheckpointError(
          file,
          `ZIP entry '${entry.name}' could not be inflated (expected ${bytesText(entry.uncompressedSize)}): ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (data.byteLength !== entry.uncompressedSize) {
        throw new CheckpointError(
          file,
          `corrupt ZIP archive: entry '${entry.name}' inflated to ${bytesText(data.byteLength)}, ` +
            `but its header says ${bytesText(entry.uncompressedSize)}`,
        );
      }
      if (data.byteOffset % 8 !== 0) data = data.slice();
    }
    const verify = options.verifyCrc ?? 'if-recorded';
    if (verify === 'always' || (verify === 'if-recorded' && entry.crc32 !== 0)) {
      const actual = crc32(data);
      if (actual !== entry.crc32) {
        throw new CheckpointError(
          file,
          `corrupt ZIP archive: CRC-32 of entry '${entry.name}' is ${hex(actual)} but the archive records ${hex(entry.crc32)}`,
        );
      }
    }
    return data;
  }

  /** Closes the file handle. */
  async close(): Promise<void> {
    await this.fh.close();
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Locates the end records and parses the central directory. */
async function readCentralDirectory(
  fh: FileHandle,
  file: string,
  size: number,
): Promise<{ entries: Map<string, ZipEntry>; cdOffset: number }> {
  if (size < EOCD_SIZE) {
    throw new CheckpointError(file, `not a ZIP archive: the file is only ${bytesText(size)} long`);
  }
  const tailLen = Math.min(size, MAX_COMMENT + EOCD_SIZE);
  const tailStart = size - tailLen;
  const tail = await readExactly(fh, file, tailStart, tailLen, 'ZIP end records');
  const tv = view(tail);
  // Prefer a record whose comment ends exactly at the end of the file (a comment may itself
  // contain the signature); accept one followed by trailing bytes otherwise.
  let eocd = -1;
  let loose = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tv.getUint32(i, true) !== SIG_EOCD) continue;
    const end = i + EOCD_SIZE + tv.getUint16(i + 20, true);
    if (end === tailLen) {
      eocd = i;
      break;
    }
    if (end < tailLen && loose < 0) loose = i;
  }
  if (eocd < 0) eocd = loose;
  if (eocd < 0) {
    const head = await readExactly(fh, file, 0, 4, 'ZIP signature');
    if (view(head).getUint32(0, true) === SIG_LOCAL) {
      throw new CheckpointError(
        file,
        'truncated ZIP archive: it starts like a ZIP file but has no end of central directory record (was the file cut short?)',
      );
    }
    throw new CheckpointError(file, 'not a ZIP archive: no end of central directory record found');
  }
  const eocdPos = tailStart + eocd;
  const diskNo = tv.getUint16(eocd + 4, true);
  const cdDisk = tv.getUint16(eocd + 6, true);
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  let cdLimit = eocdPos;

  // ZIP64: a locator right before the EOCD points at the ZIP64 end record.
  let locator: Uint8Array | undefined;
  if (eocdPos >= LOCATOR_SIZE) {
    locator = await readExactly(fh, file, eocdPos - LOCATOR_SIZE, LOCATOR_SIZE, 'ZIP64 locator');
    if (view(locator).getUint32(0, true) !== SIG_EOCD64_LOCATOR) locator = undefined;
  }
  if (locator) {
    const lv = view(locator);
    const recordAt = u64(lv, 8, file, 'ZIP64 end record offset');
    if (recordAt + EOCD64_SIZE > eocdPos - LOCATOR_SIZE) {
      throw new CheckpointError(file, `corrupt ZIP archive: ZIP64 end record offset ${recordAt} is outside the file`);
    }
    const rec = await readExactly(fh, file, recordAt, EOCD64_SIZE, 'ZIP64 end record');
    const rv = view(rec);
    if (rv.getUint32(0, true) !== SIG_EOCD64) {
      throw new CheckpointError(file, `corrupt ZIP archive: no ZIP64 end record at offset ${recordAt}`);
    }
    if (rv.getUint32(16, true) !== 0 || rv.getUint32(20, true) !== 0) {
      throw new CheckpointError(file, 'multi-disk ZIP archives are not supported');
    }
    count = u64(rv, 32, file, 'ZIP64 entry count');
    cdSize = u64(rv, 40, file, 'ZIP64 central directory size');
    cdOffset = u64(rv, 48, file, 'ZIP64 central directory offset');
    cdLimit = recordAt;
  } else {
    if ((diskNo !== 0 && diskNo !== 0xffff) || (cdDisk !== 0 && cdDisk !== 0xffff)) {
      throw new CheckpointError(file, 'multi-disk ZIP archives are not supported');
    }
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      throw new CheckpointError(file, 'corrupt ZIP archive: ZIP64 values are announced but the ZIP64 end record is missing');
    }
  }
  if (cdOffset + cdSize > cdLimit) {
    throw new CheckpointError(
      file,
      `truncated or corrupt ZIP archive: the central directory (offset ${cdOffset}, ${bytesText(cdSize)}) ` +
        `extends past its end record at ${cdLimit}`,
    );
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY) {
    throw new CheckpointError(file, `ZIP central directory of ${bytesText(cdSize)} is too large`);
  }
  if (count * CENTRAL_SIZE > cdSize) {
    throw new CheckpointError(file, `corrupt ZIP archive: ${count} entries cannot fit in a central directory of ${bytesText(cdSize)}`);
  }
  const cd = await readExactly(fh, file, cdOffset, cdSize, 'ZIP central directory');
  const dv = view(cd);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_SIZE > cdSize || dv.getUint32(at, true) !== SIG_CENTRAL) {
      throw new CheckpointError(file, `corrupt ZIP archive: central directory record ${i} at offset ${cdOffset + at} is invalid`);
    }
    const flags = dv.getUint16(at + 8, true);
    const method = dv.getUint16(at + 10, true);
    const crc = dv.getUint32(at + 16, true);
    let compressedSize = dv.getUint32(at + 20, true);
    let uncompressedSize = dv.getUint32(at + 24, true);
    const nameLen = dv.getUint16(at + 28, true);
    const extraLen = dv.getUint16(at + 30, true);
    const commentLen = dv.getUint16(at + 32, true);
    const diskStart = dv.getUint16(at + 34, true);
    let localHeaderOffset = dv.getUint32(at + 42, true);
    const end = at + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > cdSize) {
      throw new CheckpointError(file, `corrupt ZIP archive: central directory record ${i} overruns the directory`);
    }
    const name = decodeName(cd.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLen), flags, file);
    const extra = cd.subarray(at + CENTRAL_SIZE + nameLen, at + CENTRAL_SIZE + nameLen + extraLen);
    const z64 = parseZip64Extra(
      extra,
      {
        uncompressed: uncompressedSize === 0xffffffff,
        compressed: compressedSize === 0xffffffff,
        offset: localHeaderOffset === 0xffffffff,
      },
      file,
      name,
    );
    uncompressedSize = z64.uncompressedSize ?? uncompressedSize;
    compressedSize = z64.compressedSize ?? compressedSize;
    localHeaderOffset = z64.localHeaderOffset ?? localHeaderOffset;
    if (diskStart !== 0 && diskStart !== 0xffff) {
      throw new CheckpointError(file, 'multi-disk ZIP archives are not supported');
    }
    if (localHeaderOffset + LOCAL_SIZE + nameLen + compressedSize > cdOffset) {
      throw new CheckpointError(
        file,
        `corrupt ZIP archive: entry '${name}' points outside the file data (local header at ${localHeaderOffset}, ` +
          `${bytesText(compressedSize)} of data, but the central directory starts at ${cdOffset})`,
      );
    }
    if (entries.has(name)) {
      throw new CheckpointError(file, `corrupt ZIP archive: entry '${name}' appears twice`);
    }
    entries.set(name, { name, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
    at = end;
  }
  return { entries, cdOffset };
}
