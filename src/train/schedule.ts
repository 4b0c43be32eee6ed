// Learning-rate schedules: pure functions of the step.
//
// constant   lr
// step       lr · gamma^⌊step / every⌋                          (char-rnn's decay)
// cosine     linear warm-up to lr over `warmup` steps, then a half cosine down to
//            lr·minFrac at `total` steps, flat after that          (nanoGPT's schedule)

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
