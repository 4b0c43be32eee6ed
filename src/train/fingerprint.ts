// The fingerprint of a training corpus, recorded in every checkpoint of a run so a resume
// can tell whether it is given the text the run was trained on (and, given none, find it
// again). Cheap and task-agnostic: the bytes as they are on disk, before any task reads
// them, so it is the same for a language model, a classifier, a conditioned model and an
// encoder-decoder.
//
//   file      bytes = its size, crc32 = CRC-32 of its bytes
//   folder    every regular file below it, dotfiles and dot-folders skipped (as the readers
//             skip them), in sorted order of relative path; bytes = the sum of their sizes,
//             crc32 over (relative path, NUL, the file's bytes) of each in turn, so a file
//             renamed or moved between class folders changes it too
//   stdin     the bytes read; path "-"
//   path      absolute (resolved against the working folder at training time), or "-"
import { createReadStream, promises as fsp } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { crc32 } from '../checkpoint/crc32.js';
import { MAX_CORPUS_BYTES, type ReadAhead } from '../text/corpus.js';

export interface CorpusFingerprint {
  /** Where the corpus was read from: an absolute path, or "-" for stdin. */
  path: string;
  /** Its size in bytes (a folder: of all its files). */
  bytes: number;
  /** CRC-32 of its bytes (a folder: of its files' relative paths and bytes, in order). */
  crc32: number;
}

/**
 * The fingerprint of a path, or of the stdin bytes when path is "-". With `ahead`
 * (text/corpus.ts), a file the task's reader has read is not read again, and a file (or a
 * pipe) it has not is read whole, within the corpus size limit, and its bytes are kept
 * there for the reader. A folder's files are read here and again by the reader.
 */
export async function fingerprintCorpus(path: string, stdin?: Uint8Array, ahead?: ReadAhead): Promise<CorpusFingerprint> {
  if (path === '-') {
    const bytes = stdin ?? new Uint8Array(0);
    return { path: '-', bytes: bytes.length, crc32: crc32(bytes) };
  }
  const root = resolve(path);
  const info = await fsp.stat(root);
  if (!info.isDirectory()) {
    const seen = ahead?.seenFile(root);
    if (seen) return { path: root, ...seen };
    if (ahead && !(info.isFile() && info.size > MAX_CORPUS_BYTES)) {
      const bytes = await fsp.readFile(root);
      ahead.put(root, bytes);
      return { path: root, bytes: bytes.length, crc32: crc32(bytes) };
    }
    const { bytes, crc } = await crcOfFile(root, 0);
    return { path: root, bytes, crc32: crc };
  }
  let bytes = 0;
  let crc = 0;
  const encoder = new TextEncoder();
  for (const file of (await filesBelow(root)).sort(byCodePoint)) {
    const name = relative(root, file).split(sep).join('/');
    crc = crc32(encoder.encode(`${name}\0`), crc);
    const part = await crcOfFile(file, crc);
    bytes += part.bytes;
    crc = part.crc;
  }
  return { path: root, bytes, crc32: crc };
}

/** True when two fingerprints describe the same bytes (wherever they were read from). */
export function sameCorpus(a: CorpusFingerprint, b: CorpusFingerprint): boolean {
  return a.bytes === b.bytes && a.crc32 === b.crc32;
}

/** A fingerprint read from a checkpoint's metadata, or null when it is not one. */
export function asFingerprint(value: unknown): CorpusFingerprint | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  const ok = typeof v.path === 'string' && v.path.length > 0 && Number.isSafeInteger(v.bytes) && (v.bytes as number) >= 0
    && Number.isInteger(v.crc32) && (v.crc32 as number) >= 0 && (v.crc32 as number) <= 0xffffffff;
  return ok ? { path: v.path as string, bytes: v.bytes as number, crc32: v.crc32 as number } : null;
}

async function crcOfFile(file: string, previous: number): Promise<{ bytes: number; crc: number }> {
  let crc = previous;
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    crc = crc32(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), crc);
    bytes += b.byteLength;
  }
  return { bytes, crc };
}

async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(full)));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
