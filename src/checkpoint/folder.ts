// The folder a run writes its checkpoints to, made ready before any training is done:
// created component by component (mkdir's recursive mode spins forever on a parent such
// as /proc that refuses new entries with ENOENT), proven writable by creating and
// removing a file in it, and cleared of the temporary files that an interrupted save
// (kill -9, a power cut) left behind.
import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { nodeCrypto } from '../util/builtins.js';
import { RnnError } from '../util/errors.js';
import { isTempName } from './atomic.js';

/** A checkpoint folder that cannot be created or written. */
export class FolderError extends RnnError {
  constructor(readonly dir: string, readonly code: string, problem: string) {
    super(`${dir}: ${problem}`);
  }
}

/** Temporary files of other runs are removed once they are this old (a save never takes that long). */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Creates `dir` if needed and checks that files can be created in it. With `create: false`
 * nothing is created: the check is made in `dir` when it exists, else in its nearest
 * existing parent (where the missing folders would be made), so a command can refuse an
 * unwritable folder before any work without leaving a folder behind if it then fails.
 * @throws FolderError naming the folder and the reason.
 */
export async function prepareFolder(dir: string, opts: { create?: boolean } = {}): Promise<void> {
  const full = resolve(dir);
  const missing: string[] = [];
  for (let d = full; ; d = dirname(d)) {
    const info = await fsp.stat(d).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw folderError(d, e);
    });
    if (info) {
      if (!info.isDirectory()) throw new FolderError(d, 'ENOTDIR', 'is not a folder');
      break;
    }
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  const create = opts.create ?? true;
  if (create) {
    for (const d of missing) {
      await fsp.mkdir(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw folderError(d, e);
      });
    }
  }
  const where = create || missing.length === 0 ? full : dirname(missing[0]!);
  const probe = join(where, `.rnn-write-check.${nodeCrypto().randomBytes(8).toString('hex')}.tmp`);
  try {
    const handle = await fsp.open(probe, 'wx');
    await handle.close();
  } catch (e) {
    throw folderError(create || missing.length === 0 ? full : missing[0]!, e as NodeJS.ErrnoException);
  }
  await fsp.unlink(probe).catch(() => undefined);
}

/**
 * Removes temporary files left by interrupted saves: those of `run` (".<run>-best
 * .safetensors.<hex>.tmp", "-last") whatever their age, since this process now owns the
 * run, and any other older than STALE_TEMP_MS. Returns how many were removed.
 */
export async function removeStaleTemporaries(dir: string, run: string, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  const ours = new RegExp(`^\\.${escapeRegExp(run)}-(best|last)\\.safetensors\\.[0-9a-f]{16}\\.tmp$`);
  let removed = 0;
  for (const name of names) {
    if (!isTempName(name) || !/\.safetensors\.[0-9a-f]{16}\.tmp$/.test(name)) continue;
    const path = join(dir, name);
    const info = await fsp.stat(path).catch(() => null);
    if (!info?.isFile()) continue;
    if (ours.test(name) || now - info.mtimeMs > STALE_TEMP_MS) {
      if (await fsp.unlink(path).then(() => true, () => false)) removed++;
    }
  }
  return removed;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function folderError(dir: string, e: NodeJS.ErrnoException): FolderError {
  const code = e.code ?? 'EIO';
  const problem: Record<string, string> = {
    EACCES: 'cannot write there (permission denied)',
    EPERM: 'cannot write there (operation not permitted)',
    EROFS: 'cannot write there (read-only file system)',
    ENOENT: 'does not take new files or folders',
    ENOSPC: 'cannot write there (the disk is full)',
    EDQUOT: 'cannot write there (disk quota exceeded)',
    ENOTDIR: 'a part of the path is not a folder',
  };
  return new FolderError(dir, code, problem[code] ?? `cannot be written (${code})`);
}
