// The seq2seq task: reading pairs, the split and the bucketed batches, exact resume through
// prepareRun, and generated tasks with known answers learned by tiny models in seconds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint/store.js';
import { createKernels } from '../../src/kernels/index.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import {
  bucketBatches, encodeSource, evaluatePairs, parsePairLines, seq2seqOptions, seq2seqSession, seq2seqTask, splitPairs, type Pair,
} from '../../src/tasks/seq2seq.js';
import { freshConfig, prepareRun } from '../../src/train/run.js';
import { Trainer } from '../../src/train/trainer.js';
import { CorpusError, UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
// @ts-expect-error a plain JavaScript module without types
import { pairTask } from '../../corpora/pairs.mjs';

const dir = mkdtempSync(join(tmpdir(), 'rnn-seq2seq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The generator's own seeded stream, as generate.mjs drives it (any {int(n)} will do). */
function random(seed: number) {
  const r = new Rng(seed);
  return { int: (n: number) => r.int(n) };
}

describe('reading pairs', () => {
  it('CRLF, empty lines and duplicates; tabs inside the target are kept', () => {
    const { pairs, duplicates } = parsePairLines('ab\tba\r\n\r\ncd\tdc\nab\tba\nx\ty\tz\n', 't.tsv');
    expect(pairs).toEqual([['ab', 'ba'], ['cd', 'dc'], ['x', 'y\tz']]);
    expect(duplicates).toBe(1);
  });

  it('one-line errors naming the line', () => {
    expect(() => parsePairLines('ab\tba\nno tab here\n', 't.tsv')).toThrow(/^t\.tsv:2: no tab; each line of a seq2seq file is source<TAB>target$/);
    expect(() => parsePairLines('\tba\n', 't.tsv')).toThrow(/t\.tsv:1: the source \(before the tab\) is empty/);
    expect(() => parsePairLines('\n\n', 't.tsv')).toThrow(CorpusError);
  });

  it('the split is seeded, disjoint and complete', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const a = splitPairs(items, 0.2, 3);
    expect(a).toEqual(splitPairs(items, 0.2, 3));
    expect(a.val.length).toBe(10);
    expect([...a.train, ...a.val].sort((x, y) => x - y)).toEqual(items);
    expect(splitPairs(items, 0.2, 4).val).not.toEqual(a.val);
  });

  it('bucketed batches cover every pair once per pass, grouped by source length', () => {
    const pairs: Pair[] = Array.from({ length: 100 }, (_, i) => ({ source: '', target: '', src: new Int32Array(1 + (i * 7) % 13), tgt: new Int32Array(1) }));
    const batches = bucketBatches(pairs, 8, new Rng(1));
    expect(batches.flat().sort((a, b) => a - b)).toEqual(pairs.map((_, i) => i));
    // within a batch the lengths are sorted and, with one group of 32 batches, close together
    for (const b of batches) {
      const lens = b.map((i) => pairs[i].src.length);
      expect(lens).toEqual([...lens].sort((x, y) => x - y));
      expect(lens.at(-1)! - lens[0]).toBeLessThanOrEqual(2);
    }
  });

  it('unknown source characters become the unknown id 0 and are reported', () => {
    const { pairs } = parsePairLines('ab\tba\n', 't');
    const s = seq2seqSession(new ReferenceKernels('f32'), pairs, freshConfig(seq2seqTask, { valFrac: 0 }));
    const { ids, unknown } = encodeSource(s.data.srcVocab, 'aqb');
    expect(Array.from(ids)).toEqual([1, 0, 2]);
    expect(unknown).toEqual(['q']);
  });

  it('refuses an unknown --attention and a folder', async () => {
    await expect(seq2seqTask.readData({ path: dir }, freshConfig(seq2seqTask, {}), null)).rejects.toThrow(/is a folder/);
    expect(() => seq2seqOptions(freshConfig(seq2seqTask, { taskOptions: { attention: 'cosine' } }))).toThrow(UsageError);
    expect(seq2seqOptions(freshConfig(seq2seqTask, {}))).toEqual({ bidirectional: false, attention: 'dot' });
  });
});

describe('exact resume', () => {
  it('continues bitwise where the run stopped (batch order, dropout, optimizer)', async () => {
    const file = join(dir, 'rev.tsv');
    writeFileSync(file, pairTask('reverse', random(5), 200).map(([s, t]: string[]) => `${s}\t${t}\n`).join(''));
    const k = new ReferenceKernels('f32');
    const options = {
      batch: 8, hidden: 8, embed: 4, layers: 2, cell: 'lstm' as const, dropout: 0.2, steps: 40, evalEvery: 0,
      taskOptions: { bidirectional: true, attention: 'additive' },
    };
    const straight = await prepareRun({ kernels: k, input: { path: file }, task: 'seq2seq', options });
    const lossesStraight: number[] = [];
    for (let i = 0; i < 40; i++) lossesStraight.push(straight.trainer.step().loss);
    const first = await prepareRun({ kernels: k, input: { path: file }, task: 'seq2seq', options });
    for (let i = 0; i < 30; i++) first.trainer.step(); // crosses a pass (25 batches of 8 per pass)
    const bytes = encodeCheckpoint(first.header, first.trainer.state());
    const second = await prepareRun({ kernels: k, input: { path: file }, options: {}, resume: decodeCheckpoint(bytes, 'mem') });
    const lossesResumed: number[] = [];
    for (let i = 30; i < 40; i++) lossesResumed.push(second.trainer.step().loss);
    expect(lossesResumed).toEqual(lossesStraight.slice(30));
    expect(Array.from(second.trainer.net.params)).toEqual(Array.from(straight.trainer.net.params));
  });
});

describe('generated tasks are learned', () => {
  const k = createKernels({ backend: 'wasm', threads: 1 });

  async function learn(task: string, n: number, options: Record<string, unknown>, steps: number) {
    const pairs: [string, string][] = pairTask(task, random(7), n, '');
    const test = pairs.slice(0, 200);
    const config = freshConfig(seq2seqTask, { valFrac: 0, steps, evalEvery: 0, lr: 5e-3, warmup: 20, ...options });
    const session = seq2seqSession(k, pairs.slice(200), config);
    const trainer = new Trainer(k, session, config);
    for (let i = 0; i < steps; i++) trainer.step();
    const { srcVocab, tgtVocab } = session.data;
    const held = test.map(([source, target]) => ({
      source, target, src: encodeSource(srcVocab, source).ids, tgt: Int32Array.from([...target], (ch) => tgtVocab.id(ch) + 1),
    }));
    return evaluatePairs(session.net, held, tgtVocab, 50, 30);
  }

  it('reversal: a 1×48 GRU with attention, 600 steps, ≥ 90% exact on held-out strings', async () => {
    const r = await learn('reverse', 2200, { cell: 'gru', hidden: 48, embed: 16, layers: 1, batch: 32 }, 600);
    expect(r.exact).toBeGreaterThanOrEqual(0.9);
    expect(r.cer).toBeLessThan(0.03);
  });

  it('dates: a 1×48 bidirectional GRU with attention, 400 steps, ≥ 90% exact on held-out dates', async () => {
    const r = await learn('dates', 2200, { cell: 'gru', hidden: 48, embed: 16, layers: 1, batch: 32, taskOptions: { bidirectional: true } }, 400);
    expect(r.exact).toBeGreaterThanOrEqual(0.9);
  });
});
