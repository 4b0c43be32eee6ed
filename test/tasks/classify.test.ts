// The classification task through the library: its metrics against a hand count, the
// length-bucketed batches, exact resume (2N steps == N, checkpoint, N), best by accuracy
// with ties by loss, and the checkpoint metadata it refuses.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { classificationReport } from '../../src/tasks/classify-metrics.js';
import { BucketBatcher, classifyTask } from '../../src/tasks/classify.js';
import { isBetter } from '../../src/tasks/task.js';
import { prepareRun } from '../../src/train/run.js';
import { CheckpointError, CorpusError } from '../../src/util/errors.js';

const k = new ReferenceKernels('f32');
const dir = mkdtempSync(join(tmpdir(), 'rnn-classify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('classification metrics', () => {
  it('accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix, counted by hand', () => {
    // true:      0 0 0 1 1 2
    // predicted: 0 0 1 1 2 2
    const r = classificationReport([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], 3);
    expect(r.accuracy).toBeCloseTo(4 / 6, 12);
    expect(r.confusion).toEqual([[2, 1, 0], [0, 1, 1], [0, 0, 1]]);
    // class 0: P 2/2, R 2/3; class 1: P 1/2, R 1/2; class 2: P 1/2, R 1/1
    const f1 = (p: number, q: number) => (2 * p * q) / (p + q);
    expect(r.perClass.map((c) => c.precision)).toEqual([1, 0.5, 0.5]);
    expect(r.perClass.map((c) => c.recall)).toEqual([2 / 3, 0.5, 1]);
    expect(r.perClass.map((c) => c.support)).toEqual([3, 2, 1]);
    expect(r.macroF1).toBeCloseTo((f1(1, 2 / 3) + f1(0.5, 0.5) + f1(0.5, 1)) / 3, 12);
  });

  it('a class never seen nor predicted does not count in macro-F1; one never predicted counts as 0', () => {
    expect(classificationReport([0, 1], [0, 1], 3).macroF1).toBe(1);
    expect(classificationReport([0, 1], [0, 0], 2).perClass[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
  });

  it('best by accuracy, ties broken by the lower loss', () => {
    expect(isBetter(classifyTask, { accuracy: 0.8, loss: 0.9 }, { accuracy: 0.7, loss: 0.1 })).toBe(true);
    expect(isBetter(classifyTask, { accuracy: 0.8, loss: 0.4 }, { accuracy: 0.8, loss: 0.5 })).toBe(true);
    expect(isBetter(classifyTask, { accuracy: 0.8, loss: 0.5 }, { accuracy: 0.8, loss: 0.5 })).toBe(false);
    expect(isBetter(classifyTask, { accuracy: 0.7, loss: 0.1 }, { accuracy: 0.8, loss: 0.9 })).toBe(false);
  });
});

describe('bucketed batches', () => {
  const lengths = Array.from({ length: 103 }, (_, i) => 1 + ((i * 37) % 50));
  const examples = lengths.map((_, i) => i);

  it('every pass serves each example exactly once, in batches of similar length, differently each pass, the same for the same seed', () => {
    const b = new BucketBatcher(examples, (i) => lengths[i]!, 4, 9);
    expect(b.batchesPerEpoch).toBe(26);
    const pass = (e: number) => Array.from({ length: b.batchesPerEpoch }, (_, j) => b.batch(e * b.batchesPerEpoch + j));
    for (const e of [0, 1]) expect(pass(e).flat().sort((x, y) => x - y)).toEqual(examples);
    expect(pass(1)).not.toEqual(pass(0));
    expect(new BucketBatcher(examples, (i) => lengths[i]!, 4, 9).batch(30)).toEqual(b.batch(30));
    // padding: within a batch the lengths are close (pools of 16 batches sorted by length)
    let padded = 0;
    let real = 0;
    for (const batch of pass(0)) {
      const T = Math.max(...batch.map((i) => lengths[i]!));
      padded += T * batch.length;
      real += batch.reduce((s, i) => s + lengths[i]!, 0);
    }
    expect(real / padded).toBeGreaterThan(0.9);
  });
});

/** A small labelled file: the class decided by the letters used. */
function labelledFile(name: string): string {
  const rows: string[] = [];
  const alphabets: Record<string, string> = { vowels: 'aeiou', consonants: 'bcdfg', digits: '12345' };
  let s = 7;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 60; i++) {
    const [label, letters] = Object.entries(alphabets)[i % 3]!;
    const len = 2 + (next() % 9);
    rows.push(`${label}\t${Array.from({ length: len }, () => letters[next() % letters.length]).join('')}`);
  }
  const path = join(dir, name);
  writeFileSync(path, `${rows.join('\n')}\n`);
  return path;
}

describe('training a classifier', () => {
  const file = labelledFile('letters.tsv');
  const options = {
    cell: 'gru' as const, layers: 2, hidden: 8, embed: 4, batch: 8, valFrac: 0.2, dropout: 0.2, evalEvery: 0, steps: 14, lr: 0.02,
    taskOptions: { bidirectional: true, pool: 'mean' },
  };

  it('2N steps == N steps, checkpoint, resume for N steps: bitwise equal weights (bidirectional, dropout, crossing a pass)', async () => {
    const straight = await prepareRun({ kernels: k, input: { path: file }, task: 'classify', options });
    expect(straight.session.stepsPerEpoch).toBe(6); // 48 training examples, batches of 8
    for (let i = 0; i < 14; i++) straight.trainer.step();

    const first = await prepareRun({ kernels: k, input: { path: file }, task: 'classify', options });
    for (let i = 0; i < 7; i++) first.trainer.step();
    const ckpt = decodeCheckpoint(encodeCheckpoint(first.header, first.trainer.state()), 'mem');
    expect(ckpt.task).toBe('classify');
    const second = await prepareRun({ kernels: k, input: { path: file }, options: {}, resume: ckpt });
    expect(second.task.name).toBe('classify');
    for (let i = 0; i < 7; i++) second.trainer.step();
    expect(Array.from(second.trainer.net.params)).toEqual(Array.from(straight.trainer.net.params));
  });

  it('learns an easy task and reports accuracy, macro-F1, loss and the majority baseline', async () => {
    const run = await prepareRun({ kernels: k, input: { path: file }, task: 'classify', options: { ...options, steps: 120, dropout: 0, lr: 0.03 } });
    for (let i = 0; i < 120; i++) run.trainer.step();
    const m = run.trainer.evaluate()!;
    expect(Object.keys(m).sort()).toEqual(['accuracy', 'loss', 'macroF1', 'majority']);
    expect(m.majority).toBeCloseTo(4 / 12, 12); // 4 of each class held out; the majority class is the first of the tie
    expect(m.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(m.macroF1).toBeGreaterThanOrEqual(0.9);
  });

  it('refuses data of one class, and labels or characters the resumed checkpoint does not know', async () => {
    const one = join(dir, 'one.tsv');
    writeFileSync(one, 'only\ta\nonly\tb\n');
    await expect(prepareRun({ kernels: k, input: { path: one }, task: 'classify', options: {} })).rejects.toThrow(/only one class \("only"\); a classifier needs/);
    const first = await prepareRun({ kernels: k, input: { path: file }, task: 'classify', options: { ...options, steps: 2 } });
    first.trainer.step();
    const ckpt = decodeCheckpoint(encodeCheckpoint(first.header, first.trainer.state()), 'mem');
    const other = join(dir, 'other.tsv');
    writeFileSync(other, 'vowels\taei\nnew class\tbcd\n');
    // other data is refused as such (its fingerprint); fine-tuning on it, the classes and the vocabulary must still fit
    await expect(prepareRun({ kernels: k, input: { path: other }, options: {}, resume: ckpt })).rejects.toThrow(/is not the text the run in mem was trained on/);
    await expect(prepareRun({ kernels: k, input: { path: other }, options: {}, resume: ckpt, fineTune: true })).rejects.toThrow(CorpusError);
    writeFileSync(other, 'vowels\txyz\ndigits\t12\n');
    await expect(prepareRun({ kernels: k, input: { path: other }, options: {}, resume: ckpt, fineTune: true })).rejects.toThrow(/vocabulary lacks/);
  });

  it('a damaged classes entry in a checkpoint is a one-line CheckpointError', async () => {
    const run = await prepareRun({ kernels: k, input: { path: file }, task: 'classify', options: { ...options, steps: 1 } });
    const bytes = encodeCheckpoint(run.header, run.trainer.state());
    for (const edit of [
      (m: Record<string, string>) => { m.classes = JSON.stringify(['a', 'a', 'b']); },
      (m: Record<string, string>) => { m.classes = JSON.stringify(['a', 'b']); },
      (m: Record<string, string>) => { m.max_len = '-3'; },
      (m: Record<string, string>) => { m.model = JSON.stringify({ ...JSON.parse(m.model!), pool: 'median' }); },
      (m: Record<string, string>) => { delete m.classes; },
    ]) {
      const { metadata, tensors } = decodeSafetensors(bytes, 'x');
      edit(metadata);
      const bad = encodeSafetensors([...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), metadata);
      expect(() => decodeCheckpoint(bad, 'bad.safetensors')).toThrow(CheckpointError);
      expect(() => decodeCheckpoint(bad, 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
    }
  });
});
