/**
 * Atomic file writes: data goes to a temporary file in the target's folder, is flushed to disk,
 * then renamed over the target, so readers see the old file or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Writes `path` through `write(handle)` atomically. */
export async function writeFileAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  let ok = false;
  try {
    await write(fh);
    await fh.sync();
    ok = true;
  } finally {
    await fh.close().catch(() => undefined);
    if (!ok) await unlink(tmp).catch(() => undefined);
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // Make the rename itself durable; some filesystems cannot fsync a directory.
  try {
    const dh = await open(dirname(path), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    /* best effort */
  }
}

export async function writeBytesAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(path, async (fh) => {
    await fh.writeFile(bytes);
  });
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeBytesAtomic(path, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}
