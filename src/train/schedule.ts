// Learning-rate schedules: pure functions of the step and of the share of the time
// budget used.
//
// constant   lr
// step       lr · gamma^⌊step / every⌋                          (char-rnn's decay)
// cosine     linear warm-up to lr over `warmup` steps, then a half cosine down to
//            lr·minFrac at the end of the run, flat after that    (nanoGPT's schedule)
//
// Where the run ends: with a planned number of steps (--steps, --epochs), the cosine
// runs over the steps after warm-up, p = (step − warmup) / (total − warmup). With a time
// budget (--time), it runs over the clock, p = elapsed / budget: the decay follows the
// budget whatever the step rate turns out to be, and lr reaches its floor exactly when
// the time is up. (Planning over a step rate measured in the first seconds, as this
// project did before, gets the rate wrong by a lot on a busy machine or a cold JIT, and
// a wrong rate leaves a run either still at high lr when the clock stops or at its floor
// for most of the budget.) A time-bounded run warms up over `warmup` steps or the first
// WARMUP_FRAC of its clock, whichever ends first, so a short budget does not spend a
// large share of itself warming up; its cosine starts at once, which moves lr by less
// than 0.1% over a warm-up of 5%. With both limits, the one that comes first sets p.

export type ScheduleName = 'constant' | 'step' | 'cosine';
export const SCHEDULES: readonly ScheduleName[] = ['constant', 'step', 'cosine'];

export interface ScheduleConfig {
  name: ScheduleName;
  lr: number;
  /** Warm-up steps (cosine). */
  warmup: number;
  /** Planned steps (cosine); 0 = not planned by steps. */
  total: number;
  /** Final fraction of lr (cosine). */
  minFrac: number;
  /** Decay factor and period (step). */
  gamma: number;
  every: number;
}

/** A time-bounded run's warm-up ends by this share of its budget at the latest. */
export const WARMUP_FRAC = 0.05;

/**
 * Learning rate for the update that ends step `step` (0-based).
 *
 * @param timeFraction elapsed / budget of a run with a time budget (null without one)
 */
export function learningRate(s: ScheduleConfig, step: number, timeFraction: number | null = null): number {
  switch (s.name) {
    case 'constant':
      return s.lr;
    case 'step':
      return s.lr * s.gamma ** Math.floor(step / Math.max(1, s.every));
    case 'cosine': {
      const min = s.lr * s.minFrac;
      const cosine = (p: number) => min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, p))));
      const byTime = timeFraction === null ? -1 : timeFraction;
      if (s.total > 0) {
        // planned in steps: warm-up, then the cosine over the rest (or over the clock, if it ends first)
        if (s.warmup > 0 && step < s.warmup && byTime < WARMUP_FRAC) return (s.lr * (step + 1)) / s.warmup;
        const bySteps = s.total <= s.warmup ? 0 : (step - s.warmup) / (s.total - s.warmup);
        return cosine(Math.max(bySteps, byTime));
      }
      if (byTime >= 0) {
        const warm = s.warmup > 0 ? Math.min(1, Math.max((step + 1) / s.warmup, byTime / WARMUP_FRAC)) : 1;
        return warm * cosine(byTime);
      }
      // no planned end: warm up, then hold lr
      return s.warmup > 0 && step < s.warmup ? (s.lr * (step + 1)) / s.warmup : s.lr;
    }
  }
}

/**
 * When a time-bounded run validates: every `budgetMs / evals` of the clock, but never so
 * often that validation takes more than `maxShare` of the time (the last evaluation took
 * `evalMs`). True when the next evaluation is due.
 *
 * @param sinceEvalMs clock time since the previous evaluation ended (or the run began)
 */
export function evalDue(sinceEvalMs: number, budgetMs: number, evals: number, evalMs: number, maxShare: number): boolean {
  const interval = Math.max(budgetMs / Math.max(1, evals), evalMs / maxShare);
  return sinceEvalMs >= interval;
}

/** Evaluations spread over a time-only run's budget, and the most of its time they may take. */
export const EVAL_TIMES = 10;
export const EVAL_SHARE = 0.04;
