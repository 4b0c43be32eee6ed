// Choosing the next character from logits: temperature, top-k, top-p (nucleus), then a
// seeded draw that cannot run past the last bin.
//
//   p_j ∝ exp((z_j − max z) / τ)                       temperature τ > 0 (τ = 0: argmax)
//   top-k: keep the k largest p_j                       (ties broken by the smaller id)
//   top-p: keep the fewest largest p_j whose sum reaches p
//   renormalise what is kept, draw u ~ U[0,1), walk the cumulative sum
//
// Everything runs in caller-provided scratch (PickScratch), so sampling a character
// allocates nothing.
import type { Vec } from '../kernels/types.js';
import type { Rng } from '../util/rng.js';

export interface PickOptions {
  /** Temperature τ; 0 picks the most likely character (argmax). */
  temp: number;
  /** Keep only the k most likely characters (0: all). */
  topK: number;
  /** Keep the smallest set of most likely characters whose probability reaches p (1: all). */
  topP: number;
}

/** Rounding slack for the top-p comparison: a cumulative sum within this of p counts as reaching it. */
const TOP_P_SLACK = 1e-12;

/** Preallocated buffers for one vocabulary size V. */
export class PickScratch {
  /** [V] the sampling distribution. */
  readonly probs: Float64Array;
  /** [V] ids ordered by falling probability (top-k / top-p only). */
  readonly order: Int32Array;

  constructor(readonly V: number) {
    this.probs = new Float64Array(V);
    this.order = new Int32Array(V);
  }
}

export function argmax(logits: ArrayLike<number>, V: number): number {
  let best = 0;
  for (let j = 1; j < V; j++) if (logits[j] > logits[best]) best = j;
  return best;
}

/**
 * The distribution sampling draws from, after temperature, top-k and top-p, written into
 * `probs` (length V, sums to 1; excluded characters get 0). `order` is scratch of length V;
 * pass it to avoid an allocation per call.
 */
export function samplingDistribution(
  logits: ArrayLike<number>, V: number, opts: PickOptions, probs: Float64Array, order: Int32Array = new Int32Array(V),
): void {
  const sum = softmaxInto(logits, V, opts.temp, probs);
  const inv = 1 / sum;
  for (let j = 0; j < V; j++) probs[j] *= inv;
  const k = opts.topK > 0 ? Math.min(opts.topK, V) : V;
  if (k === V && !(opts.topP < 1)) return;

  const keep = truncationOrder(probs, V, k, opts.topP, order);
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += probs[order[i]];
  // zero everything outside the first `keep` of the order, renormalise the rest
  for (let i = keep; i < V; i++) probs[order[i]] = 0;
  const scale = 1 / kept;
  for (let j = 0; j < V; j++) probs[j] *= scale;
}

/** probs[j] = exp((z_j − max z)/τ), unnormalised; returns their sum (≥ 1). */
function softmaxInto(logits: ArrayLike<number>, V: number, temp: number, probs: Float64Array): number {
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (logits[j] > max) max = logits[j];
  return temperedExps(logits, V, max, 1 / temp, probs);
}

/**
 * probs[j] = exp((z_j − max)·invT) in float64, unnormalised; returns their sum, added in
 * order of j (in float64 whatever `probs` stores). The composed stepper (kernels/step.ts)
 * calls it too, so its draws are the ones this file makes.
 */
export function temperedExps(logits: ArrayLike<number>, V: number, max: number, invT: number, probs: Vec): number {
  let sum = 0;
  for (let j = 0; j < V; j++) {
    const e = Math.exp((logits[j] - max) * invT);
    probs[j] = e;
    sum += e;
  }
  return sum;
}

/**
 * Orders ids by falling probability into `order` (ties by id, so the result is
 * deterministic) and returns how many of them top-k and top-p keep. When only top-k is
 * active and k is small, only the first k positions are ordered (insertion into a sorted
 * prefix, O(V·k)); the rest of `order` then holds the others in no particular order.
 */
function truncationOrder(probs: Float64Array, V: number, k: number, topP: number, order: Int32Array): number {
  const before = (a: number, b: number) => probs[a] > probs[b] || (probs[a] === probs[b] && a < b);
  if (topP >= 1 && k <= 32) {
    // partial selection: order[0..k) sorted, order[k..V) the rest
    let filled = 0;
    for (let j = 0; j < V; j++) {
      if (filled < k) {
        let i = filled++;
        while (i > 0 && before(j, order[i - 1])) {
          order[i] = order[i - 1];
          i--;
        }
        order[i] = j;
      } else if (before(j, order[k - 1])) {
        order[j] = order[k - 1]; // the evicted id goes to the tail
        let i = k - 1;
        while (i > 0 && before(j, order[i - 1])) {
          order[i] = order[i - 1];
          i--;
        }
        order[i] = j;
      } else {
        order[j] = j;
      }
    }
    return k;
  }
  for (let j = 0; j < V; j++) order[j] = j;
  order.sort((a, b) => probs[b] - probs[a] || a - b);
  let keep = k;
  if (topP < 1) {
    let cum = 0;
    for (let i = 0; i < k; i++) {
      cum += probs[order[i]];
      if (cum >= topP - TOP_P_SLACK) {
        keep = i + 1;
        break;
      }
    }
  }
  return keep;
}

/** Draws an index from a distribution; a draw past the rounding slack lands on the last non-zero bin. */
export function draw(probs: Float64Array, V: number, rng: Rng): number {
  return drawScaled(probs, V, rng.next());
}

/** Draws with u ∈ [0, Σ probs): the cumulative walk of `draw` without normalising first. */
function drawScaled(probs: ArrayLike<number>, V: number, u: number): number {
  let cum = 0;
  let last = 0;
  for (let j = 0; j < V; j++) {
    const p = probs[j];
    if (p > 0) {
      cum += p;
      last = j;
      if (u < cum) return j;
    }
  }
  return last;
}

/** True when a draw with τ ≠ 0 needs no top-k or top-p cut (plain temperature sampling): pick draws from the exps alone. */
export function plainTemperature(opts: PickOptions, V: number): boolean {
  return !(opts.topK > 0 && opts.topK < V) && !(opts.topP < 1);
}

/**
 * Plain temperature sampling from exps[j] = exp((z_j − max z)/τ) already formed (a
 * Stepper's probs) and their sum: the draw pick makes in that case, one rng.next().
 */
export function drawTempered(exps: ArrayLike<number>, V: number, sum: number, rng: Rng): number {
  return drawScaled(exps, V, rng.next() * sum);
}

/** One character id from one row of logits [V]. */
export function pick(logits: Vec, V: number, opts: PickOptions, rng: Rng, scratch: PickScratch): number {
  if (opts.temp === 0) return argmax(logits, V);
  if (plainTemperature(opts, V)) {
    // plain temperature sampling: no need to normalise, scale the draw instead
    const sum = softmaxInto(logits, V, opts.temp, scratch.probs);
    return drawScaled(scratch.probs, V, rng.next() * sum);
  }
  samplingDistribution(logits, V, opts, scratch.probs, scratch.order);
  return draw(scratch.probs, V, rng);
}
