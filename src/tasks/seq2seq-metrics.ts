// Metrics of the encoder-decoder, over Unicode code points (what the models read and write):
//
//   edit distance   Levenshtein: the fewest insertions, deletions and substitutions that
//                   turn the hypothesis into the reference
//   CER             Σ edit distance / Σ reference length over a set of pairs (a corpus-level
//                   rate, so long references weigh more, as in speech recognition); it can
//                   exceed 1 when hypotheses are much longer than their references
//   exact match     the share of hypotheses equal to their reference

/** Levenshtein distance between two strings, by code point, in O(|a|·|b|) time and O(|b|) memory. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  let cur = new Array<number>(y.length + 1);
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const sub = prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length];
}

export interface PairScores {
  /** pairs scored */
  count: number;
  /** share of exact matches, 0..1 */
  exactMatch: number;
  /** Σ edit distance / Σ reference length (0 when every reference is empty and so is every hypothesis) */
  cer: number;
  /** Σ edit distance and Σ reference length, for combining partial results */
  edits: number;
  refChars: number;
}

/** Scores hypotheses against references, pair by pair. */
export function scorePairs(hypotheses: readonly string[], references: readonly string[]): PairScores {
  if (hypotheses.length !== references.length) throw new Error(`${hypotheses.length} hypotheses for ${references.length} references`);
  let exact = 0;
  let edits = 0;
  let refChars = 0;
  for (let i = 0; i < references.length; i++) {
    if (hypotheses[i] === references[i]) exact++;
    edits += editDistance(hypotheses[i], references[i]);
    refChars += [...references[i]].length;
  }
  const count = references.length;
  return {
    count,
    exactMatch: count === 0 ? 0 : exact / count,
    cer: refChars === 0 ? (edits === 0 ? 0 : Infinity) : edits / refChars,
    edits,
    refChars,
  };
}
