import { describe, expect, it } from 'vitest';
import { editDistance, scorePairs } from '../../src/tasks/seq2seq-metrics.js';

/** Edit distance by the plain recursion over all alignments (exponential; tiny strings only). */
function naiveDistance(a: string[], b: string[]): number {
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  return Math.min(
    naiveDistance(a.slice(1), b.slice(1)) + (a[0] === b[0] ? 0 : 1),
    naiveDistance(a.slice(1), b) + 1,
    naiveDistance(a, b.slice(1)) + 1,
  );
}

describe('edit distance', () => {
  it('known cases', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(editDistance('same', 'same')).toBe(0);
    // code points, not UTF-16 units: one astral character is one edit
    expect(editDistance('a😀b', 'ab')).toBe(1);
    expect(editDistance('é', 'e')).toBe(1);
  });

  it('agrees with the naive recursion on random short strings, and is symmetric', () => {
    let seed = 1;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 300; i++) {
      const a = Array.from({ length: rand(6) }, () => 'abc'[rand(3)]).join('');
      const b = Array.from({ length: rand(6) }, () => 'abc'[rand(3)]).join('');
      const d = editDistance(a, b);
      expect(d, `${a} ${b}`).toBe(naiveDistance([...a], [...b]));
      expect(editDistance(b, a)).toBe(d);
    }
  });
});

describe('scorePairs', () => {
  it('exact match and corpus-level CER', () => {
    const s = scorePairs(['abc', 'xyz', 'hello'], ['abc', 'xy', 'help']);
    expect(s.count).toBe(3);
    expect(s.exactMatch).toBeCloseTo(1 / 3, 12);
    // edits 0 + 1 + 2 over 3 + 2 + 4 reference characters
    expect(s.edits).toBe(3);
    expect(s.refChars).toBe(9);
    expect(s.cer).toBeCloseTo(3 / 9, 12);
  });

  it('edge cases: nothing to score, empty references, mismatched lengths', () => {
    expect(scorePairs([], [])).toMatchObject({ count: 0, exactMatch: 0, cer: 0 });
    expect(scorePairs([''], [''])).toMatchObject({ exactMatch: 1, cer: 0 });
    expect(scorePairs(['a'], ['']).cer).toBe(Infinity);
    expect(() => scorePairs(['a'], [])).toThrow(/1 hypotheses for 0 references/);
  });
});
