// The configuration of a training run, and its defaults (defined here once: the CLI's
// help, a library user and the benchmark all read them from TRAIN_DEFAULTS).
import type { CellKind } from '../nn/layer.js';
import type { OptimName } from '../nn/optim.js';
import { plural } from '../util/words.js';
import type { ScheduleName } from './schedule.js';

export interface TrainConfig {
  /** The task (src/tasks); absent in checkpoints written before tasks existed: a language model. */
  task?: string;
  cell: CellKind;
  layers: number;
  hidden: number;
  embed: number;
  batch: number;
  /** Window length T of the language model's truncated BPTT (tasks of whole sequences ignore it). */
  seq: number;
  lr: number;
  clip: number;
  optim: OptimName;
  schedule: ScheduleName;
  warmup: number;
  /** Step decay: factor and period in steps. */
  decay: number;
  decayEvery: number;
  /** Dropout probability between layers and before the output layer (0: off). */
  dropout: number;
  /** Stop after this many optimizer steps (0: no limit). */
  steps: number;
  /** Stop after this many passes over the training data (0: no limit). */
  epochs: number;
  /** Stop after this much wall-clock time in ms, counted over the whole run including resumed sessions (0: no limit). */
  timeMs: number;
  seed: number;
  valFrac: number;
  /** Validate every this many steps (0: only at the end). */
  evalEvery: number;
  /**
   * A run bounded only by --time: validate about this many times over the budget, by the
   * clock, and less often when validation would take more than 4% of the time
   * (schedule.ts: evalDue); evalEvery is then not used. 0 or absent: by evalEvery.
   */
  evalTimes?: number;
  /** Validation batches scored per evaluation (0: all of them). */
  evalWindows: number;
  /** Stop after this many evaluations without improvement (0: never). */
  patience: number;
  /** Options only one task has (a classifier's pool, bidirectional, maxLen …): plain JSON the task validates. */
  taskOptions?: Record<string, unknown>;
}

/** The defaults of every option a run has; a task may override some (Task.defaults). */
export const TRAIN_DEFAULTS = {
  cell: 'lstm' as CellKind,
  layers: 2,
  hidden: 128,
  embed: 64,
  batch: 50,
  seq: 50,
  lr: 2e-3,
  clip: 5,
  optim: 'adam' as OptimName,
  schedule: 'cosine' as ScheduleName,
  warmup: 100,
  decay: 0.97,
  decayEvery: 1000,
  dropout: 0,
  seed: 1,
  valFrac: 0.05,
  evalEvery: 200,
  patience: 0,
  /** Passes over the data when no --steps, --epochs or --time is given. */
  epochs: 10,
} as const;

/** The cosine schedule's floor, as a fraction of --lr. */
export const MIN_LR_FRAC = 0.1;
/** Divergence rollbacks allowed per run before training stops. */
export const MAX_ROLLBACKS = 3;

/** When a run validates, in words: "every 200 steps", "about 10 times by the clock", "at the end". */
export function evalWhen(config: Pick<TrainConfig, 'evalEvery' | 'evalTimes' | 'timeMs' | 'steps' | 'epochs'>): string {
  const timeOnly = config.timeMs > 0 && config.steps === 0 && config.epochs === 0;
  if (timeOnly && (config.evalTimes ?? 0) > 0) return `about ${config.evalTimes} times over the budget (at most 4% of it)`;
  return config.evalEvery > 0 ? `every ${plural(config.evalEvery, 'step')}` : 'at the end';
}
