// Beam search over any step function: the N most likely continuations of a state, kept
// side by side as rows of one batch, extended one symbol at a time. Nothing here knows a
// model: a language model (lm-beam.ts) and an encoder-decoder's decoder plug in the same way.
//
// How to use it. Implement BeamModel over a batch of up to `width` rows of recurrent state:
//   step(inputs, rows, logProbs)  feed inputs[r] to row r (r < rows) and write
//                                 log p(next symbol | row r's history) into
//                                 logProbs[r·V .. (r+1)·V) (V = model.symbols; −∞ bans a symbol)
//   reorder(from, rows)           new row r takes the state old row from[r] had (r < rows);
//                                 rows can repeat (a parent with several children) or vanish
// Put the starting state (the primed language model, the decoder's initial state from the
// encoder) in row 0, then call beamSearch(model, { width, start, ... }): the first step
// feeds `start` to row 0 alone; the first reorder copies row 0 to the rows it spawns.
//
// The search. A hypothesis y = y_1..y_n (n generated symbols, an end symbol included) has
//   log p(y) = Σ_i log p(y_i | y_<i, start state)
//   score(y) = log p(y) / lp(n),   lp(n) = ((5 + n) / 6)^α     (GNMT, Wu et al. 2016; α = 0: raw log p)
// Every step extends each live hypothesis by every symbol and keeps the `width` extensions
// with the highest log p (ties: the earlier row, then the smaller symbol). All of them
// have the same length, so ranking by log p or by score is the same. An extension that ends
// (the end symbol, or `isFinished` says so) leaves the beam for the finished pool; the others
// are the live rows of the next step (fewer than `width` for one step when some ended). So a
// width-1 search is exactly greedy decoding (argmax, first maximum).
// The search stops when no hypothesis is live, at `maxLength` (live hypotheses are finished
// as they are), or when no live one can still enter the n-best: log p only falls as a
// hypothesis grows and lp(n) ≤ lp(maxLength), so a live y can at best reach
// log p(y) / lp(maxLength) (a negative number divided by the largest lp); once the nbest-th
// finished score is at least that for every live y, more steps change nothing.
// Result: up to `nbest` finished hypotheses, best score first; they are distinct sequences
// (each is a different path through the tree of extensions).

export interface BeamModel {
  /** V: symbols per distribution. */
  readonly symbols: number;
  step(inputs: Int32Array, rows: number, logProbs: Float64Array): void;
  reorder(from: Int32Array, rows: number): void;
}

export interface BeamOptions {
  /** N: hypotheses kept per step (≥ 1). */
  width: number;
  /** K ≤ N: finished hypotheses returned (default 1). */
  nbest?: number;
  /** The symbol fed first (the last prime character, a start-of-sequence symbol). */
  start: number;
  /** Symbols generated at most per hypothesis. */
  maxLength: number;
  /** A symbol that ends a hypothesis (counted in its length), or -1 for none (default). */
  end?: number;
  /** α of the length penalty (default 0: rank by the sum of log-probabilities). */
  alpha?: number;
  /** Called on every extension (the new symbol last): true ends the hypothesis there. */
  isFinished?: (symbols: readonly number[]) => boolean;
}

export type BeamEnd = 'end' | 'finished' | 'length';

export interface BeamHypothesis {
  /** Generated symbols (the end symbol included when it ended the hypothesis). */
  symbols: number[];
  /** log p of the symbols, natural log. */
  logProb: number;
  /** log p / lp(length): what the hypotheses are ranked by. */
  score: number;
  /** Why it ended: the end symbol, isFinished, or maxLength. */
  reason: BeamEnd;
}

/** GNMT's length penalty lp(n) = ((5 + n) / 6)^α. */
export function lengthPenalty(n: number, alpha: number): number {
  return alpha === 0 ? 1 : ((5 + n) / 6) ** alpha;
}

interface Live {
  symbols: number[];
  logProb: number;
}

export function beamSearch(model: BeamModel, opts: BeamOptions): BeamHypothesis[] {
  const N = opts.width;
  const K = opts.nbest ?? 1;
  const end = opts.end ?? -1;
  const alpha = opts.alpha ?? 0;
  const V = model.symbols;
  if (!Number.isInteger(N) || N < 1) throw new Error(`beam width must be a positive integer, got ${N}`);
  if (!Number.isInteger(K) || K < 1 || K > N) throw new Error(`nbest must be from 1 to the beam width ${N}, got ${K}`);
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 1) throw new Error(`maxLength must be a positive integer, got ${opts.maxLength}`);
  if (!(alpha >= 0)) throw new Error(`alpha must be ≥ 0, got ${alpha}`);

  const logProbs = new Float64Array(N * V);
  const inputs = new Int32Array(N);
  const from = new Int32Array(N);
  // the kept extensions of one step, sorted by falling log p: parent row, symbol, log p
  const keptRow = new Int32Array(N);
  const keptSym = new Int32Array(N);
  const keptLp = new Float64Array(N);

  const finished: BeamHypothesis[] = [];
  const finish = (symbols: number[], logProb: number, reason: BeamEnd) => {
    finished.push({ symbols, logProb, score: logProb / lengthPenalty(symbols.length, alpha), reason });
  };

  let live: Live[] = [{ symbols: [], logProb: 0 }];
  inputs[0] = opts.start;
  const maxLp = lengthPenalty(opts.maxLength, alpha);

  for (let len = 1; len <= opts.maxLength && live.length > 0; len++) {
    const rows = live.length;
    model.step(inputs, rows, logProbs);

    // the N best (row, symbol) extensions, by insertion into a sorted list; strict `>`
    // keeps the earlier candidate in front on ties; −∞ and NaN are never kept
    let kept = 0;
    for (let r = 0; r < rows; r++) {
      const base = live[r].logProb;
      const off = r * V;
      for (let v = 0; v < V; v++) {
        const lp = base + logProbs[off + v];
        if (!(lp > -Infinity) || (kept === N && !(lp > keptLp[N - 1]))) continue;
        let i = kept < N ? kept++ : N - 1;
        while (i > 0 && lp > keptLp[i - 1]) {
          keptLp[i] = keptLp[i - 1];
          keptRow[i] = keptRow[i - 1];
          keptSym[i] = keptSym[i - 1];
          i--;
        }
        keptLp[i] = lp;
        keptRow[i] = r;
        keptSym[i] = v;
      }
    }

    const next: Live[] = [];
    let identity = true;
    for (let i = 0; i < kept; i++) {
      const parent = live[keptRow[i]];
      const symbols = [...parent.symbols, keptSym[i]];
      if (keptSym[i] === end) {
        finish(symbols, keptLp[i], 'end');
      } else if (opts.isFinished?.(symbols)) {
        finish(symbols, keptLp[i], 'finished');
      } else {
        const row = next.length;
        from[row] = keptRow[i];
        inputs[row] = keptSym[i];
        if (keptRow[i] !== row) identity = false;
        next.push({ symbols, logProb: keptLp[i] });
      }
    }
    live = next;
    if (live.length === 0) break;
    if (len === opts.maxLength) {
      for (const h of live) finish(h.symbols, h.logProb, 'length');
      break;
    }
    // can a live hypothesis still enter the n-best? (bound above)
    if (finished.length >= K) {
      const kth = sortHypotheses(finished)[K - 1].score;
      if (live.every((h) => h.logProb / maxLp <= kth)) break;
    }
    if (!identity) model.reorder(from, live.length);
  }
  return sortHypotheses(finished).slice(0, K);
}

/** Best score first; equal scores keep the order they were found in (earlier = higher log p at its step). */
function sortHypotheses(hs: BeamHypothesis[]): BeamHypothesis[] {
  return hs.sort((a, b) => b.score - a.score);
}

/** out[r·V + j] = z_j − max z − ln Σ exp(z − max z), row by row, in float64. */
export function logSoftmaxRows(logits: ArrayLike<number>, rows: number, V: number, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const off = r * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (logits[off + j] > max) max = logits[off + j];
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[off + j] - max);
    const shift = max + Math.log(sum);
    for (let j = 0; j < V; j++) out[off + j] = logits[off + j] - shift;
  }
}
