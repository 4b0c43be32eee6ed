// The run state: everything that decides the next update of a training run, as one plain
// value. The trainer gives it (Trainer.state()) and takes it (Trainer.setState()); the
// in-memory copy it rolls back to on divergence and the checkpoint file (src/checkpoint
// /store.ts) both hold exactly this, so there is one way to save a run.
//
//   params     the network's flat parameter buffer (its ParamLayout, padding included)
//   moments    the optimizer's moment buffers by kind ('m', 'v'), same layout
//   progress   step, data cursor, both RNG streams, schedule position, lr scale, the loss
//              history and the best so far (TrainProgress)
//   task       the task's own state tensors by name (the LM's carried hidden state
//              state.h_l{k} [B,H], state.c_l{k}); empty for tasks with independent batches
//   average    the moving average of the weights, when the run keeps one (average.ts),
//              and which of the two the checkpoint presents as its model
//
// A run of 2N steps and a run stopped after N steps and resumed from this value for N
// more make bitwise the same updates.
import type { Metrics } from '../tasks/task.js';

export interface HistoryPoint {
  step: number;
  /** Mean training loss since the previous point (nats per predicted unit). */
  train: number;
  /** Validation loss (null without validation data). */
  val: number | null;
  /** All validation metrics of the task (absent in checkpoints written before tasks existed). */
  metrics?: Metrics | null;
  /** A run that averages its weights: the loss of each of the two (val is the better one's). */
  valTrained?: number | null;
  valAverage?: number | null;
}

/** Everything besides the tensors that a run needs to continue exactly where it stopped. */
export interface TrainProgress {
  step: number;
  /** Batches served (the task's data cursor). */
  cursor: number;
  rng: number[];
  /** State of the dropout mask stream. */
  dropoutRng: number[];
  optimizerSteps: number;
  history: HistoryPoint[];
  /** The best value of the task's primary metric so far (the training loss stands in without validation data). */
  bestVal: number | null;
  /** All metrics of the best evaluation (for tie-breaks and reports); absent in older checkpoints. */
  bestMetrics?: Metrics | null;
  bestStep: number;
  evalsSinceBest: number;
  elapsedMs: number;
  /** Steps the cosine schedule decays over when only --time bounds the run (0: not estimated yet). */
  scheduleTotal: number;
  /** Multiplier of the scheduled learning rate: 1, halved at every divergence rollback. */
  lrScale: number;
  rollbacks: number;
  /** Training loss summed over the steps since the last history point, and their count. */
  lossSum: number;
  lossCount: number;
  /** Updates folded into the average of the weights so far (absent in older checkpoints: 0). */
  averaged?: number;
}

/** The most evaluations a run's history holds; past it, older points are merged in pairs (boundHistory). */
export const MAX_HISTORY = 500;

/**
 * Keeps a history within `max` points, in place, so a checkpoint stays small however long
 * the run: while it is longer, the points between the first and the newest are merged in
 * pairs (the later one stays, with the step-weighted mean training loss of both). Only the
 * history decides what goes, so a resumed run thins exactly as an unbroken one, and the
 * chart of `rnn info` still spans the whole run, at half the resolution in its older part.
 */
export function boundHistory(history: HistoryPoint[], max = MAX_HISTORY): void {
  while (history.length > max && history.length > 3) {
    const first = history[0]!;
    const newest = history[history.length - 1]!;
    const kept: HistoryPoint[] = [first];
    let i = 1;
    for (; i + 1 < history.length - 1; i += 2) {
      const a = history[i]!;
      const b = history[i + 1]!;
      const from = kept[kept.length - 1]!.step;
      kept.push({ ...b, train: mergedTrain(a.train, a.step - from, b.train, b.step - a.step) });
    }
    if (i < history.length - 1) kept.push(history[i]!);
    kept.push(newest);
    history.length = 0;
    for (const point of kept) history.push(point);
  }
}

/** The mean training loss over two spans of steps (one without steps or a loss counts as nothing). */
function mergedTrain(a: number, stepsA: number, b: number, stepsB: number): number {
  const wa = Number.isFinite(a) ? Math.max(0, stepsA) : 0;
  const wb = Number.isFinite(b) ? Math.max(0, stepsB) : 0;
  if (wa + wb === 0) return Number.isFinite(b) ? b : a;
  return ((wa > 0 ? a * wa : 0) + (wb > 0 ? b * wb : 0)) / (wa + wb);
}

export interface RunState {
  params: Float32Array;
  moments: Record<string, Float32Array>;
  progress: TrainProgress;
  task: Record<string, Float32Array>;
  /** The average of the weights (src/train/average.ts), same layout as params; absent when the run keeps none. */
  average?: Float32Array | null;
  /**
   * Which of the two a checkpoint of this state presents as its model (what `rnn sample`
   * uses): the average when it scored better at the evaluation the state was saved after.
   */
  model?: 'trained' | 'average';
}

/** True when no value is NaN or ±∞ (v − v is 0 exactly for finite v). The one finite check of weights. */
export function allFinite(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v - v !== 0) return false;
  }
  return true;
}

/** True when the weights and the optimizer moments of a run state are all finite. */
export function stateIsFinite(s: { params: ArrayLike<number>; moments: Record<string, ArrayLike<number>>; average?: ArrayLike<number> | null }): boolean {
  return allFinite(s.params) && Object.values(s.moments).every(allFinite) && (!s.average || allFinite(s.average));
}

/** A deep copy (buffers copied, progress cloned). */
export function copyState(s: RunState): RunState {
  const copyAll = (r: Record<string, Float32Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.slice()]));
  return {
    params: s.params.slice(), moments: copyAll(s.moments), progress: structuredClone(s.progress), task: copyAll(s.task),
    ...(s.average ? { average: s.average.slice() } : {}), ...(s.model ? { model: s.model } : {}),
  };
}

/**
 * What is wrong with a TrainProgress read from a file (a damaged or hand-edited checkpoint),
 * or null. Counters are whole numbers ≥ 0, times and sums finite, the learning-rate scale
 * in (0, 1], rollbacks at most `maxRollbacks`, both RNG states four 32-bit words.
 */
export function progressProblem(p: Record<string, unknown>, maxRollbacks: number): string | null {
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  for (const key of ['step', 'cursor', 'optimizerSteps', 'bestStep', 'evalsSinceBest', 'scheduleTotal', 'lossCount']) {
    if (!count(p[key])) return `${key} is ${JSON.stringify(p[key] ?? null)}, not a whole number ≥ 0`;
  }
  if (p.averaged !== undefined && !count(p.averaged)) return `averaged is ${JSON.stringify(p.averaged)}, not a whole number ≥ 0`;
  if (!(typeof p.elapsedMs === 'number' && Number.isFinite(p.elapsedMs) && p.elapsedMs >= 0)) return `elapsedMs is ${JSON.stringify(p.elapsedMs ?? null)}, not a time ≥ 0`;
  if (!(typeof p.lossSum === 'number' && Number.isFinite(p.lossSum))) return `lossSum is ${JSON.stringify(p.lossSum ?? null)}, not a finite number`;
  if (!(typeof p.lrScale === 'number' && p.lrScale > 0 && p.lrScale <= 1)) return `lrScale is ${JSON.stringify(p.lrScale ?? null)}, not a number > 0 and ≤ 1`;
  if (!(count(p.rollbacks) && (p.rollbacks as number) <= maxRollbacks)) return `rollbacks is ${JSON.stringify(p.rollbacks ?? null)}, not a whole number from 0 to ${maxRollbacks}`;
  if (p.bestVal !== null && !(typeof p.bestVal === 'number' && Number.isFinite(p.bestVal))) return `bestVal is ${JSON.stringify(p.bestVal ?? null)}, not a finite number or null`;
  for (const key of ['rng', 'dropoutRng']) {
    const s = p[key];
    const words = Array.isArray(s) && s.length === 5 && s.slice(0, 4).every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
    if (!words) return `${key} is not a random generator state`;
  }
  if ((p.step as number) < (p.bestStep as number)) return `bestStep ${p.bestStep} is after step ${p.step}`;
  return null;
}
