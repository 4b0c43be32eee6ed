// Every error a user can cause: one line on stderr that names the problem and the fix,
// the documented exit status, no stack trace, and nothing on stdout.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function file(name: string, data: string | Uint8Array): string {
  writeFileSync(join(tmp.dir, name), data);
  return name;
}

async function expectError(args: string[], code: number, pattern: RegExp, input?: string) {
  const r = await runCli(args, { cwd: tmp.dir, input });
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^rnn: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('bad input', () => {
  it('a missing corpus', () => expectError(['train', 'nope.txt'], 1, /nope\.txt/));
  it('an empty corpus', () => expectError(['train', file('empty.txt', '')], 1, /empty/i));
  it('a binary file', () => expectError(['train', file('bin.dat', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3, 0, 0, 0]))], 1, /binary/i));
  it('invalid UTF-8', () => expectError(['train', file('latin1.txt', new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a]))], 1, /UTF-8/));
  it('a corpus shorter than one window', () => expectError(['train', file('short.txt', 'just a few words\n')], 1, /--batch|--seq/));
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
