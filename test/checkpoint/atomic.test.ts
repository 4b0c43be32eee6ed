import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTempName, newestFile, writeFileAtomic } from '../../src/checkpoint/atomic.js';
import { CheckpointError } from '../../src/util/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rnn-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (text: string) => new TextEncoder().encode(text);
const leftovers = async (folder: string) => (await readdir(folder)).filter(isTempName);

describe('writeFileAtomic', () => {
  it('writes a new file and replaces an existing one, leaving no temp files', async () => {
    const path = join(dir, 'a.safetensors');
    await writeFileAtomic(path, bytes('first'));
    expect(await readFile(path, 'utf8')).toBe('first');
    await writeFileAtomic(path, bytes('second, longer'));
    expect(await readFile(path, 'utf8')).toBe('second, longer');
    await writeFileAtomic(path, new Uint8Array(0));
    expect((await readFile(path)).length).toBe(0);
    expect(await readdir(dir)).toEqual(['a.safetensors']);
  });

  it('writes a large buffer and a view into a larger buffer exactly', async () => {
    const big = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 31) & 0xff);
    const path = join(dir, 'big.bin');
    await writeFileAtomic(path, big.subarray(5, 2_500_005));
    expect(Buffer.compare(await readFile(path), big.subarray(5, 2_500_005))).toBe(0); // (toEqual is slow on megabytes)
  });

  it('concurrent writers to one path leave one complete file', async () => {
    const path = join(dir, 'c.safetensors');
    const payloads = Array.from({ length: 12 }, (_, k) => bytes(String.fromCharCode(97 + k).repeat(50_000 + k)));
    await Promise.all(payloads.map((p) => writeFileAtomic(path, p)));
    const final = new Uint8Array(await readFile(path));
    expect(payloads.some((p) => p.length === final.length && p.every((b, i) => b === final[i]))).toBe(true);
    expect(await leftovers(dir)).toEqual([]);
  });

  it('a missing folder is a CheckpointError that says what to do', async () => {
    const path = join(dir, 'missing', 'x.safetensors');
    await expect(writeFileAtomic(path, bytes('x'))).rejects.toThrow(CheckpointError);
    await expect(writeFileAtomic(path, bytes('x'))).rejects.toThrow(/does not exist; create it or choose another folder/);
  });

  it('removes the temp file when the rename fails, and leaves the target alone', async () => {
    const path = join(dir, 'taken.safetensors');
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'keep');
    await expect(writeFileAtomic(path, bytes('x'))).rejects.toThrow(CheckpointError);
    expect(await leftovers(dir)).toEqual([]);
    expect(await readFile(join(path, 'inside'), 'utf8')).toBe('keep');
  });
});

describe('newestFile', () => {
  it('returns null for a missing or empty folder', async () => {
    expect(await newestFile(join(dir, 'nope'), '.safetensors')).toBeNull();
    expect(await newestFile(dir, '.safetensors')).toBeNull();
  });

  it('picks the newest file with the suffix by modification time', async () => {
    const at = async (name: string, seconds: number) => {
      await writeFile(join(dir, name), name);
      await utimes(join(dir, name), seconds, seconds);
    };
    await at('old.safetensors', 1_000_000);
    await at('new.safetensors', 3_000_000);
    await at('mid.safetensors', 2_000_000);
    await at('newest.txt', 9_000_000); // other suffix
    await at('.hidden.safetensors', 9_000_000); // dotfile (temp files are dotfiles)
    await mkdir(join(dir, 'folder.safetensors')); // not a file
    await utimes(join(dir, 'folder.safetensors'), 9_000_000, 9_000_000);
    expect(await newestFile(dir, '.safetensors')).toBe(join(dir, 'new.safetensors'));
  });

  it('breaks ties by name (the greatest wins)', async () => {
    for (const name of ['step-0900.safetensors', 'step-1000.safetensors', 'step-0100.safetensors']) {
      await writeFile(join(dir, name), name);
      await utimes(join(dir, name), 5_000_000, 5_000_000);
    }
    expect(await newestFile(dir, '.safetensors')).toBe(join(dir, 'step-1000.safetensors'));
  });

  it('a file where the folder should be is a CheckpointError', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    await expect(newestFile(file, '.safetensors')).rejects.toThrow(/is not a folder/);
  });

  it('sees files written by writeFileAtomic but never its temp files', async () => {
    await writeFileAtomic(join(dir, 'a.safetensors'), bytes('a'));
    expect(await newestFile(dir, '.safetensors')).toBe(join(dir, 'a.safetensors'));
    expect(await newestFile(dir, '.tmp')).toBeNull();
  });
});
