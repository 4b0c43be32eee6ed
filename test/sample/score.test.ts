// The one-stream machinery behind sample, eval and score: windows of any length equal one
// window, the prime fed in windows equals feeding it step by step, eval equals the
// training loss computation, and a line's score is independent of its neighbours.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { CellKind } from '../../src/nn/layer.js';
import { Model } from '../../src/nn/model.js';
import { Sampler } from '../../src/sample/sampler.js';
import { evaluateIds, evaluateText, LineScorer } from '../../src/sample/score.js';
import { StateStream } from '../../src/sample/stream.js';
import { Vocab } from '../../src/text/vocab.js';
import { Rng } from '../../src/util/rng.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\nPack my box with five dozen liquor jugs!\n'.repeat(3);
const vocab = Vocab.fromText(TEXT);

function model(cell: CellKind, layers = 2): Model {
  const m = new Model(new ReferenceKernels('f64'), { cell, vocab: vocab.size, embed: 6, hidden: 9, layers });
  m.init(new Rng(5));
  return m;
}

/** Mean loss of predicting ids[1..] in a single window of the training code. */
function oneWindow(m: Model, ids: Int32Array): number {
  const n = ids.length - 1;
  const ws = m.workspace(1, n, false);
  ws.ids.set(ids.subarray(0, n));
  ws.targets.set(ids.subarray(1));
  ws.forward();
  return ws.loss();
}

describe('StateStream', () => {
  for (const cell of ['lstm', 'gru-torch', 'rnn'] as const) {
    it(`${cell}: windows of 1..maxT with carried state equal one long window`, () => {
      const m = model(cell);
      const ids = vocab.encode(TEXT);
      const want = oneWindow(m, ids);
      for (const maxT of [1, 4, 32, 128]) {
        const stream = new StateStream(m, maxT);
        const got = evaluateIds(m, ids, stream);
        expect(got.chars).toBe(ids.length - 1);
        expect(Math.abs(got.nats - want)).toBeLessThan(1e-12);
      }
    });
  }

  it('per-step losses sum to the window total; reset() starts from a zero state again', () => {
    const m = model('lstm');
    const ids = vocab.encode(TEXT);
    const stream = new StateStream(m, 16);
    const per = new Float64Array(ids.length - 1);
    const total = stream.run(ids, 0, ids.length - 1, ids.subarray(1), per);
    expect(per.reduce((a, b) => a + b, 0)).toBeCloseTo(total, 9);
    expect(total / (ids.length - 1)).toBeCloseTo(oneWindow(m, ids), 12);
    stream.reset();
    expect(stream.run(ids, 0, 20, ids.subarray(1))).toBeCloseTo(oneWindow(m, ids.subarray(0, 21)) * 20, 9);
  });

  it('evaluateText skips and counts unknown characters', () => {
    const m = model('gru');
    const r = evaluateText(m, vocab, `${TEXT.slice(0, 50)}§§¶${TEXT.slice(50, 90)}`);
    expect(r.unknown).toEqual(new Map([['§', 2], ['¶', 1]]));
    expect(r.chars).toBe(89);
    expect(r.nats).toBeCloseTo(oneWindow(m, vocab.encode(TEXT.slice(0, 90))), 12);
  });
});

describe('Sampler', () => {
  it('a prime fed in windows leaves the same state as feeding it one character at a time', () => {
    const m = model('lstm');
    const prime = vocab.encode(TEXT.slice(0, 77));
    const opts = { temp: 1, topK: 0, topP: 1, seed: 3 };
    const windowed = new Sampler(m, vocab, opts);
    windowed.feed(prime);
    const stepwise = new Sampler(m, vocab, opts);
    for (const id of prime) stepwise.feed([id]);
    let a = '';
    let b = '';
    for (let i = 0; i < 60; i++) {
      a += windowed.next();
      b += stepwise.next();
    }
    expect(a).toBe(b);
  });

  it('reset() gives an independent sample from the same prime (the random stream goes on)', () => {
    const m = model('gru-torch');
    const s = new Sampler(m, vocab, { temp: 0, topK: 0, topP: 1, seed: 1 });
    const prime = vocab.encode('the ');
    s.feed(prime);
    const first = Array.from({ length: 30 }, () => s.next()).join('');
    s.reset();
    s.feed(prime);
    expect(Array.from({ length: 30 }, () => s.next()).join('')).toBe(first); // argmax: same text again
  });
});

describe('LineScorer', () => {
  it('scores a line from a newline, including its line end, independent of other lines', () => {
    const m = model('lstm');
    const scorer = new LineScorer(m, vocab);
    const line = 'the lazy fox';
    const s = scorer.score(line);
    expect(s.chars).toBe(line.length + 1);
    expect(s.bpc).toBeCloseTo(oneWindow(m, vocab.encode(`\n${line}\n`)) / Math.LN2, 12);
    scorer.score('Pack my box with five dozen liquor jugs!');
    expect(scorer.score(line).bpc).toBe(s.bpc);
  });

  it('per-character bits line up with the code points and average to the line score', () => {
    const m = model('lstm');
    const scorer = new LineScorer(m, vocab);
    const s = scorer.score('the 😀 dog', true);
    expect(s.symbols).toEqual([...'the 😀 dog', '\n']);
    expect(Number.isNaN(s.bits[4])).toBe(true); // unknown: not scored
    expect(s.unknown).toBe(1);
    expect(scorer.unknown.get('😀')).toBe(1);
    const scored = [...s.bits].filter((b) => !Number.isNaN(b));
    expect(scored).toHaveLength(s.chars);
    expect(scored.reduce((a, b) => a + b, 0) / scored.length).toBeCloseTo(s.bpc, 12);
  });

  it('without a newline in the vocabulary the first character is context only', () => {
    const flat = Vocab.fromText('abc ');
    const m = new Model(new ReferenceKernels('f64'), { cell: 'lstm', vocab: flat.size, embed: 3, hidden: 4, layers: 1 });
    m.init(new Rng(2));
    const scorer = new LineScorer(m, flat);
    const s = scorer.score('abca', true);
    expect(s.chars).toBe(3);
    expect(s.symbols).toEqual(['a', 'b', 'c', 'a']);
    expect(Number.isNaN(s.bits[0])).toBe(true);
    expect(Number.isNaN(scorer.score('a').bpc)).toBe(true);
  });
});

describe('LineScorer in parts', () => {
  it('a line pushed in parts scores exactly as the whole line, per character too', () => {
    const m = model('lstm');
    const line = 'the lazy dog jumps over Pack my box';
    const whole = new LineScorer(m, vocab).score(line, true);
    const parted = new LineScorer(m, vocab);
    parted.begin();
    const bits: number[] = [];
    for (const part of ['the la', '', 'zy dog jumps ove', 'r Pack my box']) bits.push(...parted.push(part, true)!.bits);
    const end = parted.end();
    bits.push(end.endBits);
    expect(end.bpc).toBeCloseTo(whole.bpc, 10);
    expect(end.chars).toBe(whole.chars);
    expect(bits).toHaveLength(whole.bits.length);
    bits.forEach((b, i) => expect(b).toBeCloseTo(whole.bits[i]!, 10));
  });
});

describe('damaged weights', () => {
  it('NaN or infinite outputs are a NonFiniteOutputError, not NaN results', async () => {
    const { NonFiniteOutputError } = await import('../../src/util/errors.js');
    const m = model('lstm', 1);
    m.layout.view(m.params, 'head.bias').fill(Infinity);
    expect(() => new StateStream(m).step(0)).toThrow(NonFiniteOutputError);
    expect(() => evaluateIds(m, vocab.encode('the fox'))).toThrow(NonFiniteOutputError);
    expect(() => new LineScorer(m, vocab).score('the fox')).toThrow(NonFiniteOutputError);
  });
});
