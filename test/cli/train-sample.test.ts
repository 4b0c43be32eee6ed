// End to end: the built CLI trains on a small corpus in a temp folder and samples from it.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const CORPUS = 'the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat.\n'.repeat(40);
const SMALL = ['--layers', '1', '--hidden', '32', '--embed', '16', '--batch', '8', '--seq', '16', '--eval-every', '20'];

describe('rnn train → rnn sample', () => {
  const tmp = tempDir();
  beforeAll(() => writeFileSync(join(tmp.dir, 'corpus.txt'), CORPUS));
  afterAll(() => tmp.cleanup());

  it('train writes best and last checkpoints, stdout stays empty', async () => {
    const r = await runCli(['train', 'corpus.txt', ...SMALL, '--steps', '40'], { cwd: tmp.dir });
    expect(r.stderr).not.toMatch(/Error|at .*\.js:\d+/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const files = readdirSync(join(tmp.dir, 'checkpoints'));
    expect(files.some((f) => f.endsWith('-best.safetensors'))).toBe(true);
    expect(files.some((f) => f.endsWith('-last.safetensors'))).toBe(true);
    expect(files.some((f) => f.includes('.tmp'))).toBe(false);
    expect(r.stderr).toMatch(/step 40\/40: train [\d.]+ \([\d.]+ bpc\) · val [\d.]+ \([\d.]+ bpc\) nats\/char/);
  });

  it('sample writes exactly n characters to stdout and nothing else', async () => {
    const r = await runCli(['sample', '-n', '300', '--seed', '7'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect([...r.stdout].length).toBe(300);
    expect(new Set(r.stdout).size).toBeGreaterThan(3);
    for (const ch of r.stdout) expect(CORPUS.includes(ch)).toBe(true);
  });

  it('same seed, same text; another seed, other text', async () => {
    const a = await runCli(['sample', '-n', '200', '--seed', '11'], { cwd: tmp.dir });
    const b = await runCli(['sample', '-n', '200', '--seed', '11'], { cwd: tmp.dir });
    const c = await runCli(['sample', '-n', '200', '--seed', '12'], { cwd: tmp.dir });
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toBe(c.stdout);
  });

  it('--prime is echoed first, then n characters follow', async () => {
    const r = await runCli(['sample', '-n', '50', '--prime', 'the cat', '--temp', '0'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('the cat')).toBe(true);
    expect([...r.stdout].length).toBe(57);
  });

  it('trains from stdin and from a folder', async () => {
    const viaStdin = await runCli(['train', '-', ...SMALL, '--steps', '5', '--out', 'ck-stdin'], { cwd: tmp.dir, input: CORPUS });
    expect(viaStdin.code).toBe(0);
    expect(readdirSync(join(tmp.dir, 'ck-stdin')).length).toBe(2);
    const folder = join(tmp.dir, 'texts');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.txt'), CORPUS.slice(0, 2000));
    writeFileSync(join(folder, 'b.txt'), CORPUS.slice(2000));
    const viaDir = await runCli(['train', 'texts', ...SMALL, '--steps', '5', '--out', 'ck-dir'], { cwd: tmp.dir });
    expect(viaDir.code).toBe(0);
  });
});
