/**
 * Pieces shared by the checkpoint readers and writers: the `StateDict` type, the error type whose
 * message always names the file, positional reads and writes.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Tensor } from '../tensor.js';

/** Tensor names -> tensors, in their stored dtype and in the file's order. */
export type StateDict = Map<string, Tensor>;

/** A problem with a checkpoint file. The message starts with the file's path (or a label for buffers). */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  /** The file (or buffer label) at fault. */
  readonly file: string;
  constructor(file: string, detail: string, options?: ErrorOptions) {
    super(`${file}: ${detail}`, options);
    this.file = file;
  }
}

/** Re-throws `error` as a `CheckpointError` naming `file`, unless it already is one. */
export function asCheckpointError(file: string, error: unknown): CheckpointError {
  if (error instanceof CheckpointError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new CheckpointError(file, detail, { cause: error });
}

/** Human readable byte count for messages, e.g. "1234 bytes". */
export function bytesText(n: number | bigint): string {
  return `${n} byte${n === 1 || n === 1n ? '' : 's'}`;
}

/**
 * Reads exactly `length` bytes at `position` into a fresh (8-byte aligned) buffer; throws when the
 * file ends first. `what` names the thing being read, for the error message.
 */
export async function readExactly(
  fh: FileHandle,
  file: string,
  position: number,
  length: number,
  what: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const chunk = Math.min(length - done, 1 << 30);
    const { bytesRead } = await fh.read(out, done, chunk, position + done);
    if (bytesRead === 0) {
      throw new CheckpointError(
        file,
        `file is truncated: ${what} needs ${bytesText(length)} at offset ${position}, ` +
          `but the file ends after ${bytesText(done)} of it`,
      );
    }
    done += bytesRead;
  }
  return out;
}

/** Writes all of `data` at `position` (loops over short writes, chunks over 1 GiB). */
export async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const chunk = Math.min(data.byteLength - done, 1 << 30);
    const { bytesWritten } = await fh.write(data, done, chunk, position + done);
    if (bytesWritten <= 0) throw new Error(`write of ${chunk} bytes at ${position + done} wrote nothing`);
    done += bytesWritten;
  }
}

export { writeFileAtomic } from '../util/atomic-file.js';
