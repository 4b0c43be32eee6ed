// A model too large for the backend's memory is refused before any work: one line naming
// what it needs, the limit and the flags that shrink it, status 2, nothing written.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';

const tmp = tempDir('rnn-memory-cli-');
afterAll(() => tmp.cleanup());
writeFileSync(join(tmp.dir, 'corpus.txt'), 'a long enough text for two hundred streams of two hundred steps.\n'.repeat(800));

describe('rnn train with a model past the memory limit', () => {
  const cases: [string, string[]][] = [
    ['2 layers of 8192', ['--hidden', '8192', '--layers', '2']],
    ['64 layers of 1024', ['--layers', '64', '--hidden', '1024']],
    ['8 × 1024 with batch 200 × seq 200', ['--hidden', '1024', '--layers', '8', '--batch', '200', '--seq', '200']],
  ];
  it('a run the sizing rule would size (--time, no shape) is refused before it measures a candidate', async () => {
    writeFileSync(join(tmp.dir, 'big.txt'), 'a text of a million characters, enough for a thousand streams.\n'.repeat(18_000));
    const r = await runCli(['train', 'big.txt', '--time', '1m', '--batch', '1000', '--seq', '1000', '--out', 'sized'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^rnn: a 2×128 gru-torch .* with --batch 1000 --seq 1000 needs [\d.]+ GiB of memory .*; reduce --hidden, --layers, --batch or --seq\n$/);
    expect(existsSync(join(tmp.dir, 'sized'))).toBe(false);
  });

  it('a run whose evaluation needs more than its training (a long validation pair) is refused before it trains', async () => {
    // --seed 14 puts the last of these 31 pairs, the one with a 600,000-character source, in
    // the validation split (--val-frac 0.05: one pair); training fits, the first evaluation
    // would not (it used to fail there, after the training steps, with exit 1)
    const pairs = Array.from({ length: 30 }, (_, i) => `ab${i}\t${i}ba`);
    writeFileSync(join(tmp.dir, 'pairs.tsv'), `${[...pairs, `${'x'.repeat(600_000)}\tshort`].join('\n')}\n`);
    const r = await runCli(['train', 'pairs.tsv', '--task', 'seq2seq', '--steps', '3', '--seed', '14', '--out', 'long-val'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^rnn: a 2×128 lstm \([\d.]+K parameters\) with --batch 32 needs [\d.]+ GiB of memory .*more than the [\d.]+ GiB the \S+ backend can hold; reduce --hidden, --layers or --batch\n$/);
    expect(existsSync(join(tmp.dir, 'long-val'))).toBe(false);
  });

  for (const backend of ['wasm', 'auto']) {
    for (const [what, flags] of cases) {
      it(`${what} (--backend ${backend}): exit 2, the need and the limit, before anything is written`, async () => {
        const out = join(tmp.dir, `out-${backend}-${flags.join('')}`);
        const r = await runCli(['train', 'corpus.txt', '--steps', '5', '--backend', backend, '--out', out, ...flags], { cwd: tmp.dir });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/^rnn: a \d+×\d+ lstm \([\d.]+M parameters\) with --batch \d+ --seq \d+ needs [\d.]+ GiB of memory \([\d.]+ (GiB|MiB) weights, gradients and adam moments; [\d.]+ GiB activations and workspace\), more than the [\d.]+ GiB the \S+ backend can hold; reduce --hidden, --layers, --batch or --seq\n$/);
        expect(r.stderr).not.toMatch(/internal error|this is a bug|arena/);
        expect(r.stdout).toBe('');
        expect(existsSync(out)).toBe(false);
      });
    }
  }
});
