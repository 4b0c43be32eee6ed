// The training loop, for any task: the task's step (forward, loss, backward of the next
// batch), global-norm clipping, an optimizer, a schedule, periodic evaluation, best/last
// checkpoints through a save hook, rollback on divergence, and stopping rules. It reports
// through events and never prints; it never asks which task it runs (src/tasks/task.ts).
//
// Exact resume: everything that decides the next update is the run state (state.ts):
// the weights, the optimizer moments, TrainProgress (step, data cursor, both RNG streams,
// lr scale, schedule total, the partial training-loss sum) and the task's own state
// tensors, and the average of the weights when the run keeps one (average.ts).
// Trainer.state() gives it and Trainer.setState() takes it; the rollback copy
// and the checkpoint file hold exactly that. A run of 2N steps and a run stopped after N
// steps and resumed for N more make bitwise the same updates.
import type { Kernels, Vec } from '../kernels/types.js';
import { clipGlobalNorm } from '../nn/clip.js';
import { DEFAULT_OPTIM, Optimizer } from '../nn/optim.js';
import { isBetter, type Metrics, type Network, type Task, type TaskSession } from '../tasks/task.js';
import { NonFiniteOutputError, TrainingError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { averageDecay, averages, foldIntoAverage, swapContents } from './average.js';
import { MAX_ROLLBACKS, MIN_LR_FRAC, type TrainConfig } from './config.js';
import { EVAL_SHARE, evalDue, learningRate } from './schedule.js';
import { boundHistory, stateIsFinite, type RunState, type TrainProgress } from './state.js';

export type { TrainConfig } from './config.js';
export { MAX_ROLLBACKS, MIN_LR_FRAC } from './config.js';

/**
 * A validation loss this far above the best one so far (nats, relative and absolute) is a
 * blow-up, not overfitting: a 2×384 GRU at its sized rate on the JavaScript corpus went from
 * 1.42 to 1.98 between two evaluations and never came back (2.31 at the end of 15 minutes),
 * where overfitting moved PyTorch's plain recipe on tinyshakespeare by 0.12 in 9 minutes.
 */
export const BLOWUP_MARGIN = { relative: 0.25, absolute: 0.1 } as const;
/**
 * A smaller rise is a blow-up too when the training loss rose with it (overfitting lowers
 * the training loss while the validation loss climbs): on tinyshakespeare a 2×384 GRU went
 * from its best, 1.536 at a training loss of 1.509, to 1.772 at a training loss of 1.750,
 * under BLOWUP_MARGIN's 2.020, and rolled back only an evaluation later, from a state
 * already blown up (README, How far the defaults get: the Intel Xeon's runs).
 */
export const BLOWUP_WITH_TRAIN_MARGIN = { relative: 0.1, absolute: 0.05, train: 0.1 } as const;

/**
 * True when validation loss `val` is a blow-up against the best loss so far: far above it,
 * or above it by BLOWUP_WITH_TRAIN_MARGIN while the mean training loss since the last
 * evaluation (`train`) is a tenth above the one at the best evaluation (`trainAtBest`).
 */
export function blownUp(val: number, best: number, train = Number.NaN, trainAtBest = Number.NaN): boolean {
  if (val > best + BLOWUP_MARGIN.relative * best + BLOWUP_MARGIN.absolute) return true;
  const m = BLOWUP_WITH_TRAIN_MARGIN;
  return val > best + m.relative * best + m.absolute && train > trainAtBest + m.train * trainAtBest;
}
export type { HistoryPoint, RunState, TrainProgress } from './state.js';

export type StopReason = 'steps' | 'epochs' | 'time' | 'patience' | 'interrupted';

export type TrainEvent =
  | {
    type: 'start'; task: string; step: number; totalSteps: number; timeMs: number; parameters: number; vocab: number;
    unit: string; train: number; val: number; valScored: number;
    trainChars: number; valChars: number; valCharsScored: number; windowsPerEpoch: number;
  }
  | { type: 'step'; step: number; loss: number; bpc: number | null; gradNorm: number; lr: number; epoch: number; charsPerSec: number; elapsedMs: number }
  | {
    type: 'eval'; step: number; train: number; trainBpc: number | null; val: number | null; valBpc: number | null;
    /** All validation metrics of the task (null without validation data), of the weights that scored better. */
    metrics: Metrics | null; best: boolean; bestVal: number | null; elapsedMs: number;
    /** Which weights val and metrics are of: the trained ones, or their average (a run that keeps one). */
    weights: 'trained' | 'average';
    /** A run that averages its weights: the validation loss of each (null otherwise). */
    valTrained: number | null; valAverage: number | null;
  }
  | { type: 'checkpoint'; step: number; kind: 'best' | 'last'; path: string; val: number | null }
  | {
    type: 'rollback'; step: number; to: number; loss: number; gradNorm: number; lrScale: number; rollbacks: number;
    /** nonfinite: a NaN or ∞ loss, gradient or weight; blowup: a finite validation loss far above the best (BLOWUP_MARGIN) */
    cause: 'nonfinite' | 'blowup';
  }
  | { type: 'end'; step: number; reason: StopReason; bestVal: number | null; bestBpc: number | null; bestStep: number; bestMetrics: Metrics | null; elapsedMs: number };

export interface TrainHooks {
  onEvent(e: TrainEvent): void;
  /** Persists a run state (a copy the hook may keep); returns where it went. */
  save(state: RunState, kind: 'best' | 'last'): Promise<string>;
  /** Polled between steps; true ends the run after the current step (with a save). */
  stopRequested(): boolean;
  /** Monotonic milliseconds (injectable for tests). */
  now?(): number;
}

const bits = (nats: number) => nats / Math.LN2;
/** Bits per character, for tasks whose loss is per character (null for the others). */
const perChar = (session: TaskSession, nats: number | null) => (session.size.unit === 'chars' && nats !== null ? bits(nats) : null);

/** Without validation data, the training loss decides "best". */
const TRAIN_LOSS_RULE = { primary: { name: 'loss', direction: 'min' }, tieBreak: null } as const;

export class Trainer {
  readonly task: Task;
  readonly net: Network;
  readonly optimizer: Optimizer;
  readonly rng: Rng;
  /** The dropout mask stream, separate from `rng` so dropout does not disturb other draws. */
  readonly dropoutRng: Rng;
  progress: TrainProgress;
  /** The moving average of the weights (average.ts), null when the run keeps none. Same layout as net.params. */
  readonly average: Vec | null;
  private snapshot: RunState | null = null;

  /** Builds the optimizer and initialises the session's network from config.seed (setState() replaces both for a resume). */
  constructor(readonly k: Kernels, readonly session: TaskSession, readonly config: TrainConfig) {
    this.task = session.task;
    this.net = session.net;
    this.rng = new Rng(config.seed);
    this.dropoutRng = new Rng((config.seed ^ 0x5bd1e995) >>> 0);
    this.net.init(this.rng);
    this.optimizer = new Optimizer(k, { ...DEFAULT_OPTIM[config.optim], weightDecay: config.weightDecay ?? 0 }, this.net.layout.size, this.net.arena);
    this.progress = {
      step: 0, cursor: 0, rng: this.rng.getState(), dropoutRng: this.dropoutRng.getState(), optimizerSteps: 0,
      history: [], bestVal: null, bestMetrics: null, bestStep: 0, evalsSinceBest: 0, elapsedMs: 0, scheduleTotal: 0, lrScale: 1,
      rollbacks: 0, lossSum: 0, lossCount: 0, averaged: 0,
    };
    // the average starts at the initial weights (its warm-up forgets them within tens of steps)
    this.average = averages(config) ? this.net.params.slice() : null;
  }

  /** The network (an alias of net, as the language model's code calls it). */
  get model(): Network {
    return this.net;
  }

  /** Passes over the training data so far, fractional. */
  get epochsDone(): number {
    return this.session.cursor / this.session.stepsPerEpoch;
  }

  /** Planned number of steps, from --steps or --epochs; 0 if only time-bounded (or unbounded). */
  get totalSteps(): number {
    const { steps, epochs } = this.config;
    const byEpochs = epochs > 0 ? Math.ceil(epochs * this.session.stepsPerEpoch) : 0;
    if (steps > 0 && byEpochs > 0) return Math.min(steps, byEpochs);
    return steps > 0 ? steps : byEpochs;
  }

  /**
   * Warm-up steps of the cosine schedule: --warmup, or the first tenth of a run planned
   * to be shorter than ten warm-ups. (A time-bounded run also ends its warm-up by
   * WARMUP_FRAC of its budget: see schedule.ts.)
   */
  get warmupSteps(): number {
    const planned = this.totalSteps;
    return planned > 0 ? Math.min(this.config.warmup, Math.ceil(planned / 10)) : this.config.warmup;
  }

  /** The share of the time budget used, elapsed / --time (null without a time budget). */
  get timeFraction(): number | null {
    return this.config.timeMs > 0 ? this.progress.elapsedMs / this.config.timeMs : null;
  }

  /** The run state: copies of the weights, moments, progress and the task's state tensors. */
  state(): RunState {
    this.syncProgress();
    const f32 = (v: Vec) => new Float32Array(v);
    return {
      params: f32(this.net.params),
      moments: Object.fromEntries([...this.optimizer.moments].map(([kind, v]) => [kind, f32(v)])),
      progress: structuredClone(this.progress),
      task: this.session.getState(),
      ...(this.average ? { average: f32(this.average) } : {}),
    };
  }

  /**
   * Puts a run state back: weights, moments, the task's tensors, progress, data cursor and
   * both RNG streams. Fields of `progress` that older checkpoints lack keep their neutral
   * values. The caller has checked the shapes (decodeCheckpoint does).
   */
  setState(s: RunState): void {
    this.net.params.set(s.params);
    for (const [kind, v] of this.optimizer.moments) {
      const saved = s.moments[kind];
      if (!saved) throw new TrainingError(`the saved run has no optimizer moments "${kind}"; it cannot be resumed exactly`);
      v.set(saved);
    }
    this.session.setState(s.task);
    this.progress = { ...this.progress, ...structuredClone(s.progress) };
    if (this.average) {
      // a state without an average (a fine-tune of an older file) starts it at its weights
      if (s.average) this.average.set(s.average);
      else {
        this.average.set(s.params);
        this.progress.averaged = 0;
      }
    }
    this.session.cursor = this.progress.cursor;
    this.rng.setState(this.progress.rng);
    this.dropoutRng.setState(this.progress.dropoutRng);
    this.optimizer.t = this.progress.optimizerSteps;
  }

  /** Starts the average of the weights afresh at the weights (a fine-tune: the old text's average does not apply). */
  restartAverage(): void {
    if (!this.average) return;
    this.average.set(this.net.params);
    this.progress.averaged = 0;
  }

  private syncProgress(): void {
    this.progress.cursor = this.session.cursor;
    this.progress.rng = this.rng.getState();
    this.progress.dropoutRng = this.dropoutRng.getState();
    this.progress.optimizerSteps = this.optimizer.t;
  }

  /** The learning rate of the update that ends step `step` (0-based), rollbacks' halvings included. */
  learningRate(step = this.progress.step): number {
    const c = this.config;
    const lr = learningRate(
      { name: c.schedule, lr: c.lr, warmup: this.warmupSteps, total: this.totalSteps, minFrac: MIN_LR_FRAC, gamma: c.decay, every: c.decayEvery },
      step,
      this.timeFraction,
    );
    return lr * this.progress.lrScale;
  }

  /**
   * One optimizer step on the next batch. A loss or gradient that is not finite leaves
   * the parameters untouched and returns ok: false (the data cursor has moved on; the
   * caller rolls back).
   */
  tryStep(): { ok: true; loss: number; gradNorm: number; lr: number; chars: number } | { ok: false; loss: number; gradNorm: number } {
    const { net, config } = this;
    net.grads.fill(0);
    const { loss, chars } = this.session.trainStep(this.dropoutRng);
    const gradNorm = clipGlobalNorm(this.k, net.grads, config.clip);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { ok: false, loss, gradNorm };
    const lr = this.learningRate();
    this.optimizer.step(net.params, net.grads, lr);
    this.session.commit();
    const p = this.progress;
    p.step++;
    if (this.average) {
      foldIntoAverage(this.average, net.params, averageDecay(config, p.averaged ?? 0, this.plannedSteps()));
      p.averaged = (p.averaged ?? 0) + 1;
    }
    p.lossSum += loss;
    p.lossCount++;
    this.syncProgress();
    return { ok: true, loss, gradNorm, lr, chars };
  }

  /** One optimizer step; returns the loss and the gradient norm before clipping. */
  step(): { loss: number; gradNorm: number; lr: number } {
    const r = this.tryStep();
    if (!r.ok) {
      throw new TrainingError(
        `training diverged at step ${this.progress.step + 1} (loss ${r.loss}, gradient norm ${r.gradNorm}); ` +
          'lower --lr or --clip and resume from the last checkpoint',
      );
    }
    return r;
  }

  /**
   * Steps the run is planned for, S of average.ts: the planned steps, or for a run bounded by
   * the clock the steps done over the share of the budget used (the smaller when both).
   */
  plannedSteps(): number {
    const total = this.totalSteps;
    const share = this.timeFraction;
    const byClock = share !== null && share > 0 ? this.progress.step / share : Infinity;
    return total > 0 ? Math.min(total, byClock) : byClock;
  }

  /** The task's validation metrics of the trained weights, or null without validation data. */
  evaluate(): Metrics | null {
    return this.session.evaluate();
  }

  /** The validation metrics of the average of the weights (null without an average or validation data). */
  evaluateAverage(): Metrics | null {
    const { average } = this;
    if (!average) return null;
    // scored in the network's own buffer: the average goes in, the trained weights come back
    swapContents(average, this.net.params);
    try {
      return this.session.evaluate();
    } finally {
      swapContents(average, this.net.params);
    }
  }

  /** True when every parameter, optimizer moment and average weight is finite (checked before every save). */
  isFinite(): boolean {
    return stateIsFinite({ params: this.net.params, moments: Object.fromEntries(this.optimizer.moments), average: this.average });
  }

  async run(hooks: TrainHooks): Promise<StopReason> {
    const now = hooks.now ?? (() => performance.now());
    const { config, session, task } = this;
    const p0 = this.progress;
    const total = this.totalSteps;
    const timeOnly = total === 0 && config.timeMs > 0;
    const t0 = now() - p0.elapsedMs; // the budget counts the whole run, earlier sessions included
    // the session's throughput, for chars/s
    const sessionT0 = now();
    let rateT = sessionT0;
    let rateChars = 0;
    let lastYield = sessionT0;
    let savedAt = -1;
    let reason: StopReason | null = null;
    const elapsed = () => now() - t0;

    if (!this.isFinite()) throw new TrainingError('the starting weights are not finite; resume from an earlier checkpoint');
    this.snapshot = this.state();
    const size = session.size;
    hooks.onEvent({
      type: 'start', task: task.name, step: p0.step, totalSteps: total, timeMs: config.timeMs, parameters: this.net.parameterCount,
      vocab: size.vocab, unit: size.unit, train: size.train, val: size.val,
      valScored: size.valScored, trainChars: size.trainChars, valChars: size.unit === 'chars' ? size.val : 0,
      valCharsScored: size.unit === 'chars' ? size.valScored : 0, windowsPerEpoch: session.stepsPerEpoch,
    });

    // a time-only run with evalTimes validates by the clock (schedule.ts: evalDue)
    const byClock = timeOnly && (config.evalTimes ?? 0) > 0;
    let evalEndedAt = now();
    let lastEvalMs = 0;

    /** Restores the last saved state with half the learning rate (the caller checked the count). */
    const rollBack = (failedAt: number, loss: number, gradNorm: number, cause: 'nonfinite' | 'blowup'): void => {
      const p = this.progress;
      const rollbacks = p.rollbacks + 1;
      const lrScale = p.lrScale / 2;
      this.setState(this.snapshot!);
      this.progress.rollbacks = rollbacks;
      this.progress.lrScale = lrScale;
      // the snapshot's own copy carries the new scale, so a second rollback halves again
      this.snapshot!.progress.rollbacks = rollbacks;
      this.snapshot!.progress.lrScale = lrScale;
      hooks.onEvent({ type: 'rollback', step: failedAt, to: this.progress.step, loss, gradNorm, lrScale, rollbacks, cause });
    };

    /** Rolls back after step `failedAt` turned out not finite, or throws when that has happened too often. */
    const diverged = (failedAt: number, loss: number, gradNorm: number): void => {
      if (this.progress.rollbacks + 1 > MAX_ROLLBACKS) {
        throw new TrainingError(
          `training diverged at step ${failedAt} (loss ${loss}, gradient norm ${gradNorm}) again after ${MAX_ROLLBACKS} rollbacks ` +
            `with halved learning rates; the last checkpoint (step ${this.snapshot!.progress.step}) is intact: ` +
            'resume it with a lower --lr or --clip, or start again with a smaller model',
        );
      }
      rollBack(failedAt, loss, gradNorm, 'nonfinite');
    };

    const save = async (kind: 'best' | 'last', state: RunState): Promise<void> => {
      const p = state.progress;
      const last = p.history.at(-1);
      const val = last && last.step === p.step ? last.val : null;
      hooks.onEvent({ type: 'checkpoint', step: p.step, kind, path: await hooks.save(state, kind), val });
    };

    /** Validates, records history, saves best and last; false when the model turned out to have diverged. */
    const doEval = async (): Promise<boolean> => {
      const p = this.progress;
      let trained: Metrics | null;
      let average: Metrics | null = null;
      try {
        trained = this.evaluate();
        if (trained) average = this.evaluateAverage();
      } catch (e) {
        // a task whose evaluation refuses non-finite outputs: the model diverged
        if (!(e instanceof NonFiniteOutputError)) throw e;
        diverged(p.step, Number.NaN, Number.NaN);
        return false;
      }
      const finite = (m: Metrics | null) => m === null || Object.values(m).every(Number.isFinite);
      if (!this.isFinite() || !finite(trained) || !finite(average)) {
        diverged(p.step, trained?.loss ?? Number.NaN, Number.NaN);
        return false;
      }
      // the better of the two weights is what this evaluation reports and its checkpoints hold
      const useAverage = average !== null && trained !== null && isBetter(task, average, trained);
      const metrics = useAverage ? average : trained;
      const val = metrics ? (metrics.loss ?? null) : null;
      const valTrained = average ? (trained?.loss ?? null) : null;
      const valAverage = average ? (average.loss ?? null) : null;
      // a blow-up: finite, but far above the best validation loss so far (a rate too high for
      // this model, late in a run): the same rollback as for a NaN while any are left, after
      // which the run goes on (its best checkpoint is on disk either way)
      const bestLoss = p.bestMetrics?.loss ?? null;
      const trainLoss = p.lossCount > 0 ? p.lossSum / p.lossCount : Number.NaN;
      const trainAtBest = p.history.find((h) => h.step === p.bestStep)?.train ?? Number.NaN;
      if (val !== null && bestLoss !== null && blownUp(val, bestLoss, trainLoss, trainAtBest) && p.rollbacks < MAX_ROLLBACKS) {
        rollBack(p.step, val, Number.NaN, 'blowup');
        return false;
      }
      p.lossSum = 0;
      p.lossCount = 0;
      p.history.push({ step: p.step, train: trainLoss, val, metrics, ...(average ? { valTrained, valAverage } : {}) });
      boundHistory(p.history);
      // without validation data, the training loss stands in for "best"
      const scored: Metrics = metrics ?? { loss: trainLoss };
      const rule = metrics ? task : TRAIN_LOSS_RULE;
      const previous = p.bestVal === null ? null : (p.bestMetrics ?? { [rule.primary.name]: p.bestVal });
      const best = isBetter(rule, scored, previous);
      if (best) {
        p.bestVal = scored[rule.primary.name] ?? null;
        p.bestMetrics = scored;
        p.bestStep = p.step;
        p.evalsSinceBest = 0;
      } else {
        p.evalsSinceBest++;
      }
      p.elapsedMs = elapsed();
      hooks.onEvent({
        type: 'eval', step: p.step, train: trainLoss, trainBpc: perChar(session, trainLoss), val, valBpc: perChar(session, val),
        metrics, best, bestVal: p.bestVal, elapsedMs: p.elapsedMs, weights: useAverage ? 'average' : 'trained', valTrained, valAverage,
      });
      const state = this.state();
      if (useAverage) state.model = 'average';
      if (best) await save('best', state);
      await save('last', state);
      savedAt = p.step;
      this.snapshot = state;
      return true;
    };

    while (reason === null) {
      if (hooks.stopRequested()) {
        reason = 'interrupted';
        break;
      }
      const r = this.tryStep();
      if (!r.ok) {
        diverged(this.progress.step + 1, r.loss, r.gradNorm);
        continue;
      }
      rateChars += r.chars;
      const t = now();
      const p = this.progress;
      p.elapsedMs = t - t0;
      const charsPerSec = (rateChars * 1000) / Math.max(1e-3, t - rateT);
      if (t - rateT > 5000) {
        rateT = t;
        rateChars = 0;
      }
      hooks.onEvent({
        type: 'step', step: p.step, loss: r.loss, bpc: perChar(session, r.loss), gradNorm: r.gradNorm, lr: r.lr,
        epoch: this.epochsDone, charsPerSec, elapsedMs: p.elapsedMs,
      });
      if (total > 0 && p.step >= total) reason = config.epochs > 0 && this.epochsDone >= config.epochs ? 'epochs' : 'steps';
      else if (config.timeMs > 0 && p.elapsedMs >= config.timeMs) reason = 'time';
      const due = byClock
        ? evalDue(t - evalEndedAt, config.timeMs, config.evalTimes!, lastEvalMs, EVAL_SHARE)
        : config.evalEvery > 0 && p.step % config.evalEvery === 0;
      if (reason === null && due) {
        const evalStart = now();
        const ok = await doEval();
        evalEndedAt = now();
        lastEvalMs = evalEndedAt - evalStart;
        if (ok && config.patience > 0 && p.evalsSinceBest >= config.patience) reason = 'patience';
      }
      if (reason !== null && reason !== 'patience' && p.lossCount > 0) {
        // the run ends here: a last evaluation (if it finds divergence, training goes on from the rollback)
        if (!(await doEval())) reason = null;
      }
      if (now() - lastYield > 50) {
        // let signals, timers and output through
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = now();
      }
    }
    const p = this.progress;
    // interrupted: save where we are without an evaluation, so the resumed run's
    // history and early-stopping count continue exactly as if it had not stopped
    if (savedAt !== p.step) {
      if (!this.isFinite()) throw new TrainingError(`the weights are not finite at step ${p.step}; not saving them. The last checkpoint is intact`);
      await save('last', this.state());
    }
    const bestLoss = p.bestMetrics?.loss ?? (task.primary.name === 'loss' ? p.bestVal : null);
    hooks.onEvent({
      type: 'end', step: p.step, reason, bestVal: p.bestVal, bestBpc: perChar(session, bestLoss),
      bestStep: p.bestStep, bestMetrics: p.bestMetrics ?? null, elapsedMs: elapsed(),
    });
    return reason;
  }
}
