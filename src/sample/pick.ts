// Choosing the next character from logits: temperature, top-k, top-p (nucleus), then a
// seeded draw that cannot run past the last bin.
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

export function argmax(logits: ArrayLike<number>, V: number): number {
  let best = 0;
  for (let j = 1; j < V; j++) if (logits[j] > logits[best]) best = j;
  return best;
}

/**
 * The distribution sampling draws from, after temperature, top-k and top-p, written into
 * `probs` (length V, sums to 1; excluded characters get 0).
 */
export function samplingDistribution(logits: ArrayLike<number>, V: number, opts: PickOptions, probs: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (logits[j] > max) max = logits[j];
  let sum = 0;
  for (let j = 0; j < V; j++) {
    const e = Math.exp((logits[j] - max) / opts.temp);
    probs[j] = e;
    sum += e;
  }
  for (let j = 0; j < V; j++) probs[j] /= sum;
  const k = opts.topK > 0 ? Math.min(opts.topK, V) : V;
  if (k < V || opts.topP < 1) {
    // order by probability (ties by id, so the result is deterministic)
    const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => probs[b] - probs[a] || a - b);
    let keep = k;
    if (opts.topP < 1) {
      let cum = 0;
      for (let i = 0; i < keep; i++) {
        cum += probs[order[i]];
        if (cum >= opts.topP) {
          keep = i + 1;
          break;
        }
      }
    }
    let kept = 0;
    for (let i = 0; i < V; i++) {
      if (i < keep) kept += probs[order[i]];
      else probs[order[i]] = 0;
    }
    for (let j = 0; j < V; j++) probs[j] /= kept;
  }
}

/** Draws an index from a distribution; a draw past the rounding slack lands on the last non-zero bin. */
export function draw(probs: Float64Array, V: number, rng: Rng): number {
  const u = rng.next();
  let cum = 0;
  let last = 0;
  for (let j = 0; j < V; j++) {
    if (probs[j] > 0) {
      cum += probs[j];
      last = j;
      if (u < cum) return j;
    }
  }
  return last;
}

export function pick(logits: Vec, V: number, opts: PickOptions, rng: Rng, scratch: Float64Array): number {
  if (opts.temp === 0) return argmax(logits, V);
  samplingDistribution(logits, V, opts, scratch);
  return draw(scratch, V, rng);
}
