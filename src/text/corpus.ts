// Reading training text. A corpus is UTF-8 text: decoded strictly, a leading byte-order mark
// stripped, line endings kept exactly as given (CRLF stays CRLF, so a model trained on it
// samples CRLF back). Anything else (invalid UTF-8, UTF-16, binary data, an empty file) is a
// CorpusError whose one-line message names the input and says what to do.
//
// decodeCorpus works on bytes and never touches `process`: the CLI reads stdin itself and
// hands the bytes over with the name "stdin". readCorpusPath reads a file or a directory,
// readTextFile one file that is not a corpus (a table, pairs, a file to classify).

import { promises as fsp } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { crc32 } from '../checkpoint/crc32.js';
import { CorpusError } from '../util/errors.js';

/** Largest corpus accepted, in bytes: V8 strings top out near 2^29 UTF-16 units. */
export const MAX_CORPUS_BYTES = 512 * 1024 * 1024;

/**
 * What the corpus fingerprint (src/train/fingerprint.ts) and a task's reader share of a
 * corpus file, by absolute path, so that a training run reads the file once (and a pipe
 * such as `<(cmd)`, which can be read only once, is fingerprinted from the bytes the run
 * trains on): bytes the fingerprint read ahead, handed to the reader that asks for the
 * file and then dropped; and the size and CRC-32 of a file the reader read first.
 */
export class ReadAhead {
  private readonly ahead = new Map<string, Uint8Array>();
  private readonly seen = new Map<string, { bytes: number; crc32: number }>();

  /** The fingerprint's bytes of a file, for the reader. */
  put(path: string, bytes: Uint8Array): void {
    this.ahead.set(resolve(path), bytes);
  }

  /** The bytes read ahead for `path`, once (undefined: read the file). */
  take(path: string): Uint8Array | undefined {
    const key = resolve(path);
    const bytes = this.ahead.get(key);
    this.ahead.delete(key);
    return bytes;
  }

  /** The reader read `bytes` from `path`: their size and CRC, for the fingerprint. */
  saw(path: string, bytes: Uint8Array): void {
    this.seen.set(resolve(path), { bytes: bytes.length, crc32: crc32(bytes) });
  }

  /** The size and CRC of `path` as the reader read it, if it did. */
  seenFile(path: string): { bytes: number; crc32: number } | undefined {
    return this.seen.get(resolve(path));
  }
}

/**
 * Reads one text file by the corpus rules (size limit, strict UTF-8, binary refused); an
 * empty file gives ''. For the inputs that are one file each (a labelled table, pairs for
 * seq2seq, a file to classify). A pipe such as `<(cmd)` is read as it comes; a folder is
 * refused with `folderHint` as the fix. A file in `ahead` is not read again.
 *
 * @throws CorpusError naming the file and what to do.
 */
export async function readTextFile(path: string, folderHint = 'give a file', ahead?: ReadAhead): Promise<string> {
  const info = await fsp.stat(path).catch((err: unknown) => {
    throw fsError(path, err);
  });
  if (info.isDirectory()) throw new CorpusError(`${path}: is a folder; ${folderHint}`);
  if (info.isFile() && info.size > MAX_CORPUS_BYTES) throw tooLarge(path, info.size);
  const bytes = await readBytes(path, ahead);
  return bytes.length === 0 ? '' : decodeCorpus(bytes, path);
}

/** A file whose C0 control characters (other than \t \n \r \f, \v, ESC) exceed this share looks binary. */
const CONTROL_SHARE_LIMIT = 0.1;

/** What is wrong with some bytes, when they cannot be used as text. */
type TextProblem =
  | { kind: 'empty' }
  | { kind: 'utf16'; order: 'LE' | 'BE' }
  | { kind: 'binary'; reason: string }
  | { kind: 'utf8'; at: number; guess: string };

/**
 * Decodes a corpus from bytes. `name` is how the input is named in error messages
 * (a path, or "stdin").
 *
 * @throws CorpusError when the bytes are empty, binary, UTF-16, not valid UTF-8, or over
 *   MAX_CORPUS_BYTES.
 */
export function decodeCorpus(bytes: Uint8Array, name: string): string {
  if (bytes.length > MAX_CORPUS_BYTES) throw tooLarge(name, bytes.length);
  const result = classify(bytes);
  if (typeof result === 'string') return result;
  throw new CorpusError(`${name}: ${describe(result)}`);
}

/**
 * Reads a corpus from a file, or from a directory: its text files, found recursively,
 * sorted by relative path, dotfiles and dot-directories skipped, files that look binary
 * and empty files skipped, concatenated (a newline is inserted after a file that does not
 * end in one, so lines of two files never run together).
 *
 * @returns the text and the files it came from (in order).
 * @throws CorpusError for a missing or unreadable path, an empty directory, a directory
 *   without text files, or a file that is not valid text.
 */
export async function readCorpusPath(path: string, ahead?: ReadAhead): Promise<{ text: string; files: string[] }> {
  const info = await fsp.stat(path).catch((err: unknown) => {
    throw fsError(path, err);
  });
  if (info.isFile()) {
    if (info.size > MAX_CORPUS_BYTES) throw tooLarge(path, info.size);
    return { text: decodeCorpus(await readBytes(path, ahead), path), files: [path] };
  }
  if (!info.isDirectory()) {
    throw new CorpusError(`${path}: not a regular file or a directory; give a text file, a directory of text files, or - for stdin`);
  }

  const candidates = (await listFiles(path, path)).sort(compareRelative);
  if (candidates.length === 0) {
    throw new CorpusError(`${path}: the directory holds no files (dotfiles are skipped); put some text files in it or give a file`);
  }
  const parts: string[] = [];
  const files: string[] = [];
  let total = 0;
  for (const file of candidates) {
    const full = join(path, file);
    const bytes = await readBytes(full);
    const result = classify(bytes);
    if (typeof result !== 'string') {
      // Binary and empty files are skipped silently (images, archives, editor droppings);
      // a text file in the wrong encoding is an error, since skipping it would quietly
      // train on less text than the user meant.
      if (result.kind === 'binary' || result.kind === 'empty') continue;
      throw new CorpusError(`${full}: ${describe(result)}`);
    }
    total += bytes.length;
    if (total > MAX_CORPUS_BYTES) throw tooLarge(path, total);
    parts.push(result);
    if (!result.endsWith('\n')) parts.push('\n');
    files.push(full);
  }
  if (files.length === 0) {
    throw new CorpusError(`${path}: none of its ${candidates.length} files is text (all empty or binary); give a directory of UTF-8 text files`);
  }
  return { text: parts.join(''), files };
}

/** How much of the start of a stream the share of control characters is judged on. */
const SNIFF_BYTES = 64 * 1024;

/**
 * decodeCorpus for a stream that is processed as it arrives (rnn score): the same rules,
 * applied as the bytes come. A leading BOM is stripped; UTF-16 (with or without a BOM) is
 * recognised in the first chunk; a NUL byte anywhere, or more than a tenth of control
 * characters in the first 64 KB, is binary; invalid UTF-8 is refused at the byte where it
 * starts. An empty stream is just empty (no error).
 */
export class TextStreamDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  /** Bytes taken so far. */
  private seen = 0;
  private control = 0;
  /** The previous chunk's last bytes that may begin an unfinished UTF-8 sequence. */
  private tail = new Uint8Array(0);

  constructor(readonly name: string) {}

  /** The text of the next chunk (a sequence cut at the end is held back for the next one). */
  decode(chunk: Uint8Array): string {
    if (chunk.length === 0) return '';
    const first = this.seen === 0;
    let start = 0;
    if (first) {
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) start = 3;
      else if (chunk.length >= 2 && chunk[0] === 0xff && chunk[1] === 0xfe) this.fail({ kind: 'utf16', order: 'LE' });
      else if (chunk.length >= 2 && chunk[0] === 0xfe && chunk[1] === 0xff) this.fail({ kind: 'utf16', order: 'BE' });
      const utf16 = looksLikeBomlessUtf16(chunk.subarray(start));
      if (utf16) this.fail({ kind: 'utf16', order: utf16 });
    }
    for (let i = start; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === 0) this.fail({ kind: 'binary', reason: `a NUL byte at byte ${this.seen + i}` });
      if (c < 0x20 && !(c >= 0x09 && c <= 0x0d) && c !== 0x1b) this.control++;
    }
    const before = this.seen;
    this.seen += chunk.length;
    if (before < SNIFF_BYTES && this.control / this.seen > CONTROL_SHARE_LIMIT) {
      this.fail({ kind: 'binary', reason: `${((100 * this.control) / this.seen).toFixed(0)}% control characters` });
    }
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      const joined = new Uint8Array(this.tail.length + chunk.length);
      joined.set(this.tail);
      joined.set(chunk, this.tail.length);
      this.fail({ kind: 'utf8', at: before - this.tail.length + firstInvalidUtf8(joined), guess: guessEncoding(joined) });
    }
    // the last 3 bytes, less continuation bytes at their start (those end a sequence begun earlier)
    let from = Math.max(0, chunk.length - 3);
    while (from < chunk.length && (chunk[from]! & 0xc0) === 0x80) from++;
    this.tail = chunk.slice(from);
    return text!;
  }

  /** What is left at the end of the stream (a sequence cut short there is invalid UTF-8). */
  end(): string {
    try {
      return this.decoder.decode();
    } catch {
      return this.fail({ kind: 'utf8', at: this.seen - this.tail.length + firstInvalidUtf8(this.tail), guess: 'latin1' });
    }
  }

  private fail(problem: TextProblem): never {
    throw new CorpusError(`${this.name}: ${describe(problem)}`);
  }
}

// ---------------------------------------------------------------------------------------

/** The decoded text, or what is wrong with the bytes. */
function classify(bytes: Uint8Array): string | TextProblem {
  let start = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  else if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { kind: 'utf16', order: 'LE' };
  else if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { kind: 'utf16', order: 'BE' };
  if (bytes.length - start === 0) return { kind: 'empty' };

  const body = bytes.subarray(start);
  const utf16 = looksLikeBomlessUtf16(body);
  if (utf16) return { kind: 'utf16', order: utf16 };

  let control = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === 0) return { kind: 'binary', reason: `a NUL byte at byte ${start + i}` };
    // \t \n \v \f \r and ESC (ANSI colour codes in logs) are normal in text.
    if (c < 0x20 && !(c >= 0x09 && c <= 0x0d) && c !== 0x1b) control++;
  }
  if (control > 0 && control / body.length > CONTROL_SHARE_LIMIT) {
    return { kind: 'binary', reason: `${((100 * control) / body.length).toFixed(0)}% control characters` };
  }

  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    const at = firstInvalidUtf8(body);
    return { kind: 'utf8', at: start + at, guess: guessEncoding(body) };
  }
}

function describe(problem: TextProblem): string {
  switch (problem.kind) {
    case 'empty':
      return 'the corpus is empty; give a file with some text';
    case 'utf16':
      return `looks like UTF-16 (${problem.order}) text, not UTF-8; convert it with iconv -f utf-16${problem.order.toLowerCase()} -t utf-8`;
    case 'binary':
      return `looks like a binary file (${problem.reason}); give a UTF-8 text file`;
    case 'utf8':
      return `not valid UTF-8 at byte ${problem.at}; convert it with iconv -f ${problem.guess} -t utf-8`;
  }
}

/**
 * UTF-16 without a byte-order mark: in the first 4 KB, NUL bytes at most odd (LE) or
 * most even (BE) positions, and almost none at the other parity.
 */
function looksLikeBomlessUtf16(body: Uint8Array): 'LE' | 'BE' | null {
  const n = Math.min(body.length, 4096) & ~1;
  if (n < 4) return null;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < n; i += 2) {
    if (body[i] === 0) evenZeros++;
    if (body[i + 1] === 0) oddZeros++;
  }
  const pairs = n / 2;
  if (oddZeros > 0.4 * pairs && evenZeros < 0.05 * pairs) return 'LE';
  if (evenZeros > 0.4 * pairs && oddZeros < 0.05 * pairs) return 'BE';
  return null;
}

/**
 * Byte index where the first ill-formed UTF-8 sequence starts (per the Unicode standard's
 * table of well-formed sequences: no overlongs, no surrogates, nothing above U+10FFFF), as
 * Python reports it: the lead byte of a sequence with a bad or missing continuation byte,
 * or the stray byte itself. Returns body.length when all is well-formed.
 */
function firstInvalidUtf8(body: Uint8Array): number {
  let i = 0;
  while (i < body.length) {
    const lead = body[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) need = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      need = 2;
      if (lead === 0xe0) lo = 0xa0; // no overlongs
      if (lead === 0xed) hi = 0x9f; // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      need = 3;
      if (lead === 0xf0) lo = 0x90; // no overlongs
      if (lead === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = body[i + k];
      if (c === undefined) return i;
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (c < min || c > max) return i;
    }
    i += need + 1;
  }
  return body.length;
}

/** A plausible source encoding for the iconv hint: windows-1252 if it uses 0x80–0x9F, else latin1. */
function guessEncoding(body: Uint8Array): string {
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c >= 0x80 && c <= 0x9f) return 'windows-1252';
  }
  return 'latin1';
}

/** A file's bytes; with `ahead`, the fingerprint's if it read them, and noted for it otherwise. */
async function readBytes(path: string, ahead?: ReadAhead): Promise<Uint8Array> {
  const readAhead = ahead?.take(path);
  if (readAhead) return readAhead;
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(path);
  } catch (err) {
    throw fsError(path, err);
  }
  ahead?.saw(path, bytes);
  return bytes;
}

/** Relative paths of the regular files under `dir`, skipping names that start with a dot. */
async function listFiles(root: string, dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw fsError(dir, err);
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      found.push(...(await listFiles(root, full)));
    } else if (entry.isFile()) {
      found.push(relative(root, full));
    } else if (entry.isSymbolicLink()) {
      // Follow links to files; links to directories are not followed (no cycles).
      const target = await fsp.stat(full).catch(() => null);
      if (target?.isFile()) found.push(relative(root, full));
    }
  }
  return found;
}

/** Sorts relative paths component by component, by code unit, independent of the platform's separator. */
function compareRelative(a: string, b: string): number {
  const pa = a.split(sep);
  const pb = b.split(sep);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
  }
  return pa.length - pb.length;
}

function fsError(path: string, err: unknown): CorpusError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return new CorpusError(`${path}: no such file or directory; check the path`);
    case 'EACCES':
    case 'EPERM':
      return new CorpusError(`${path}: permission denied; check the file's permissions or copy it somewhere readable`);
    case 'EISDIR':
      return new CorpusError(`${path}: is a directory where a file was expected; give a file`);
    case 'ENOTDIR':
      return new CorpusError(`${path}: a part of the path is not a directory; check the path`);
    case 'ELOOP':
      return new CorpusError(`${path}: too many symbolic links; check where the link points`);
    default: {
      const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
      return new CorpusError(`${path}: cannot read it (${detail}); check the path and try again`);
    }
  }
}

function tooLarge(path: string, bytes: number): CorpusError {
  return new CorpusError(
    `${path}: ${(bytes / 1048576).toFixed(0)} MB is more than the ${MAX_CORPUS_BYTES / 1048576} MB a corpus may have; train on a part of it`,
  );
}
