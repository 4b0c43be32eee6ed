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
  /** Language model: dropout on layer 0's input, the character embedding (0: off; src/nn/dropout.ts). */
  embedDropout: number;
  /** Language model: variational dropout on every layer's recurrent input, one mask per window (0: off). */
  recurrentDropout: number;
  /** Decoupled weight decay λ (AdamW: every parameter shrinks by lr·λ per step; 0: plain Adam); --optim adam only. */
  weightDecay: number;
  /**
   * Keep an exponential moving average of the weights with this decay per step, scored beside
   * the trained weights at every evaluation (src/train/average.ts; 0: off unless emaHalfLife).
   */
  ema: number;
  /** ...or with a half-life of this share of the run's steps (the sizing rule's; 0: off). --ema wins. */
  emaHalfLife: number;
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
  embedDropout: 0,
  recurrentDropout: 0,
  weightDecay: 0,
  ema: 0,
  emaHalfLife: 0,
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

/** The range of a numeric option: the flags and a resumed checkpoint are checked against the same. */
export interface Limit {
  int: boolean;
  min: number;
  max: number;
  /** min itself is not allowed (lr > 0). */
  minExclusive?: boolean;
}

/** The largest --ema decay (1 would never move). */
export const EMA_MAX = 0.999999;

const int = (min: number, max = Number.MAX_SAFE_INTEGER): Limit => ({ int: true, min, max });
const num = (min: number, max: number, minExclusive = false): Limit => ({ int: false, min, max, minExclusive });

/**
 * Every numeric TrainConfig field and its range. The CLI builds its flag parsers from this
 * table (a limit of 0 steps/epochs/time means "none" in a config; the flags ask for ≥ 1).
 */
export const TRAIN_LIMITS = {
  layers: int(1, 64), hidden: int(1, 8192), embed: int(1, 8192), batch: int(1, 4096), seq: int(1, 10000),
  lr: num(0, 10, true), clip: num(0, Infinity), warmup: int(0), decay: num(0, 1, true), decayEvery: int(1),
  dropout: num(0, 0.9), embedDropout: num(0, 0.9), recurrentDropout: num(0, 0.9), weightDecay: num(0, 10), ema: num(0, EMA_MAX), emaHalfLife: num(0, 1), steps: int(0), epochs: num(0, 1e6), timeMs: num(0, Number.MAX_SAFE_INTEGER), seed: int(0, 2 ** 32 - 1),
  valFrac: num(0, 0.5), evalEvery: int(0), evalWindows: int(0), patience: int(0),
} as const satisfies Record<string, Limit>;

/** Whether a value is within a limit. */
export function withinLimit(value: unknown, limit: Limit): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (limit.int && !Number.isSafeInteger(value)) return false;
  if (limit.minExclusive ? !(value > limit.min) : !(value >= limit.min)) return false;
  return value <= limit.max;
}

/** "a whole number from 1 to 64", "a number > 0 and ≤ 10". */
export function describeLimit(limit: Limit): string {
  const f = (x: number) => x.toLocaleString('en-US');
  if (limit.int) return `a whole number from ${f(limit.min)} to ${f(limit.max)}`;
  const hi = limit.max === Infinity ? '' : ` and ≤ ${f(limit.max)}`;
  return `a number ${limit.minExclusive ? '>' : '≥'} ${f(limit.min)}${hi}`;
}

/** Fields a checkpoint written before they existed lacks (read as 0, their neutral value). */
const OPTIONAL_IN_FILES = new Set(['evalWindows', 'timeMs', 'steps', 'epochs', 'patience', 'embedDropout', 'recurrentDropout', 'weightDecay', 'ema', 'emaHalfLife']);

/**
 * What is wrong with a TrainConfig read from a file (a damaged or hand-edited checkpoint),
 * or null: every numeric field in its TRAIN_LIMITS range, the cell, optimizer and schedule
 * known ones.
 */
export function trainConfigProblem(config: Record<string, unknown>, known: { cells: readonly string[]; optimizers: readonly string[]; schedules: readonly string[] }): string | null {
  for (const [key, limit] of Object.entries(TRAIN_LIMITS) as [string, Limit][]) {
    const value = config[key];
    if (value === undefined && OPTIONAL_IN_FILES.has(key)) continue;
    if (!withinLimit(value, limit)) return `${key} is ${JSON.stringify(value ?? null)}, not ${describeLimit(limit)}`;
  }
  const choices: [string, readonly string[]][] = [['cell', known.cells], ['optim', known.optimizers], ['schedule', known.schedules]];
  for (const [key, allowed] of choices) {
    if (!allowed.includes(config[key] as string)) return `${key} is ${JSON.stringify(config[key] ?? null)}, not one of ${allowed.join(', ')}`;
  }
  return null;
}
