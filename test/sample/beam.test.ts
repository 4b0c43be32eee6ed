// Beam search: against exhaustive enumeration on small hand-set models (with and without an
// end symbol and a length penalty), width 1 against greedy decoding, a model where greedy
// misses the best sequence, and the language model's beam against its own scores.
import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { Model } from '../../src/nn/model.js';
import { beamSearch, lengthPenalty, logSoftmaxRows, type BeamModel } from '../../src/sample/beam.js';
import { lmBeamSearch } from '../../src/sample/lm-beam.js';
import { Sampler } from '../../src/sample/sampler.js';
import { StateStream } from '../../src/sample/stream.js';
import { Vocab } from '../../src/text/vocab.js';
import { Rng } from '../../src/util/rng.js';

/**
 * A model whose next-symbol distribution depends on the last two symbols through a fixed
 * table (random, seeded) or a given function; each row's state is its history.
 */
class TableModel implements BeamModel {
  rows: number[][] = [[]];
  steps = 0;
  constructor(readonly symbols: number, readonly dist: (history: readonly number[]) => number[]) {}
  step(inputs: Int32Array, rows: number, logProbs: Float64Array): void {
    this.steps++;
    for (let r = 0; r < rows; r++) {
      this.rows[r] = [...(this.rows[r] ?? []), inputs[r]];
      const p = this.dist(this.rows[r]);
      for (let v = 0; v < this.symbols; v++) logProbs[r * this.symbols + v] = Math.log(p[v]);
    }
  }
  reorder(from: Int32Array, rows: number): void {
    const old = this.rows;
    this.rows = Array.from({ length: rows }, (_, r) => [...old[from[r]]]);
  }
}

function randomTable(V: number, seed: number): (h: readonly number[]) => number[] {
  const rng = new Rng(seed);
  const table = new Map<string, number[]>();
  return (h) => {
    const key = h.slice(-2).join(',');
    let p = table.get(key);
    if (!p) {
      const w = Array.from({ length: V }, () => rng.next() ** 3 + 1e-3);
      const s = w.reduce((a, b) => a + b, 0);
      p = w.map((x) => x / s);
      table.set(key, p);
    }
    return p;
  };
}

/** Every sequence the search could return, with its log p: ended by `end`, or of length maxLength. */
function enumerate(V: number, dist: (h: readonly number[]) => number[], start: number, maxLength: number, end: number) {
  const out: { symbols: number[]; logProb: number }[] = [];
  const walk = (history: number[], symbols: number[], lp: number) => {
    const p = dist(history);
    for (let v = 0; v < V; v++) {
      const s = [...symbols, v];
      const l = lp + Math.log(p[v]);
      if (v === end || s.length === maxLength) out.push({ symbols: s, logProb: l });
      else walk([...history, v], s, l);
    }
  };
  walk([start], [], 0);
  return out;
}

function greedy(V: number, dist: (h: readonly number[]) => number[], start: number, maxLength: number, end: number): number[] {
  const history = [start];
  const symbols: number[] = [];
  while (symbols.length < maxLength) {
    const p = dist(history);
    let best = 0;
    for (let v = 1; v < V; v++) if (p[v] > p[best]) best = v;
    symbols.push(best);
    history.push(best);
    if (best === end) break;
  }
  return symbols;
}

describe('beamSearch', () => {
  it('finds the most likely sequence where greedy decoding does not', () => {
    // after the start: a 0.6, b 0.4; after a: nothing above 0.4; after b: a 0.9
    const dist = (h: readonly number[]) => {
      const last = h[h.length - 1];
      if (last === 2) return [0.6, 0.4, 0];
      if (last === 0) return [0.4, 0.3, 0.3];
      return [0.9, 0.05, 0.05];
    };
    const greedyPath = greedy(3, dist, 2, 2, -1);
    expect(greedyPath).toEqual([0, 0]); // p = 0.24
    const [best] = beamSearch(new TableModel(3, dist), { width: 2, start: 2, maxLength: 2 });
    expect(best.symbols).toEqual([1, 0]); // p = 0.36
    expect(best.logProb).toBeCloseTo(Math.log(0.36), 12);
    const [one] = beamSearch(new TableModel(3, dist), { width: 1, start: 2, maxLength: 2 });
    expect(one.symbols).toEqual(greedyPath);
  });

  for (const [end, alpha] of [[-1, 0], [3, 0], [3, 0.6], [3, 1.5]] as const) {
    it(`a beam as wide as the tree is exhaustive search (end ${end}, α ${alpha}); n-best sorted and distinct`, () => {
      const V = 4;
      const maxLength = 5;
      const dist = randomTable(V, 11 + end + alpha * 10);
      const all = enumerate(V, dist, 0, maxLength, end)
        .map((h) => ({ ...h, score: h.logProb / lengthPenalty(h.symbols.length, alpha) }))
        .sort((a, b) => b.score - a.score);
      const K = 6;
      const got = beamSearch(new TableModel(V, dist), { width: V ** (maxLength - 1), nbest: K, start: 0, maxLength, end, alpha });
      expect(got).toHaveLength(K);
      for (let i = 0; i < K; i++) {
        expect(got[i].score).toBeCloseTo(all[i].score, 10);
        expect(got[i].logProb).toBeCloseTo(all[i].logProb, 10);
        if (i > 0) expect(got[i].score).toBeLessThanOrEqual(got[i - 1].score);
      }
      expect(new Set(got.map((h) => h.symbols.join(','))).size).toBe(K);
      for (const h of got) expect(h.reason).toBe(h.symbols[h.symbols.length - 1] === end ? 'end' : 'length');
    });
  }

  it('width 1 is greedy decoding, end symbol included', () => {
    for (let seed = 0; seed < 20; seed++) {
      const dist = randomTable(5, seed);
      const want = greedy(5, dist, 0, 12, 4);
      const [got] = beamSearch(new TableModel(5, dist), { width: 1, start: 0, maxLength: 12, end: 4, alpha: 0.6 });
      expect(got.symbols).toEqual(want);
    }
  });

  it('a wider beam never scores lower than a narrower one on these models, and each result is a real path', () => {
    for (let seed = 0; seed < 10; seed++) {
      const dist = randomTable(6, 100 + seed);
      let prev = -Infinity;
      for (const width of [1, 3, 12, 48]) {
        const [h] = beamSearch(new TableModel(6, dist), { width, start: 0, maxLength: 4 });
        // its log p is the sum along its path
        let lp = 0;
        const hist = [0];
        for (const s of h.symbols) {
          lp += Math.log(dist(hist)[s]);
          hist.push(s);
        }
        expect(h.logProb).toBeCloseTo(lp, 12);
        expect(h.score).toBeGreaterThanOrEqual(prev - 1e-12);
        prev = h.score;
      }
    }
  });

  it('stops early once no live hypothesis can beat the finished ones', () => {
    // the end symbol is almost certain at once: everything else can only be worse
    const dist = () => [0.98, 0.01, 0.01];
    const m = new TableModel(3, dist);
    const [h] = beamSearch(m, { width: 2, start: 1, maxLength: 50, end: 0 });
    expect(h.symbols).toEqual([0]);
    expect(m.steps).toBeLessThan(5);
  });

  it('isFinished ends hypotheses; −∞ bans a symbol; bad options throw', () => {
    const dist = () => [0.5, 0.3, 0.2];
    const [h] = beamSearch(new TableModel(3, dist), { width: 3, start: 0, maxLength: 10, isFinished: (s) => s.length === 3 });
    expect(h.symbols).toEqual([0, 0, 0]);
    expect(h.reason).toBe('finished');
    const banned = () => [0, 0.3, 0.7];
    const [b] = beamSearch(new TableModel(3, banned), { width: 4, start: 0, maxLength: 3, nbest: 4 });
    expect(b.symbols).toEqual([2, 2, 2]);
    const all = beamSearch(new TableModel(3, banned), { width: 8, start: 0, maxLength: 3, nbest: 8 });
    for (const x of all) expect(x.symbols).not.toContain(0);
    expect(() => beamSearch(new TableModel(3, dist), { width: 2, nbest: 3, start: 0, maxLength: 3 })).toThrow(/nbest/);
    expect(() => beamSearch(new TableModel(3, dist), { width: 0, start: 0, maxLength: 3 })).toThrow(/width/);
  });

  it('logSoftmaxRows: rows of log-probabilities (exp sums to 1), stable for large logits', () => {
    const z = [1000, 1001, 999, -3, 0, 2];
    const out = new Float64Array(6);
    logSoftmaxRows(z, 2, 3, out);
    for (const r of [0, 1]) {
      const s = Math.exp(out[r * 3]) + Math.exp(out[r * 3 + 1]) + Math.exp(out[r * 3 + 2]);
      expect(s).toBeCloseTo(1, 12);
    }
    expect(out[1] - out[0]).toBeCloseTo(1, 12);
  });
});

describe('lmBeamSearch', () => {
  const TEXT = 'the cat sat on the mat.\nthe dog sat on the log.\n';
  const vocab = Vocab.fromText(TEXT);
  const model = (cell: 'lstm' | 'gru' | 'rnn', layers: number) => {
    const m = new Model(new ReferenceKernels('f64'), { cell, vocab: vocab.size, embed: 5, hidden: 7, layers });
    m.init(new Rng(3));
    return m;
  };
  const opts = { nbest: 1, alpha: 0, length: 30, lines: 0, stops: [] as string[], keepStop: false };

  it('width 1 equals argmax sampling (--temp 0)', () => {
    for (const cell of ['lstm', 'gru', 'rnn'] as const) {
      const m = model(cell, 2);
      const prime = vocab.encode('the c');
      const sampler = new Sampler(m, vocab, { temp: 0, topK: 0, topP: 1, seed: 1 });
      sampler.feed(prime);
      let want = '';
      for (let i = 0; i < 30; i++) want += sampler.next();
      const [got] = lmBeamSearch(m, vocab, prime, { ...opts, width: 1 });
      expect(got.text).toBe(want);
    }
  });

  it('each n-best continuation has the log p the model gives it (the state follows its row through reorders)', () => {
    const m = model('lstm', 2);
    const prime = vocab.encode('the ');
    const got = lmBeamSearch(m, vocab, prime, { ...opts, width: 6, nbest: 4, length: 12 });
    expect(got).toHaveLength(4);
    expect(new Set(got.map((r) => r.text)).size).toBe(4);
    for (let i = 0; i < got.length; i++) {
      const ids = Int32Array.from([...prime, ...vocab.encode(got[i].text)]);
      const stream = new StateStream(m, 4);
      // −Σ ln p(text | prime) = the stream's loss over the generated part
      stream.run(ids, 0, prime.length - 1);
      const nats = stream.run(ids, prime.length - 1, ids.length - 1, ids.subarray(1));
      expect(got[i].logProb).toBeCloseTo(-nats, 8);
      if (i > 0) expect(got[i].score).toBeLessThanOrEqual(got[i - 1].score);
    }
    // the beam's best is at least as likely as the greedy continuation
    const [g] = lmBeamSearch(m, vocab, prime, { ...opts, width: 1, length: 12 });
    expect(got[0].logProb).toBeGreaterThanOrEqual(g.logProb - 1e-12);
  });

  it('stop strings and lines end continuations; the stop string is left out unless kept', () => {
    const m = model('gru', 1);
    const stopped = lmBeamSearch(m, vocab, vocab.encode('the'), { ...opts, width: 4, nbest: 4, length: 40, stops: ['a'] });
    for (const r of stopped) {
      expect(r.text).not.toContain('a');
      if (r.reason === 'stop') expect(r.chars).toBe([...r.text].length + 1);
    }
    const kept = lmBeamSearch(m, vocab, vocab.encode('the'), { ...opts, width: 4, nbest: 4, length: 40, stops: ['a'], keepStop: true });
    for (const r of kept) if (r.reason === 'stop') expect(r.text.endsWith('a')).toBe(true);
    const lines = lmBeamSearch(m, vocab, [], { ...opts, width: 3, nbest: 3, length: 200, lines: 1 });
    for (const r of lines) if (r.reason === 'lines') expect(r.text.indexOf('\n')).toBe(r.text.length - 1);
  });
});
