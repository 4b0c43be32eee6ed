// An exponential moving average of the weights (Polyak averaging), kept beside the trained
// weights and scored beside them at every evaluation: the better of the two is what the
// evaluation reports and what the checkpoints it writes present as their model.
//
//   w̄_0 = w_0                                  (the weights when averaging starts: the run's
//                                              first, or a fine-tune's starting weights)
//   w̄_t = β_t · w̄_{t−1} + (1 − β_t) · w_t      after every update t = 1, 2, …
//       = w̄_{t−1} + (1 − β_t) · (w_t − w̄_{t−1})     (the form computed: no cancellation)
//   β_t = min(β, (1 + t) / (10 + t))           the average's own warm-up: early on it follows
//                                              the weights instead of remembering the random
//                                              start (β_1 = 2/11, β_90 = 0.91)
//   β   = --ema DECAY                          a fixed decay per step, or
//       = 2^(−1 / (s · S))                     a half-life of a share s of the run's S planned
//                                              steps (emaHalfLife = s; S = the planned steps, or
//                                              for a run bounded by the clock alone, the steps
//                                              done over the share of the budget used): the
//                                              same share of a 1-minute and of a 1-hour run
//
// Why: a run at a high learning rate ends with weights that jitter around where it is going,
// and on a held-out text that differs from the training text the last windows seen bias
// them; an average over the last few percent of the steps usually scores lower. Scoring both
// costs a second evaluation, and a run whose average is not better keeps the trained weights.
import type { Vec } from '../kernels/types.js';
import type { TrainConfig } from './config.js';

/** Whether a run keeps an average of its weights (--ema DECAY, or a half-life share from the sizing rule). */
export function averages(config: Pick<TrainConfig, 'ema' | 'emaHalfLife'>): boolean {
  return (config.ema ?? 0) > 0 || (config.emaHalfLife ?? 0) > 0;
}

/**
 * β_t for the update that folds in the weights after update number `averaged + 1` since the
 * average started; `plannedSteps` is S (Infinity or 0 when not known yet: the warm-up alone).
 */
export function averageDecay(config: Pick<TrainConfig, 'ema' | 'emaHalfLife'>, averaged: number, plannedSteps: number): number {
  const t = averaged + 1;
  const warm = (1 + t) / (10 + t);
  let decay: number;
  if ((config.ema ?? 0) > 0) decay = config.ema;
  else {
    const halfLife = (config.emaHalfLife ?? 0) * plannedSteps;
    decay = Number.isFinite(halfLife) && halfLife > 0 ? 2 ** (-1 / halfLife) : 1;
  }
  return Math.min(decay, warm);
}

/** w̄ ← w̄ + (1 − β)(w − w̄), in place. */
export function foldIntoAverage(average: Vec, weights: ArrayLike<number>, decay: number): void {
  const rate = 1 - decay;
  for (let i = 0; i < average.length; i++) average[i] += rate * (weights[i]! - average[i]!);
}

/** Exchanges the contents of two buffers of the same length (to score the average in the network's own buffer). */
export function swapContents(a: Vec, b: Vec): void {
  if (a.length !== b.length) throw new Error(`swapContents: lengths ${a.length} and ${b.length} differ`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    a[i] = b[i]!;
    b[i] = x;
  }
}

/** "the average of the weights (half-life 5% of the run)", for the header. */
export function describeAverage(config: Pick<TrainConfig, 'ema' | 'emaHalfLife'>): string {
  if ((config.ema ?? 0) > 0) return `average of the weights (EMA ${config.ema} per step)`;
  return `average of the weights (EMA, half-life ${+((config.emaHalfLife ?? 0) * 100).toPrecision(3)}% of the run)`;
}
