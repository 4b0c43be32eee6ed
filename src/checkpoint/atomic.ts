// Atomic file replacement. A checkpoint is written to a temporary file in the same
// folder, flushed to disk, and renamed over the target; then the folder itself is
// flushed so the rename survives a power cut. At every moment the target path holds
// either the complete old file or the complete new one, never a partial write.
//
// Temporary files are named ".<target name>.<16 random hex digits>.tmp": hidden, unique per
// writer (two processes saving to one folder never share a temp file), and never
// matching a checkpoint suffix, so newestFile does not pick them up.

import { existsSync, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { nodeCrypto } from '../util/builtins.js';
import { CheckpointError } from '../util/errors.js';

/**
 * Writes `data` to `path` atomically (temp file, fsync, rename, fsync of the folder).
 * The temporary file is removed if anything fails.
 *
 * @throws CheckpointError(path, problem) when the folder is missing or not writable,
 *   the disk is full, and the like.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${nodeCrypto().randomBytes(8).toString('hex')}.tmp`);
  let created = false;
  try {
    const handle = await fsp.open(tmp, 'wx');
    created = true;
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await handle.write(data, written, data.length - written, written);
        written += bytesWritten;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, path);
    created = false;
  } catch (err) {
    if (created) await fsp.unlink(tmp).catch(() => undefined);
    throw writeError(path, err);
  }
  await syncDirectory(dir);
}

/**
 * The regular file in `dir` whose name ends with `suffix` and that was modified last
 * (ties broken by name: the greatest name wins). Names starting with a dot are ignored.
 *
 * @returns its path (`dir` joined with the name), or null when there is none or the
 *   folder does not exist.
 * @throws CheckpointError when `dir` exists but cannot be listed.
 */
export async function newestFile(dir: string, suffix: string): Promise<string | null> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new CheckpointError(dir, 'is not a folder; give the folder that holds the checkpoints');
    throw new CheckpointError(dir, `cannot list the folder (${code ?? errorText(err)}); check its permissions`);
  }
  let best: { name: string; mtime: number } | null = null;
  for (const name of names) {
    if (name.startsWith('.') || !name.endsWith(suffix)) continue;
    const info = await fsp.stat(join(dir, name)).catch(() => null); // vanished or unreadable: skip
    if (!info?.isFile()) continue;
    const mtime = info.mtimeMs;
    if (best === null || mtime > best.mtime || (mtime === best.mtime && name > best.name)) best = { name, mtime };
  }
  return best === null ? null : join(dir, best.name);
}

/** fsync a folder so a rename in it is durable. Not possible on every platform (Windows): best effort. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Opening or syncing a directory fails on some platforms and file systems; the
    // rename has happened, so the new file is in place either way.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function writeError(path: string, err: unknown): CheckpointError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      // a folder that exists but refuses new files with ENOENT (/proc, /sys) is not a missing folder
      return existsSync(dirname(path))
        ? new CheckpointError(path, `cannot write: ${dirname(path)} does not take new files; choose another folder`)
        : new CheckpointError(path, `cannot write: the folder ${dirname(path)} does not exist; create it or choose another folder`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new CheckpointError(path, `cannot write: permission denied; choose a writable folder`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new CheckpointError(path, 'cannot write: the disk is full; free some space (the previous checkpoint is intact)');
    case 'ENOTDIR':
      return new CheckpointError(path, `cannot write: ${dirname(path)} is not a folder; choose another folder`);
    case 'EISDIR':
      return new CheckpointError(path, 'cannot write: a folder has that name; choose another file name');
    default:
      return new CheckpointError(path, `cannot write (${code ?? errorText(err)}); check the folder and try again`);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/** Whether a file name is one of writeFileAtomic's temporary files (left behind only by a crash). */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

