// Temperature, top-k and top-p on hand-built distributions, and the draw.
import { describe, expect, it } from 'vitest';
import { argmax, draw, pick, PickScratch, samplingDistribution } from '../../src/sample/pick.js';
import { Rng } from '../../src/util/rng.js';

const logitsOf = (probs: number[]) => Float64Array.from(probs, Math.log);
const dist = (logits: Float64Array, opts: { temp?: number; topK?: number; topP?: number }) => {
  const probs = new Float64Array(logits.length);
  samplingDistribution(logits, logits.length, { temp: 1, topK: 0, topP: 1, ...opts }, probs);
  return [...probs];
};
const close = (got: number[], want: number[]) => got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12));

describe('samplingDistribution', () => {
  // ids 0..4 with probabilities out of order, so sorting matters
  const P = [0.1, 0.4, 0.05, 0.3, 0.15];
  const z = logitsOf(P);

  it('is the softmax at temperature 1, sharper below, flatter above', () => {
    close(dist(z, {}), P);
    const cold = dist(z, { temp: 0.5 }); // p^2 renormalised
    const sq = P.map((p) => p * p);
    const s = sq.reduce((a, b) => a + b);
    close(cold, sq.map((p) => p / s));
    const hot = dist(z, { temp: 100 });
    for (const p of hot) expect(p).toBeCloseTo(0.2, 2);
  });

  it('top-p keeps the fewest most likely characters whose mass reaches p, renormalised', () => {
    close(dist(z, { topP: 0.4 }), [0, 1, 0, 0, 0]); // 0.4 alone reaches 0.4
    close(dist(z, { topP: 0.5 }), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0]); // 0.4 + 0.3
    close(dist(z, { topP: 0.7 }), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0]); // exactly reached, despite rounding
    close(dist(z, { topP: 0.71 }), [0, 0.4 / 0.85, 0, 0.3 / 0.85, 0.15 / 0.85]);
    close(dist(z, { topP: 0.96 }), P);
    close(dist(z, { topP: 0.01 }), [0, 1, 0, 0, 0]); // at least one character always stays
  });

  it('top-k keeps the k most likely, and combines with top-p (both must allow)', () => {
    close(dist(z, { topK: 2 }), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0]);
    close(dist(z, { topK: 3 }), [0, 0.4 / 0.85, 0, 0.3 / 0.85, 0.15 / 0.85]);
    close(dist(z, { topK: 99 }), P);
    close(dist(z, { topK: 3, topP: 0.5 }), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0]);
    close(dist(z, { topK: 1, topP: 0.9 }), [0, 1, 0, 0, 0]);
  });

  it('ties are broken by the smaller id', () => {
    close(dist(logitsOf([0.2, 0.3, 0.3, 0.2]), { topK: 1 }), [0, 1, 0, 0]);
    close(dist(logitsOf([0.2, 0.3, 0.3, 0.2]), { topK: 3 }), [0.2 / 0.8, 0.3 / 0.8, 0.3 / 0.8, 0]);
  });

  it('small-k selection and the full sort agree on random logits', () => {
    const rng = new Rng(3);
    const V = 97;
    for (let trial = 0; trial < 50; trial++) {
      const logits = Float64Array.from({ length: V }, () => Math.round(rng.normal() * 4) / 2); // many ties
      const k = 1 + rng.int(40);
      const fast = dist(logits, { topK: k });
      // reference: full sort by (prob desc, id asc)
      const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a] || a - b).slice(0, k);
      const kept = new Set(order);
      const full = dist(logits, {});
      const mass = order.reduce((s, j) => s + full[j], 0);
      close(fast, full.map((p, j) => (kept.has(j) ? p / mass : 0)));
    }
  });

  it('large logits do not overflow', () => {
    close(dist(Float64Array.from([1000, 999, -1000]), {}), [1 / (1 + Math.exp(-1)), Math.exp(-1) / (1 + Math.exp(-1)), 0]);
  });
});

describe('pick and draw', () => {
  it('temp 0 is argmax; top-k 1 is argmax at any temperature', () => {
    const rng = new Rng(1);
    const scratch = new PickScratch(6);
    const z = Float32Array.from([0.1, 2, -1, 2.5, 0, 2.4]);
    expect(argmax(z, 6)).toBe(3);
    expect(pick(z, 6, { temp: 0, topK: 0, topP: 1 }, rng, scratch)).toBe(3);
    for (let i = 0; i < 100; i++) expect(pick(z, 6, { temp: 3, topK: 1, topP: 1 }, rng, scratch)).toBe(3);
  });

  it('draws with the right frequencies, plain and truncated, and never an excluded id', () => {
    const z = logitsOf([0.5, 0.2, 0.3]);
    const scratch = new PickScratch(3);
    for (const opts of [{ temp: 1, topK: 0, topP: 1 }, { temp: 1, topK: 2, topP: 1 }]) {
      const rng = new Rng(7);
      const counts = [0, 0, 0];
      const n = 20000;
      for (let i = 0; i < n; i++) counts[pick(z, 3, opts, rng, scratch)]++;
      const want = opts.topK === 2 ? [0.625, 0, 0.375] : [0.5, 0.2, 0.3];
      counts.forEach((c, j) => expect(Math.abs(c / n - want[j])).toBeLessThan(0.015));
      if (opts.topK === 2) expect(counts[1]).toBe(0);
    }
  });

  it('a draw past the rounding slack lands on the last non-zero bin', () => {
    const probs = Float64Array.from([0.3, 0.3, 0.3999999, 0]); // sums to just under 1
    const rng = { next: () => 0.9999999999 } as unknown as Rng;
    expect(draw(probs, 4, rng)).toBe(2);
  });
});
