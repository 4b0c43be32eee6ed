// Learning-rate schedules: pure functions of the step.
//
// constant   lr
// step       lr · gamma^⌊step / every⌋                          (char-rnn's decay)
// cosine     linear warm-up to lr over `warmup` steps, then a half cosine down to
//            lr·minFrac at `total` steps, flat after that          (nanoGPT's schedule)
//
// When a run is bounded only by wall-clock time (--time), the number of steps is not
// known in advance. The trainer measures the step rate over the first 10 steps of the
// session, sets `total` to the steps that fit in the remaining budget at that rate
// (estimateTotalSteps), and refines the estimate at every evaluation, so the measured
// rate comes to include validation and checkpoint costs. A small change of `total` moves
// lr by a small amount, so the refinements do not make it jump. (Warm-up is capped at a
// tenth of the planned or estimated total; see Trainer.warmupSteps.)

export type ScheduleName = 'constant' | 'step' | 'cosine';
export const SCHEDULES: readonly ScheduleName[] = ['constant', 'step', 'cosine'];

export interface ScheduleConfig {
  name: ScheduleName;
  lr: number;
  /** Warm-up steps (cosine). */
  warmup: number;
  /** Steps over which cosine decays; 0 = unknown (then cosine holds lr after warm-up). */
  total: number;
  /** Final fraction of lr (cosine). */
  minFrac: number;
  /** Decay factor and period (step). */
  gamma: number;
  every: number;
}

/** Learning rate for the update that ends step `step` (0-based). */
export function learningRate(s: ScheduleConfig, step: number): number {
  switch (s.name) {
    case 'constant':
      return s.lr;
    case 'step':
      return s.lr * s.gamma ** Math.floor(step / Math.max(1, s.every));
    case 'cosine': {
      if (s.warmup > 0 && step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
      if (s.total <= s.warmup) return s.lr;
      const progress = Math.min(1, (step - s.warmup) / (s.total - s.warmup));
      const min = s.lr * s.minFrac;
      return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * progress));
    }
  }
}

/**
 * The total number of steps a time-bounded run will reach: the steps done plus the
 * steps that fit in the remaining budget at the measured rate.
 *
 * @param step steps done so far in the run
 * @param elapsedMs wall-clock time the run has used of its budget
 * @param budgetMs the run's time budget
 * @param rateSteps, rateMs a measurement: rateSteps steps took rateMs milliseconds
 * @returns the estimate (at least step + 1), or 0 when the rate is not measurable yet
 */
export function estimateTotalSteps(step: number, elapsedMs: number, budgetMs: number, rateSteps: number, rateMs: number): number {
  if (!(rateSteps > 0 && rateMs > 0 && budgetMs > 0)) return 0;
  const remaining = Math.max(0, budgetMs - elapsedMs);
  return step + Math.max(1, Math.round((remaining * rateSteps) / rateMs));
}
