// Starting and resuming runs through the library (src/train/run.ts): defaults defined
// once, options a task does not take refused, what a resume keeps and what it changes,
// and a resume through prepareRun that continues bitwise.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { lmTask } from '../../src/tasks/lm.js';
import { TRAIN_DEFAULTS } from '../../src/train/config.js';
import { checkTaskOptions, freshConfig, prepareRun, resumeConfig } from '../../src/train/run.js';
import { boundHistory, MAX_HISTORY, type HistoryPoint, type RunState } from '../../src/train/state.js';
import { UsageError } from '../../src/util/errors.js';

const k = new ReferenceKernels('f32');
const dir = mkdtempSync(join(tmpdir(), 'rnn-prepare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const corpus = join(dir, 'text.txt');
writeFileSync(corpus, 'the cat sat on the mat and the dog lay on the log.\n'.repeat(20));

describe('fresh runs', () => {
  it('take TRAIN_DEFAULTS, ten epochs without a limit, none with one', () => {
    const c = freshConfig(lmTask, {});
    expect(c).toMatchObject({ ...TRAIN_DEFAULTS, task: 'lm', steps: 0, timeMs: 0, epochs: TRAIN_DEFAULTS.epochs });
    expect(freshConfig(lmTask, { steps: 7, hidden: 9 })).toMatchObject({ steps: 7, epochs: 0, hidden: 9 });
    expect(freshConfig(lmTask, { timeMs: 1000 })).toMatchObject({ timeMs: 1000, epochs: 0 });
  });

  it('refuse an option the task does not take, naming it as a flag', () => {
    expect(() => checkTaskOptions(lmTask, { taskOptions: { pool: 'mean' } })).toThrow(UsageError);
    expect(() => checkTaskOptions(lmTask, { taskOptions: { maxLen: 3 } })).toThrow(/^--max-len does not apply to a language model/);
    expect(() => checkTaskOptions(lmTask, { seq: 10, evalWindows: 2, decayEvery: 3, timeMs: 5 })).not.toThrow();
  });

  it('choose the evaluation plan from the data when --eval-windows is not given', async () => {
    const auto = await prepareRun({ kernels: k, input: { path: corpus }, options: { batch: 1, seq: 2, valFrac: 0.5, hidden: 8, embed: 4, layers: 1 } });
    expect(auto.config.evalWindows).toBe(100); // the half of the text held out has 259 windows of 1 × 2
    const given = await prepareRun({ kernels: k, input: { path: corpus }, options: { batch: 2, seq: 4, valFrac: 0.5, hidden: 8, embed: 4, layers: 1, evalWindows: 3 } });
    expect(given.config.evalWindows).toBe(3);
  });
});

describe('resumed runs', () => {
  it('keep the saved configuration, report the options they ignore, and take new limits for the whole run', () => {
    const saved = freshConfig(lmTask, { steps: 10, lr: 0.01, clip: 5 });
    const r = resumeConfig(saved, { lr: 0.5, clip: 1, hidden: 3, dropout: 0.1, patience: 4, timeMs: 60_000 });
    // --lr and --clip are the two a diverged run is told to lower: they change
    expect(r.config).toMatchObject({ lr: 0.5, clip: 1, hidden: saved.hidden, dropout: saved.dropout, patience: 4, timeMs: 60_000, steps: 0, epochs: 0 });
    expect(r.ignored.sort()).toEqual(['dropout', 'hidden']);
    expect(resumeConfig(saved, {}).config).toEqual(saved);
  });

  it('continue bitwise where the run stopped', async () => {
    const options = { batch: 2, seq: 6, hidden: 8, embed: 4, layers: 1, valFrac: 0.1, dropout: 0.2, steps: 12, evalEvery: 0 };
    const straight = await prepareRun({ kernels: k, input: { path: corpus }, options });
    for (let i = 0; i < 12; i++) straight.trainer.step();

    const first = await prepareRun({ kernels: k, input: { path: corpus }, options });
    for (let i = 0; i < 5; i++) first.trainer.step();
    const bytes = encodeCheckpoint(first.header, first.trainer.state());
    const second = await prepareRun({ kernels: k, input: { path: corpus }, options: {}, resume: decodeCheckpoint(bytes, 'mem') });
    expect(second.resumed).toBe(true);
    expect(second.trainer.progress.step).toBe(5);
    for (let i = 0; i < 7; i++) second.trainer.step();
    expect(Array.from(second.trainer.net.params)).toEqual(Array.from(straight.trainer.net.params));
  });

  it('a resume with a new --lr trains at it: the rollbacks\' halvings end, and the header says so', async () => {
    const options = { batch: 2, seq: 6, hidden: 8, embed: 4, layers: 1, valFrac: 0.1, steps: 12, evalEvery: 0, lr: 0.01, schedule: 'constant' as const, warmup: 0 };
    const first = await prepareRun({ kernels: k, input: { path: corpus }, options });
    for (let i = 0; i < 5; i++) first.trainer.step();
    Object.assign(first.trainer.progress, { lrScale: 0.25, rollbacks: 2 }); // as two rollbacks leave it
    const bytes = encodeCheckpoint(first.header, first.trainer.state());
    const same = await prepareRun({ kernels: k, input: { path: corpus }, options: { lr: 0.01 }, resume: decodeCheckpoint(bytes, 'mem') });
    expect(same.trainer.progress).toMatchObject({ lrScale: 0.25, rollbacks: 2 });
    expect(same.notes).toEqual([]);
    const lower = await prepareRun({ kernels: k, input: { path: corpus }, options: { lr: 0.002, clip: 0.5 }, resume: decodeCheckpoint(bytes, 'mem') });
    expect(lower.config).toMatchObject({ lr: 0.002, clip: 0.5 });
    expect(lower.trainer.progress).toMatchObject({ step: 5, lrScale: 1, rollbacks: 0 });
    expect(lower.trainer.learningRate(5)).toBeCloseTo(0.002, 12);
    expect(lower.notes).toEqual([
      'learning rate 0.01 → 0.002 from step 5, as given (it had been halved to ×0.25 by 2 rollback(s); that ends)',
      'gradient clipping 5 → 0.5 from step 5, as given',
    ]);
    expect(lower.ignored).toEqual([]);
  });

  it('a fine-tune starts the average of the weights afresh; a plain resume continues it', async () => {
    const options = { batch: 2, seq: 6, hidden: 8, embed: 4, layers: 1, valFrac: 0.1, steps: 12, evalEvery: 0, ema: 0.9 };
    const first = await prepareRun({ kernels: k, input: { path: corpus }, options });
    for (let i = 0; i < 5; i++) first.trainer.step();
    const bytes = encodeCheckpoint(first.header, first.trainer.state());
    const other = join(dir, 'other.txt');
    writeFileSync(other, 'the dog sat on the log and the cat lay on the mat.\n'.repeat(20));
    const tuned = await prepareRun({ kernels: k, input: { path: other }, options: {}, resume: decodeCheckpoint(bytes, 'mem'), fineTune: true });
    expect(tuned.trainer.progress.averaged).toBe(0);
    expect(Array.from(tuned.trainer.average!)).toEqual(Array.from(tuned.trainer.net.params));
    const resumed = await prepareRun({ kernels: k, input: { path: corpus }, options: {}, resume: decodeCheckpoint(bytes, 'mem') });
    expect(resumed.trainer.progress.averaged).toBe(5);
    expect(Array.from(resumed.trainer.average!)).toEqual(Array.from(first.trainer.average!));
    expect(Array.from(resumed.trainer.average!)).not.toEqual(Array.from(resumed.trainer.net.params));
  });

  it('refuse a run that has used its steps, and a different --task', async () => {
    const first = await prepareRun({ kernels: k, input: { path: corpus }, options: { batch: 2, seq: 6, hidden: 8, embed: 4, layers: 1, steps: 2 } });
    first.trainer.step();
    first.trainer.step();
    const ckpt = decodeCheckpoint(encodeCheckpoint(first.header, first.trainer.state()), 'done.safetensors');
    await expect(prepareRun({ kernels: k, input: { path: corpus }, options: {}, resume: ckpt })).rejects.toThrow(/already done 2 of its 2 steps/);
    await expect(prepareRun({ kernels: k, input: { path: corpus }, task: 'classify', options: { steps: 5 }, resume: ckpt }))
      .rejects.toThrow(/^done\.safetensors holds a language model \(--task lm\), not --task classify/);
  });
});

describe('the history a checkpoint carries', () => {
  it('is merged in pairs past MAX_HISTORY points, keeping the first and the newest and the mean training loss', () => {
    const history: HistoryPoint[] = Array.from({ length: 5001 }, (_, i) => ({ step: 3 * (i + 1), train: 1 + (i % 7), val: i, metrics: null }));
    const meanBefore = history.reduce((s, h) => s + 3 * h.train, 0) / history.at(-1)!.step;
    boundHistory(history, 100);
    expect(history.length).toBeLessThanOrEqual(100);
    expect(history[0]!.step).toBe(3);
    expect(history.at(-1)).toEqual({ step: 15003, train: 1 + (5000 % 7), val: 5000, metrics: null });
    for (let i = 1; i < history.length; i++) expect(history[i]!.step).toBeGreaterThan(history[i - 1]!.step);
    let weighted = 0;
    for (let i = 0; i < history.length; i++) weighted += history[i]!.train * (history[i]!.step - (i > 0 ? history[i - 1]!.step : 0));
    expect(weighted / history.at(-1)!.step).toBeCloseTo(meanBefore, 9);
  });

  it('stays bounded in a long run, and a resumed run thins it exactly as an unbroken one', async () => {
    const options = { batch: 1, seq: 2, hidden: 2, embed: 2, layers: 1, valFrac: 0.02, steps: MAX_HISTORY + 120, evalEvery: 1 };
    const saved: RunState[] = [];
    const hooks = (stopAt: number, trainer: { progress: { step: number } }) => ({
      onEvent: () => {},
      save: async (state: RunState) => {
        saved.push(state);
        return 'mem';
      },
      stopRequested: () => trainer.progress.step >= stopAt,
    });
    const straight = await prepareRun({ kernels: k, input: { path: corpus }, options });
    await straight.trainer.run(hooks(Infinity, straight.trainer));
    expect(straight.trainer.progress.history.length).toBeLessThanOrEqual(MAX_HISTORY);
    expect(straight.trainer.progress.history.at(-1)!.step).toBe(options.steps);

    const first = await prepareRun({ kernels: k, input: { path: corpus }, options });
    await first.trainer.run(hooks(MAX_HISTORY + 50, first.trainer));
    expect(saved.at(-1)!.progress.history.length).toBeLessThan(MAX_HISTORY / 2 + 60); // thinned before the stop
    const bytes = encodeCheckpoint(first.header, saved.at(-1)!);
    const second = await prepareRun({ kernels: k, input: { path: corpus }, options: {}, resume: decodeCheckpoint(bytes, 'mem') });
    await second.trainer.run(hooks(Infinity, second.trainer));
    expect(second.trainer.progress.history).toEqual(straight.trainer.progress.history);
    expect(Array.from(second.trainer.net.params)).toEqual(Array.from(straight.trainer.net.params));
  });
});
