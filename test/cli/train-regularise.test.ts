// `rnn train --embed-dropout / --recurrent-dropout / --weight-decay` through the built CLI:
// documented in --help, bad values and combinations are one line with exit 2, a run
// shows them in its header, --json and checkpoint, `rnn info` reads them back, a resume
// keeps them and continues exactly, and the PyTorch export refuses what torch.nn lacks.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { runCli, tempDir, wordCorpus } from '../helpers/cli.js';

const WORDS = ['a', 'rope', 'of', 'sand', 'holds', 'the', 'tide', 'back', 'for', 'now', 'and', 'then'];
const corpus = (chars: number) => wordCorpus(WORDS, chars, { seed: 777, shift: 9, lineEvery: 6, lineEnd: '.\n' });

const SMALL = ['--layers', '2', '--hidden', '16', '--embed', '8', '--batch', '8', '--seq', '16', '--seed', '3', '--schedule', 'constant', '--eval-every', '5'];
const REG = ['--embed-dropout', '0.1', '--recurrent-dropout', '0.25', '--weight-decay', '0.05'];
const files = (dir: string, suffix: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)) : []);

function expectUsageError(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('rnn train: embedding dropout, recurrent dropout, weight decay', () => {
  const tmp = tempDir();
  beforeAll(() => writeFileSync(join(tmp.dir, 'sand.txt'), corpus(30_000)));
  afterAll(() => tmp.cleanup());

  it('--help documents the three options', async () => {
    const r = await runCli(['train', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--embed-dropout <p> language model: dropout on the character embedding/);
    expect(help).toMatch(/--recurrent-dropout <p> language model: variational dropout on each layer's recurrent input/);
    expect(help).toMatch(/--weight-decay <x> decoupled weight decay \(AdamW; --optim adam\)/);
  });

  it('bad values and combinations: one line naming the flag, exit 2', async () => {
    const cwd = tmp.dir;
    expectUsageError(await runCli(['train', 'sand.txt', '--recurrent-dropout', '1'], { cwd }), /^rnn: --recurrent-dropout must be a number ≥ 0 and ≤ 0.9 \(got "1"\)$/);
    expectUsageError(await runCli(['train', 'sand.txt', '--embed-dropout', 'lots'], { cwd }), /--embed-dropout must be a number/);
    expectUsageError(await runCli(['train', 'sand.txt', '--weight-decay', '-0.1'], { cwd }), /--weight-decay must be a number ≥ 0/);
    expectUsageError(await runCli(['train', 'sand.txt', '--weight-decay', '0.1', '--optim', 'rmsprop'], { cwd }), /--weight-decay .* needs --optim adam \(got --optim rmsprop\)/);
    writeFileSync(join(cwd, 'labels.tsv'), 'a\tone two\nb\tthree four\n'.repeat(40));
    expectUsageError(await runCli(['train', 'labels.tsv', '--task', 'classify', '--recurrent-dropout', '0.2'], { cwd }), /--recurrent-dropout does not apply to a .*--task classify/);
  });

  it('a sized run (a limit, no model shape) keeps them', async () => {
    const r = await runCli(['train', 'sand.txt', '--steps', '3', '--eval-every', '0', '--recurrent-dropout', '0.2', '--weight-decay', '0.01', '--out', 'ck-sized', '--json'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^sized: /m);
    expect(r.stderr).toMatch(/weight decay 0\.01 .*recurrent dropout 0\.2/);
    const start = JSON.parse(r.stdout.split('\n')[0]);
    expect(start.sizing).not.toBeNull();
    expect(start.config).toMatchObject({ recurrentDropout: 0.2, weightDecay: 0.01, embedDropout: 0 });
  });

  it('a run shows them (header, --json, checkpoint, rnn info); a resume keeps them and continues exactly', async () => {
    const cwd = tmp.dir;
    const full = await runCli(['train', 'sand.txt', ...SMALL, ...REG, '--steps', '16', '--out', 'ck-full', '--json'], { cwd });
    expect(full.code, full.stderr).toBe(0);
    expect(full.stderr).toMatch(/weight decay 0\.05 · clip 5 · embed dropout 0\.1 · recurrent dropout 0\.25/);
    const start = JSON.parse(full.stdout.split('\n')[0]);
    expect(start.type).toBe('start');
    expect(start.config).toMatchObject({ embedDropout: 0.1, recurrentDropout: 0.25, weightDecay: 0.05 });

    const part = await runCli(['train', 'sand.txt', ...SMALL, ...REG, '--steps', '8', '--out', 'ck-part'], { cwd });
    expect(part.code, part.stderr).toBe(0);
    const [partLast] = files(join(cwd, 'ck-part'), '-last.safetensors');
    const saved = await readCheckpoint(join(cwd, 'ck-part', partLast));
    expect(saved.train).toMatchObject({ embedDropout: 0.1, recurrentDropout: 0.25, weightDecay: 0.05 });
    const info = await runCli(['info', join(cwd, 'ck-part', partLast)]);
    expect(info.stdout).toMatch(/weight decay 0\.05 · clip 5 · dropout 0 · embed dropout 0\.1 · recurrent dropout 0\.25/);

    const rest = await runCli(['train', 'sand.txt', '--resume', join(cwd, 'ck-part', partLast), '--steps', '16', '--weight-decay', '0.5', '--recurrent-dropout', '0'], { cwd });
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stderr).toMatch(/--recurrent-dropout, --weight-decay ignored: a resumed run keeps its saved configuration/);
    expect(rest.stderr).toMatch(/weight decay 0\.05 .* recurrent dropout 0\.25/);
    const [fullLast] = files(join(cwd, 'ck-full'), '-last.safetensors');
    const a = await readCheckpoint(join(cwd, 'ck-full', fullLast));
    const b = await readCheckpoint(join(cwd, 'ck-part', partLast));
    expect(b.progress!.step).toBe(16);
    for (const [name, v] of a.params) expect(Array.from(b.params.get(name)!), name).toEqual(Array.from(v));

    // without the options the same seed trains other weights
    const plain = await runCli(['train', 'sand.txt', ...SMALL, '--steps', '16', '--out', 'ck-plain'], { cwd });
    const [plainLast] = files(join(cwd, 'ck-plain'), '-last.safetensors');
    const c = await readCheckpoint(join(cwd, 'ck-plain', plainLast));
    expect(plain.code).toBe(0);
    expect(Array.from(c.params.get('rnn.weight_hh_l0')!)).not.toEqual(Array.from(a.params.get('rnn.weight_hh_l0')!));

    // the PyTorch job has no embedding or recurrent dropout: refused, nothing written
    const exp = await runCli(['export', '--checkpoint', join(cwd, 'ck-full', fullLast), '--pytorch', join(cwd, 'job')]);
    expectUsageError(exp, /trained with --embed-dropout and --recurrent-dropout, which the PyTorch job does not have/);
    expect(existsSync(join(cwd, 'job'))).toBe(false);
  });
});
