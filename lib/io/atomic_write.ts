/**
 * Atomic file writes: the bytes go to a temporary file in the destination folder, which is flushed
 * (fsync), renamed over the destination, and the folder is flushed too. A reader sees either the old
 * file or the complete new one; a failure at any point removes the temporary file and leaves the old
 * file untouched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { UserError } from '../errors';

/** Receives the file's bytes in order; chunks are written as they come. */
export type ChunkSink = (chunk: Uint8Array) => Promise<void>;

/**
 * Writes `file` atomically. `produce` is called with a sink and writes the content through it (so a
 * large file is never held twice in memory). An error thrown by `produce` or by the file system
 * becomes a UserError naming `file` (a UserError from `produce` passes through as it is).
 */
export async function writeFileAtomic(file: string, produce: (write: ChunkSink) => Promise<void>): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  let handle: fs.promises.FileHandle | undefined;
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    handle = await fs.promises.open(tmp, 'wx');
    const h = handle;
    await produce(async (chunk) => {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await h.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    });
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(tmp, file);
  } catch (e) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: cannot write: ${(e as Error).message.split('\n')[0]}`);
  }
  await syncFolder(dir);
}

/** Writes a whole buffer atomically (see writeFileAtomic). */
export function writeBytesAtomic(file: string, bytes: Uint8Array): Promise<void> {
  return writeFileAtomic(file, (write) => write(bytes));
}

/** Flushes a folder's entries (the rename) to disk. Some file systems refuse: that is not an error. */
async function syncFolder(dir: string): Promise<void> {
  let h: fs.promises.FileHandle | undefined;
  try {
    h = await fs.promises.open(dir, 'r');
    await h.sync();
  } catch {
    // EISDIR / EINVAL / EPERM on platforms without directory fsync: the rename is still atomic.
  } finally {
    await h?.close().catch(() => undefined);
  }
}
