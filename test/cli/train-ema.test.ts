// `rnn train --ema` and the moving average of the weights a sized run keeps, through the
// built CLI: bad values are one line with exit 2; a sized run says it averages (header and
// --json start event), every evaluation reports both losses, and `rnn eval` and `rnn sample`
// read its best checkpoint; --ema off and --ema DECAY win over the rule; a resume keeps it.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../src/checkpoint/store.js';
import { SIZED_EMA_HALF_LIFE } from '../../src/train/sizing.js';
import { expectOneLineError, runCli, tempDir, wordCorpus } from '../helpers/cli.js';

const WORDS = ['keel', 'mast', 'the', 'sail', 'on', 'a', 'grey', 'swell', 'turns'];
const corpus = (chars: number) => wordCorpus(WORDS, chars, { seed: 99, shift: 7, lineEvery: 5, lineEnd: '\n' });
const FAST = ['--batch', '4', '--seq', '8', '--eval-windows', '4', '--val-frac', '0.1'];
const lines = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l));
const only = (dir: string, suffix: string) => readdirSync(dir).filter((f) => f.endsWith(suffix));

describe('rnn train: the moving average of the weights', () => {
  const tmp = tempDir();
  beforeAll(() => writeFileSync(join(tmp.dir, 'sail.txt'), corpus(12_000)));
  afterAll(() => tmp.cleanup());

  it('bad --ema values: one line naming the flag, exit 2', async () => {
    const cwd = tmp.dir;
    for (const bad of ['1', '1.5', '-0.1', 'on', '']) {
      expectOneLineError(await runCli(['train', 'sail.txt', '--steps', '2', '--ema', bad], { cwd }), 2, /--ema must be off or a decay per step from 0 to 0\.999999, e\.g\. 0\.999 \(got ".*"\)/);
    }
  });

  it('a sized run averages by default: said in the header and the start event, both losses at every evaluation; eval and sample read its best', async () => {
    const cwd = tmp.dir;
    const r = await runCli(['train', 'sail.txt', '--steps', '12', '--eval-every', '4', ...FAST, '--json', '--out', 'ck-sized'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const events = lines(r.stdout);
    expect(events[0].config).toMatchObject({ ema: 0, emaHalfLife: SIZED_EMA_HALF_LIFE });
    expect(r.stderr).toMatch(/^sized: average of the weights, half-life 5% of the run/m);
    expect(r.stderr).toMatch(/^average of the weights \(EMA, half-life 5% of the run\): scored beside the trained weights/m);
    const evals = events.filter((e) => e.type === 'eval');
    expect(evals).toHaveLength(3);
    for (const e of evals) {
      expect(typeof e.valTrained).toBe('number');
      expect(typeof e.valAverage).toBe('number');
      expect(e.val).toBe(Math.min(e.valTrained, e.valAverage));
    }
    expect(r.stderr).toMatch(/^step 4\/12: .* \((trained; average|average; trained) \d\.\d{3}\)/m);
    const [best] = only(join(cwd, 'ck-sized'), '-best.safetensors');
    const file = join(cwd, 'ck-sized', best);
    const scored = await runCli(['eval', 'sail.txt', '-c', file, '--json'], { cwd });
    expect(scored.code, scored.stderr).toBe(0);
    expect(JSON.parse(scored.stdout).nats).toBeGreaterThan(0);
    const info = await runCli(['info', file, '--json']);
    const summary = JSON.parse(info.stdout);
    const bestEval = evals.find((e) => e.step === summary.progress.bestStep);
    expect(summary.weights).toBe(bestEval.weights);
    const text = await runCli(['info', file]);
    expect(text.stdout).toMatch(bestEval.weights === 'average' ? /^weights +the average of the weights \(EMA, half-life 5% of the run\), which scored better/m : /^weights +the trained weights \(the run also keeps their average/m);
    const sample = await runCli(['sample', '-c', file, '-n', '40', '--seed', '2']);
    expect(sample.code, sample.stderr).toBe(0);
    expect(sample.stdout.length).toBeGreaterThanOrEqual(40);
  });

  it('--ema off: no average, one score per evaluation', async () => {
    const r = await runCli(['train', 'sail.txt', '--steps', '8', '--eval-every', '4', '--ema', 'off', ...FAST, '--json', '--out', 'ck-off'], { cwd: tmp.dir });
    expect(r.code, r.stderr).toBe(0);
    const events = lines(r.stdout);
    expect(events[0].config).toMatchObject({ ema: 0, emaHalfLife: 0 });
    expect(r.stderr).not.toMatch(/average of the weights/);
    for (const e of events.filter((x) => x.type === 'eval')) expect([e.weights, e.valAverage, e.valTrained]).toEqual(['trained', null, null]);
  });

  it('--ema DECAY on a run that is not sized; a resume keeps it and ignores a new --ema', async () => {
    const cwd = tmp.dir;
    const small = ['--hidden', '16', '--embed', '8', '--eval-every', '4', ...FAST];
    const r = await runCli(['train', 'sail.txt', '--steps', '8', ...small, '--ema', '0.9', '--json', '--out', 'ck-decay'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)[0].config).toMatchObject({ ema: 0.9, emaHalfLife: 0 });
    expect(r.stderr).toMatch(/^average of the weights \(EMA 0\.9 per step\)/m);
    const [last] = only(join(cwd, 'ck-decay'), '-last.safetensors');
    const path = join(cwd, 'ck-decay', last);
    const rest = await runCli(['train', 'sail.txt', '--resume', path, '--steps', '12', '--ema', 'off'], { cwd });
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stderr).toMatch(/--ema ignored: a resumed run keeps its saved configuration/);
    const ckpt = await readCheckpoint(path);
    expect(ckpt.train).toMatchObject({ ema: 0.9 });
    expect(ckpt.progress!.averaged).toBe(12);
    expect(ckpt.state!.average).toBeTruthy();
    expect(existsSync(path)).toBe(true);
  });
});
