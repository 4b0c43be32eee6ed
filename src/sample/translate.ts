// Decoding an encoder-decoder: from source ids to target ids, ended by the boundary symbol.
//
//   greedy     y_t = argmax_v log p(v | y_<t, x)        all rows of a batch at once
//   sample     y_t ~ softmax(logits / τ) (τ = 0: greedy), seeded
//   beam       the generic beam search of beam.ts over the decoder's step function: the
//              source is encoded once per beam row, rows are hypotheses, reorder() moves
//              each row's decoder state; ranked by log p / lp(length) (GNMT's length
//              normalisation, α = lengthPenalty), the end symbol counted in the length
//
// The score of an output is Σ_t log p(y_t | y_<t, x) over its symbols and the end symbol
// (natural log). An output that has not ended after maxLen symbols is cut there and marked
// `truncated` (its score then has no end term).
import type { Vec } from '../kernels/types.js';
import { BOUNDARY, type Seq2SeqWorkspace } from '../nn/seq2seq.js';
import type { Rng } from '../util/rng.js';
import { beamSearch, logSoftmaxRows, type BeamEnd, type BeamModel } from './beam.js';
import { argmax, pick, PickScratch } from './pick.js';

export interface Decoded {
  /** target ids, without the end symbol */
  ids: number[];
  /** Σ log p of the chosen symbols (and of the end symbol when it ended), nats */
  logProb: number;
  /** cut at maxLen before the end symbol */
  truncated: boolean;
}

/** log p(v) of row r of logits [rows, V], for one v, by log-sum-exp. */
export function logSoftmaxAt(logits: ArrayLike<number>, r: number, V: number, v: number): number {
  const o = r * V;
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (logits[o + j] > max) max = logits[o + j];
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j] - max);
  return logits[o + v] - max - Math.log(sum);
}

export interface SampleDecodeOptions {
  /** τ: 0 = greedy */
  temp: number;
  rng?: Rng;
  topK?: number;
  topP?: number;
}

/**
 * Decodes every source of a batch, greedily (temp 0) or by sampling. The workspace is
 * reshaped for the batch (one row per source).
 */
export function decodeBatch(
  ws: Seq2SeqWorkspace, sources: readonly ArrayLike<number>[], maxLen: number, opts: SampleDecodeOptions = { temp: 0 },
): Decoded[] {
  if (!(Number.isInteger(maxLen) && maxLen >= 1)) throw new Error(`maxLen must be a positive integer, got ${maxLen}`);
  if (opts.temp > 0 && !opts.rng) throw new Error('sampling needs an rng');
  const V = ws.model.config.tgtVocab;
  ws.encode(sources);
  const B = sources.length;
  const out: Decoded[] = sources.map(() => ({ ids: [], logProb: 0, truncated: false }));
  const done = new Array<boolean>(B).fill(false);
  const tokens = new Int32Array(B).fill(BOUNDARY);
  const scratch = new PickScratch(V);
  let open = B;
  for (let t = 0; t <= maxLen && open > 0; t++) {
    const logits: Vec = ws.step(tokens);
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      const row = logits.subarray(b * V, (b + 1) * V);
      const y = opts.temp > 0
        ? pick(row, V, { temp: opts.temp, topK: opts.topK ?? 0, topP: opts.topP ?? 1 }, opts.rng!, scratch)
        : argmax(row, V);
      if (t === maxLen && y !== BOUNDARY) {
        // maxLen symbols written and still no end: cut here
        out[b].truncated = true;
        done[b] = true;
        open--;
        continue;
      }
      out[b].logProb += logSoftmaxAt(logits, b, V, y);
      if (y === BOUNDARY) {
        done[b] = true;
        open--;
      } else {
        out[b].ids.push(y);
        tokens[b] = y;
      }
    }
  }
  return out;
}

/** The decoder as beam.ts sees it: rows are hypotheses of one source. */
class DecoderBeam implements BeamModel {
  readonly symbols: number;
  private readonly parents: Int32Array;

  constructor(private readonly ws: Seq2SeqWorkspace) {
    this.symbols = ws.model.config.tgtVocab;
    this.parents = new Int32Array(ws.B);
  }

  step(inputs: Int32Array, rows: number, logProbs: Float64Array): void {
    // every row is stepped (the workspace has `width` rows); only the first `rows` are read
    const logits = this.ws.step(inputs);
    logSoftmaxRows(logits, rows, this.symbols, logProbs);
  }

  reorder(from: Int32Array, rows: number): void {
    this.parents.fill(0);
    this.parents.set(from.subarray(0, rows));
    this.ws.reorder(this.parents);
  }
}

export interface BeamDecoded extends Decoded {
  /** log p / lp(length), what the beam ranked by */
  score: number;
  /** why it ended: the end symbol or the length cap */
  end: BeamEnd;
}

/**
 * The `nbest` best outputs of one source by beam search of `width` hypotheses, best first.
 * The workspace is reshaped to `width` rows.
 */
export function beamDecode(
  ws: Seq2SeqWorkspace, source: ArrayLike<number>, opts: { width: number; nbest?: number; maxLen: number; lengthPenalty?: number },
): BeamDecoded[] {
  ws.encode(Array.from({ length: opts.width }, () => source));
  const hyps = beamSearch(new DecoderBeam(ws), {
    width: opts.width, nbest: opts.nbest ?? 1, start: BOUNDARY, end: BOUNDARY, maxLength: opts.maxLen + 1,
    alpha: opts.lengthPenalty ?? 0,
  });
  // a hypothesis still going at the cap has maxLen + 1 symbols (its log p counts them all);
  // it is cut to maxLen, and two cut to the same text keep the better one
  const seen = new Set<string>();
  const out: BeamDecoded[] = [];
  for (const h of hyps) {
    const ended = h.reason === 'end';
    const ids = ended ? h.symbols.slice(0, -1) : h.symbols.slice(0, opts.maxLen);
    const key = ids.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ids, logProb: h.logProb, score: h.score, truncated: !ended, end: h.reason });
  }
  return out;
}
