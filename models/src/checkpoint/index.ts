/**
 * Checkpoint I/O: PyTorch zip checkpoints (.pth/.pt) and safetensors, read directly in TypeScript.
 * `readCheckpoint` picks the reader from the file's content, not its name.
 */
import { open } from 'node:fs/promises';
import { CheckpointError, type StateDict, readExactly } from './common.js';
import { legacyFormatMessage, readPth } from './pth.js';
import { MAX_HEADER_BYTES, readSafetensors } from './safetensors.js';

export { CheckpointError, type StateDict } from './common.js';
export { readSafetensors, parseSafetensors, readSafetensorsHeader, readSafetensorsMetadata, writeSafetensors } from './safetensors.js';
export { readPth, type ReadPthOptions } from './pth.js';
export { ZipReader } from './zip.js';
export { unpickleTorch, TORCH_GLOBALS } from './torch-pickle.js';
export { unpickle, PyDict, PySet, PyTuple } from './pickle.js';

export type CheckpointFormat = 'pth' | 'safetensors';

/**
 * Identifies a checkpoint by its first bytes: 'pth' for a ZIP archive, 'safetensors' for a
 * plausible safetensors header. Legacy (non-zip) torch pickles, empty files and anything else are
 * refused with a message naming the file.
 */
export async function detectCheckpointFormat(path: string): Promise<CheckpointFormat> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size === 0) throw new CheckpointError(path, 'empty file: not a checkpoint');
    const head = await readExactly(fh, path, 0, Math.min(size, 9), 'file signature');
    if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'pth';
    if (head[0] === 0x80 && head.length > 1 && head[1]! >= 2 && head[1]! <= 5) {
      throw new CheckpointError(path, legacyFormatMessage());
    }
    if (head.length === 9) {
      const n = new DataView(head.buffer, 0, 8).getBigUint64(0, true);
      if (n >= 2n && n <= BigInt(Math.min(size - 8, MAX_HEADER_BYTES)) && head[8] === 0x7b) return 'safetensors';
    }
    throw new CheckpointError(
      path,
      'unrecognised checkpoint format: expected a PyTorch zip checkpoint (.pth/.pt saved by torch >= 1.6) or a safetensors file',
    );
  } finally {
    await fh.close();
  }
}

/** Reads a state dict from a .pth (zip) or safetensors file, chosen by content. */
export async function readCheckpoint(path: string): Promise<StateDict> {
  const format = await detectCheckpointFormat(path);
  return format === 'pth' ? readPth(path) : readSafetensors(path);
}
