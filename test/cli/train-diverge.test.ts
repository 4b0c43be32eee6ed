// A run that blows up, through the built CLI: each rollback is one line on stderr naming the
// step, where it went back to and the halved rate, and a --json event; the best checkpoint
// from before is never overwritten by a blown-up state; resuming with the lower --lr that a
// diverged run is told to use trains at that rate and ends the halvings.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { runCli, tempDir, wordCorpus } from '../helpers/cli.js';

const WORDS = ['oar', 'rope', 'the', 'deck', 'is', 'wet', 'and', 'cold', 'rain'];
const SMALL = ['--layers', '1', '--hidden', '12', '--embed', '6', '--batch', '4', '--seq', '8', '--eval-windows', '4', '--val-frac', '0.1', '--seed', '3', '--schedule', 'constant'];
const ROLLBACK = /^step (\d+): validation loss (\S+), far above the best: rolled back to step (\d+) with the learning rate ×(\S+) \((\d) of 3\)$/;

describe('rnn train: a blow-up', () => {
  const tmp = tempDir('rnn-diverge-');
  beforeAll(() => writeFileSync(join(tmp.dir, 'deck.txt'), wordCorpus(WORDS, 8_000, { seed: 5, shift: 3, lineEvery: 6, lineEnd: '\n' })));
  afterAll(() => tmp.cleanup());

  it('rolls back three times at halved rates, one line each, never saving a blown-up best; a lower --lr resumes it', async () => {
    const cwd = tmp.dir;
    const first = await runCli(['train', 'deck.txt', '--steps', '10', '--eval-every', '5', '--lr', '0.01', ...SMALL, '--out', 'ck'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    const ck = (suffix: string) => join(cwd, 'ck', readdirSync(join(cwd, 'ck')).find((f) => f.endsWith(suffix))!);
    const bestBytes = readFileSync(ck('-best.safetensors'));
    const bestVal = (await readCheckpoint(ck('-best.safetensors'))).progress!.bestVal!;

    // a rate this model does not survive: every evaluation after it is far above the best
    const wild = await runCli(['train', 'deck.txt', '--resume', ck('-last.safetensors'), '--steps', '30', '--eval-every', '2', '--lr', '10', '--json'], { cwd });
    expect(wild.code, wild.stderr).toBe(0);
    expect(wild.stderr).not.toMatch(/\n\s+at /);
    expect(wild.stderr).toMatch(/^note: learning rate 0\.01 → 10 from step 10, as given$/m);
    const lines = wild.stderr.split('\n').filter((l) => ROLLBACK.test(l));
    expect(lines, wild.stderr).toHaveLength(3);
    const events = wild.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const rollbacks = events.filter((e) => e.type === 'rollback');
    expect(rollbacks).toHaveLength(3);
    lines.forEach((line, i) => {
      const [, step, loss, to, scale, n] = ROLLBACK.exec(line)!;
      expect(Number(scale)).toBe(0.5 ** (i + 1));
      expect(Number(n)).toBe(i + 1);
      expect(Number(loss)).toBeGreaterThan(bestVal * 1.25 + 0.1);
      expect(rollbacks[i]).toMatchObject({ step: Number(step), to: Number(to), lrScale: 0.5 ** (i + 1), rollbacks: i + 1 });
      expect(Number(to)).toBeLessThan(Number(step));
    });
    // no evaluation far above the best was kept as the best
    const saved = await readCheckpoint(ck('-best.safetensors'));
    expect(saved.progress!.bestVal!).toBeLessThanOrEqual(bestVal);
    if (saved.progress!.bestVal! === bestVal) expect(readFileSync(ck('-best.safetensors')).equals(bestBytes)).toBe(true);
    const last = await readCheckpoint(ck('-last.safetensors'));
    expect(last.progress).toMatchObject({ step: 30, rollbacks: 3, lrScale: 0.125 });

    // what a diverged run is told to do works: a lower --lr, and the halvings end
    const calm = await runCli(['train', 'deck.txt', '--resume', ck('-last.safetensors'), '--steps', '40', '--lr', '0.005', '--json'], { cwd });
    expect(calm.code, calm.stderr).toBe(0);
    expect(calm.stderr).toMatch(/^note: learning rate 10 → 0\.005 from step 30, as given \(it had been halved to ×0\.125 by 3 rollback\(s\); that ends\)$/m);
    expect(calm.stderr).not.toMatch(/--lr ignored/);
    expect(JSON.parse(calm.stdout.split('\n')[0]).config).toMatchObject({ lr: 0.005 });
    const after = await readCheckpoint(ck('-last.safetensors'));
    expect(after.progress).toMatchObject({ step: 40, rollbacks: 0, lrScale: 1 });
    expect(after.train).toMatchObject({ lr: 0.005 });
  });
});
