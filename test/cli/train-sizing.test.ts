// `rnn train` with a limit and no model shape sizes the model for the budget and the text:
// the choice and its reasons in the header and in --json's start event; the flags given win.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { CANDIDATE_WIDTHS, SIZED_CELL, lrForWidth } from '../../src/train/sizing.js';
import { runCli, tempDir, wordCorpus } from '../helpers/cli.js';

const WORDS = ['wind', 'salt', 'rope', 'the', 'sea', 'and', 'dawn', 'crew'];
const corpus = (chars: number) => wordCorpus(WORDS, chars, { seed: 7, shift: 8, lineEvery: 5, lineEnd: '\n' });
const FAST = ['--batch', '4', '--seq', '8', '--eval-every', '0', '--eval-windows', '2'];
const startEvent = (stdout: string) => JSON.parse(stdout.split('\n')[0]);

describe('rnn train sizes the model for its budget', () => {
  const tmp = tempDir();
  beforeAll(() => writeFileSync(join(tmp.dir, 'sea.txt'), corpus(20_000)));
  afterAll(() => tmp.cleanup());

  it('--steps and no model flags: sized, said in the header and in the start event; --batch and --seq kept', async () => {
    const r = await runCli(['train', 'sea.txt', '--steps', '2', ...FAST, '--json', '--out', 'ck-a'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    const start = startEvent(r.stdout);
    expect(start.sizing.reasons.length).toBeGreaterThanOrEqual(3);
    // a small text: the narrowest candidate, no dropout after so few passes, its lr
    expect(start.config).toMatchObject({ hidden: CANDIDATE_WIDTHS[0], layers: 2, batch: 4, seq: 8, dropout: 0, lr: lrForWidth(CANDIDATE_WIDTHS[0]) });
    expect(start.sizing.candidates[0].charsPerSec).toBeNull(); // a step budget needs no measurement
    expect(r.stderr).toMatch(/^sized: 2×\d+: /m);
    expect(r.stderr).toMatch(/^sized: lr /m);
    // no --cell: the sized cell, and the header says why
    expect(start.config.cell).toBe(SIZED_CELL);
    expect(r.stderr).toMatch(new RegExp(`^sized: cell ${SIZED_CELL}`, 'm'));
  });

  it('a model flag turns sizing off: the documented defaults for the rest', async () => {
    const r = await runCli(['train', 'sea.txt', '--steps', '2', '--hidden', '16', ...FAST, '--json', '--out', 'ck-b'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    const start = startEvent(r.stdout);
    expect(start.sizing).toBeNull();
    expect(start.config).toMatchObject({ hidden: 16, layers: TRAIN_DEFAULTS.layers, lr: TRAIN_DEFAULTS.lr, dropout: TRAIN_DEFAULTS.dropout });
    expect(r.stderr).not.toMatch(/sized:/);
  });

  it('--time: measures the candidates on this machine, --lr and --dropout given win, validation by the clock', async () => {
    const r = await runCli(['train', 'sea.txt', '--time', '3s', '--cell', 'lstm', '--lr', '0.003', '--dropout', '0.1', '--batch', '4', '--seq', '8', '--eval-windows', '2', '--json', '--out', 'ck-c'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    const start = startEvent(r.stdout);
    expect(start.config).toMatchObject({ cell: 'lstm', lr: 0.003, dropout: 0.1, evalTimes: 10 });
    expect(r.stderr).not.toMatch(/^sized: cell/m);
    expect(start.sizing.candidates[0].charsPerSec).toBeGreaterThan(0);
    expect(start.sizing.reasons[0]).toMatch(/measured 2×\d+ [\d.]+k? chars\/s/);
    expect(r.stderr).toMatch(/eval about 10 times over the budget/);
    const end = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(end).toMatchObject({ type: 'end', reason: 'time' });
  });
});
