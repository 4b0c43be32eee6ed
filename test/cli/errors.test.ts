// Every error a user can cause: one line on stderr that names the problem and the fix,
// the documented exit status, no stack trace, and nothing on stdout.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectOneLineError, runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
copyFileSync(fileURLToPath(new URL('../fixtures/checkpoints/v1-lstm-train.safetensors', import.meta.url)), join(tmp.dir, 'm.safetensors'));

function file(name: string, data: string | Uint8Array): string {
  writeFileSync(join(tmp.dir, name), data);
  return name;
}

async function expectError(args: string[], code: number, pattern: RegExp, input?: string) {
  expectOneLineError(await runCli(args, { cwd: tmp.dir, input }), code, pattern);
}

describe('bad input', () => {
  it('a missing corpus', () => expectError(['train', 'nope.txt'], 1, /nope\.txt/));
  it('an empty corpus', () => expectError(['train', file('empty.txt', '')], 1, /empty/i));
  it('a binary file', () => expectError(['train', file('bin.dat', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3, 0, 0, 0]))], 1, /binary/i));
  it('invalid UTF-8', () => expectError(['train', file('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a]))], 1, /UTF-8/));
  it('a corpus shorter than one window', () => expectError(['train', file('short.txt', 'just a few words\n')], 1, /--batch|--seq/));
  it('a corpus shorter than one window, in the words of the flags', () => expectError(['train', file('short2.txt', 'a few more words than that\n'), '--batch', '6', '--seq', '5', '--val-frac', '0'], 1,
    /^rnn: the training text has 27 characters, but --batch 6 × --seq 5 needs at least 31; use a smaller --batch or --seq, or more text$/));
  it('an empty stdin', () => expectError(['train', '-'], 1, /empty/i, ''));
  it('a checkpoint that is not one', () => expectError(['sample', '--checkpoint', file('fake.safetensors', 'hello world, not a checkpoint')], 1, /fake\.safetensors/));
  it('a missing checkpoint', () => expectError(['sample', '--checkpoint', 'missing.safetensors'], 1, /missing\.safetensors/));
  it('no checkpoint at all', () => expectError(['sample'], 1, /no checkpoint/));
  it('an unknown flag', () => expectError(['train', 'x.txt', '--hiden', '3'], 2, /--hiden/));
  it('an unknown command', () => expectError(['trian'], 2, /trian/));
  it('an out-of-range number', () => expectError(['train', 'x.txt', '--hidden', '0'], 2, /--hidden/));
  it('a number that is not one', () => expectError(['sample', '--temp', 'hot'], 2, /--temp/));
  it('a bad duration', () => expectError(['train', 'x.txt', '--time', 'soon'], 2, /--time/));
  it('an unknown cell', () => expectError(['train', 'x.txt', '--cell', 'transformer'], 2, /--cell/));
  it('a missing argument', () => expectError(['train'], 2, /corpus/));
  it('a number too large names both bounds', () => expectError(['sample', '--count', '99999999999999999'], 2, /--count must be a whole number from 1 to 9,007,199,254,740,991/));
  it('a step count past 2^53 names both bounds', () => expectError(['train', 'x.txt', '--steps', '9007199254740993'], 2, /--steps must be a whole number from 1 to 9,007,199,254,740,991/));
  it('a corpus of one character says "1 character"', () => expectError(['train', file('one.txt', 'a')], 1, /has 1 character, but/));
  it('help about an unknown command is a usage error', () => expectError(['help', 'bogus'], 2, /unknown command 'bogus'/));
  it('a folder that takes no files (/proc) is not called missing', () => expectError(['export', '-c', 'm.safetensors', '--onnx', '/proc/rnn-x.onnx'], 1, /\/proc does not take new files/));
  it('score refuses a binary file as train does', () => expectError(['score', '-c', 'm.safetensors', file('elf.bin', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0x61, 0x0a]))], 1, /elf\.bin: looks like a binary file/));
  it('score refuses invalid UTF-8 as train does', () => expectError(['score', '-c', 'm.safetensors', file('latin1-score.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]))], 1, /latin1-score\.txt: not valid UTF-8 at byte 3/));
  it('score refuses binary stdin', () => expectError(['score', '-c', 'm.safetensors', '-'], 1, /stdin: looks like a binary file/, '\u0000\u0001binary'));
});

describe('no command', () => {
  it('rnn alone is a usage error: status 2, the help on stderr, nothing on stdout', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: rnn /);
    expect(r.stderr).toMatch(/Commands:/);
  });
});

describe('help and version', () => {
  it('--version prints the version on stdout', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
  it('every command has --help with defaults shown', async () => {
    for (const cmd of ['train', 'sample']) {
      const r = await runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/default:/);
    }
  });
});

describe('wording of the run header', () => {
  it('--eval-every 0 says "eval at the end", and counts are singular when they are 1', async () => {
    const r = await runCli(['train', file('words.txt', 'abcdefghij'.repeat(20)), '--steps', '1', '--eval-every', '0', '--layers', '1', '--hidden', '4',
      '--batch', '1', '--seq', '8', '--val-frac', '0.005', '--out', 'words'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ 1 val char · /);
    expect(r.stderr).toMatch(/until: 1 step\n/);
    expect(r.stderr).not.toMatch(/every end|\b1 val chars|\b1 steps/);
    const again = await runCli(['train', 'words.txt', '--steps', '1', '--eval-every', '0', '--layers', '1', '--hidden', '4',
      '--batch', '1', '--seq', '8', '--val-frac', '0.2', '--out', 'words'], { cwd: tmp.dir });
    expect(again.stderr).toMatch(/eval at the end on all \d+ val chars/);
  });
});
