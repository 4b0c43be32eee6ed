import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCorpus, readCorpusPath, readTextFile, TextStreamDecoder } from '../../src/text/corpus.js';
import { CorpusError } from '../../src/util/errors.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** The CorpusError message thrown by fn (fails if fn does not throw one). */
function corpusError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CorpusError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a CorpusError');
}

async function corpusErrorAsync(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CorpusError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a CorpusError');
}

describe('decodeCorpus', () => {
  it('decodes UTF-8 text of every plane', () => {
    const text = 'hello, wörld. 你好 😀 e\u0301 é\n';
    expect(decodeCorpus(utf8(text), 'x.txt')).toBe(text);
  });

  it('strips a leading BOM and only that one', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('abc\uFEFFd')]);
    expect(decodeCorpus(bytes, 'x')).toBe('abc\uFEFFd');
  });

  it('keeps CRLF line endings as they are', () => {
    expect(decodeCorpus(utf8('a\r\nb\r\n'), 'x')).toBe('a\r\nb\r\n');
  });

  it('keeps tabs, form feeds and ANSI escapes', () => {
    expect(decodeCorpus(utf8('a\tb\fc\x1b[1md\n'), 'x')).toBe('a\tb\fc\x1b[1md\n');
  });

  it('rejects empty input, and a file that is only a BOM', () => {
    expect(corpusError(() => decodeCorpus(new Uint8Array(0), 'empty.txt'))).toMatch(/^empty\.txt: the corpus is empty; /);
    expect(corpusError(() => decodeCorpus(new Uint8Array([0xef, 0xbb, 0xbf]), 'bom.txt'))).toMatch(/empty/);
  });

  it('reports the byte of invalid UTF-8 and how to convert', () => {
    // "caf" + latin1 é (0xE9) + "!"
    const message = corpusError(() => decodeCorpus(new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x21]), 'latin.txt'));
    expect(message).toBe('latin.txt: not valid UTF-8 at byte 3; convert it with iconv -f latin1 -t utf-8');
    // windows-1252 curly quote 0x93
    expect(corpusError(() => decodeCorpus(new Uint8Array([0x61, 0x93, 0x62]), 'w.txt'))).toContain('iconv -f windows-1252');
  });

  it('finds the first bad byte past a BOM, in truncated sequences, overlongs and surrogates', () => {
    const at = (bytes: number[]) => /at byte (\d+)/.exec(corpusError(() => decodeCorpus(new Uint8Array(bytes), 'x')))![1];
    expect(at([0xef, 0xbb, 0xbf, 0x61, 0xff])).toBe('4');
    expect(at([0x61, 0x62, 0xe4, 0xbd])).toBe('2'); // truncated 3-byte sequence
    expect(at([0xc0, 0xaf])).toBe('0'); // overlong
    expect(at([0x61, 0xed, 0xa0, 0x80])).toBe('1'); // encoded surrogate
    expect(at([0xf4, 0x90, 0x80, 0x80])).toBe('0'); // above U+10FFFF
    expect(at([0x61, 0x80])).toBe('1'); // stray continuation byte
  });

  it('rejects binary data: NUL bytes or many control characters', () => {
    expect(corpusError(() => decodeCorpus(new Uint8Array([0x61, 0x00, 0x62]), 'a.bin'))).toMatch(/^a\.bin: looks like a binary file/);
    const controls = new Uint8Array(100).fill(0x61);
    for (let i = 0; i < 30; i++) controls[i * 3] = 0x01;
    expect(corpusError(() => decodeCorpus(controls, 'c.bin'))).toMatch(/looks like a binary file \(30% control/);
    // a few control characters in text are fine
    const mostlyText = new Uint8Array(100).fill(0x61);
    mostlyText[10] = 0x07;
    expect(decodeCorpus(mostlyText, 'ok.txt')).toHaveLength(100);
  });

  it('recognises UTF-16 with and without a BOM and says how to convert', () => {
    const le = new Uint8Array([0xff, 0xfe, 0x61, 0x00, 0x62, 0x00]);
    expect(corpusError(() => decodeCorpus(le, 'u.txt'))).toBe('u.txt: looks like UTF-16 (LE) text, not UTF-8; convert it with iconv -f utf-16le -t utf-8');
    const be = new Uint8Array([0x00, 0x61, 0x00, 0x62, 0x00, 0x63, 0x00, 0x0a]);
    expect(corpusError(() => decodeCorpus(be, 'u.txt'))).toMatch(/UTF-16 \(BE\)/);
  });
});

describe('readCorpusPath', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'rnn-corpus-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads a single file', async () => {
    const file = join(root, 'one.txt');
    await writeFile(file, '\uFEFFone line\r\n');
    expect(await readCorpusPath(file)).toEqual({ text: 'one line\r\n', files: [file] });
  });

  it('reads a directory recursively in sorted order, skipping dotfiles, binaries and empty files', async () => {
    const dir = join(root, 'books');
    await mkdir(join(dir, 'b', 'c'), { recursive: true });
    await mkdir(join(dir, '.git'), { recursive: true });
    await writeFile(join(dir, 'b', 'c', 'z.txt'), 'deep\n');
    await writeFile(join(dir, 'b', 'a.txt'), 'b-a');
    await writeFile(join(dir, 'a.md'), 'first\n');
    await writeFile(join(dir, 'c.txt'), 'last\n');
    await writeFile(join(dir, '.hidden'), 'secret\n');
    await writeFile(join(dir, '.git', 'HEAD'), 'ref\n');
    await writeFile(join(dir, 'image.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]));
    await writeFile(join(dir, 'empty.txt'), '');
    await symlink(join(dir, 'b'), join(dir, 'loop')); // a link to a directory is not followed
    const { text, files } = await readCorpusPath(dir);
    expect(text).toBe('first\nb-a\ndeep\nlast\n');
    expect(files).toEqual([join(dir, 'a.md'), join(dir, 'b', 'a.txt'), join(dir, 'b', 'c', 'z.txt'), join(dir, 'c.txt')]);
  });

  it('names the file in a directory that is not UTF-8', async () => {
    const dir = join(root, 'mixed');
    await mkdir(dir);
    await writeFile(join(dir, 'a.txt'), 'fine\n');
    await writeFile(join(dir, 'b.txt'), new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
    expect(await corpusErrorAsync(readCorpusPath(dir))).toBe(`${join(dir, 'b.txt')}: not valid UTF-8 at byte 3; convert it with iconv -f latin1 -t utf-8`);
  });

  it('gives one-line errors for a missing path, an empty directory and a directory without text', async () => {
    const missing = join(root, 'nope.txt');
    expect(await corpusErrorAsync(readCorpusPath(missing))).toBe(`${missing}: no such file or directory; check the path`);
    const empty = join(root, 'empty-dir');
    await mkdir(empty);
    await writeFile(join(empty, '.only-hidden'), 'x');
    expect(await corpusErrorAsync(readCorpusPath(empty))).toMatch(/holds no files/);
    const binaries = join(root, 'binaries');
    await mkdir(binaries);
    await writeFile(join(binaries, 'a.bin'), new Uint8Array([1, 0, 2]));
    expect(await corpusErrorAsync(readCorpusPath(binaries))).toMatch(/none of its 1 files is text/);
    expect(await corpusErrorAsync(readCorpusPath(join(root, 'binaries', 'a.bin')))).toMatch(/looks like a binary file/);
  });

  it.skipIf(process.getuid?.() === 0)('reports an unreadable file', async () => {
    const file = join(root, 'locked.txt');
    await writeFile(file, 'x');
    await chmod(file, 0o000);
    expect(await corpusErrorAsync(readCorpusPath(file))).toMatch(/permission denied/);
  });
});

describe('TextStreamDecoder (rnn score): the rules of decodeCorpus, as bytes arrive', () => {
  /** Decodes the bytes cut into chunks of `size`. */
  const streamed = (bytes: Uint8Array, size: number): string => {
    const d = new TextStreamDecoder('in.txt');
    let text = '';
    for (let i = 0; i < bytes.length; i += size) text += d.decode(bytes.subarray(i, i + size));
    return text + d.end();
  };

  it('gives the same text as decodeCorpus however the bytes are cut, BOM stripped, CRLF kept', () => {
    const bytes = utf8('\ufeffcafé 😀 naïve\r\nzwei Zeilen\n');
    for (const size of [1, 2, 3, 5, 64]) expect(streamed(bytes, size)).toBe(decodeCorpus(bytes, 'in.txt'));
  });

  it('refuses what decodeCorpus refuses, naming the byte where invalid UTF-8 starts', () => {
    const latin1 = new Uint8Array([...utf8('caf'), 0xe9, 0x20, ...utf8('ok')]);
    for (const size of [1, 2, 64]) {
      expect(corpusError(() => streamed(latin1, size))).toBe(corpusError(() => decodeCorpus(latin1, 'in.txt')));
    }
    const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]);
    expect(corpusError(() => streamed(elf, 4096))).toMatch(/^in\.txt: looks like a binary file \(a NUL byte at byte 7\)/);
    expect(corpusError(() => streamed(new Uint8Array([0xff, 0xfe, 0x61, 0]), 64))).toMatch(/UTF-16 \(LE\)/);
    expect(corpusError(() => streamed(new Uint8Array([1, 2, 3, 4, 5, 6, 0x61, 0x62]), 64))).toMatch(/binary file \(75% control characters\)/);
    expect(corpusError(() => streamed(new Uint8Array([0x61, 0xe2, 0x82]), 64))).toMatch(/not valid UTF-8 at byte 1/);
  });

  it('an empty stream is empty, not an error', () => {
    expect(streamed(new Uint8Array(0), 8)).toBe('');
  });
});

describe('readTextFile (one file that is not a corpus: a table, pairs, a file to classify)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rnn-textfile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads UTF-8 text and gives an empty file as the empty string', async () => {
    await writeFile(join(dir, 'a.tsv'), '\uFEFFpos\tgood\r\nneg\tbad\n');
    expect(await readTextFile(join(dir, 'a.tsv'))).toBe('pos\tgood\r\nneg\tbad\n');
    await writeFile(join(dir, 'empty.txt'), '');
    expect(await readTextFile(join(dir, 'empty.txt'))).toBe('');
  });

  it('refuses what the corpus reader refuses, with the same one-line messages', async () => {
    const missing = join(dir, 'missing.tsv');
    expect(await corpusErrorAsync(readTextFile(missing))).toBe(`${missing}: no such file or directory; check the path`);
    await writeFile(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    expect(await corpusErrorAsync(readTextFile(join(dir, 'latin1.txt')))).toMatch(/latin1\.txt: not valid UTF-8 at byte 3; convert it with iconv/);
    await writeFile(join(dir, 'bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 7)));
    expect(await corpusErrorAsync(readTextFile(join(dir, 'bin')))).toMatch(/^.*bin: .*binary/);
  });

  it('names the fix the caller gives for a folder', async () => {
    expect(await corpusErrorAsync(readTextFile(dir, 'give its files, e.g. dir/*'))).toBe(`${dir}: is a folder; give its files, e.g. dir/*`);
  });

  it.skipIf(process.platform === 'win32')('reads a named pipe as its writer fills it (process substitution)', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `printf 'x\\ty\\n' > '${fifo}'`]);
    const closed = new Promise((r) => writer.on('close', r));
    expect(await readTextFile(fifo)).toBe('x\ty\n');
    expect(await closed).toBe(0);
  });
});
