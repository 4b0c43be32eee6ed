// The training loop: truncated BPTT over windows of T with the state carried, dropout,
// global-norm clipping, an optimizer, a schedule, periodic validation, best/last
// checkpoints through a save hook, rollback on divergence, and stopping rules. It reports
// through events and never prints.
//
// Exact resume: everything that decides the next update lives in the model, the
// optimizer moments, the carried state and TrainProgress (step, data cursor, both RNG
// streams, lr scale, schedule total, the partial training-loss sum), and all of it goes
// into a checkpoint. A run of 2N steps and a run stopped after N steps and resumed for N
// more make bitwise the same updates.
import type { Kernels, Vec } from '../kernels/types.js';
import { clipGlobalNorm } from '../nn/clip.js';
import type { CellKind } from '../nn/layer.js';
import { Model, type ModelConfig, type Workspace } from '../nn/model.js';
import { DEFAULT_OPTIM, Optimizer, type OptimName } from '../nn/optim.js';
import { Batcher, splitTrainVal } from '../text/batches.js';
import type { Vocab } from '../text/vocab.js';
import { TrainingError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { Evaluator, evalPlan } from './evaluate.js';
import { estimateTotalSteps, learningRate, type ScheduleName } from './schedule.js';

export interface TrainConfig {
  cell: CellKind;
  layers: number;
  hidden: number;
  embed: number;
  batch: number;
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
  /** Stop after this many passes over the training text (0: no limit). */
  epochs: number;
  /** Stop after this much wall-clock time in ms, counted over the whole run including resumed sessions (0: no limit). */
  timeMs: number;
  seed: number;
  valFrac: number;
  /** Validate every this many steps (0: only at the end). */
  evalEvery: number;
  /** Windows of validation text scored per evaluation (0: all of it). */
  evalWindows: number;
  /** Stop after this many evaluations without improvement (0: never). */
  patience: number;
}

/** The cosine schedule's floor, as a fraction of --lr. */
export const MIN_LR_FRAC = 0.1;
/** Divergence rollbacks allowed per run before training stops. */
export const MAX_ROLLBACKS = 3;

export interface HistoryPoint {
  step: number;
  /** Mean training loss since the previous point, nats/char. */
  train: number;
  /** Validation loss, nats/char (null without validation text). */
  val: number | null;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainProgress {
  step: number;
  cursor: number;
  rng: number[];
  /** State of the dropout mask stream. */
  dropoutRng: number[];
  optimizerSteps: number;
  history: HistoryPoint[];
  /** Lowest validation loss so far (the training loss stands in without validation text). */
  bestVal: number | null;
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
}

export type StopReason = 'steps' | 'epochs' | 'time' | 'patience' | 'interrupted';

export type TrainEvent =
  | {
    type: 'start'; step: number; totalSteps: number; timeMs: number; parameters: number; vocab: number;
    trainChars: number; valChars: number; valCharsScored: number; windowsPerEpoch: number;
  }
  | { type: 'step'; step: number; loss: number; bpc: number; gradNorm: number; lr: number; epoch: number; charsPerSec: number; elapsedMs: number }
  | { type: 'eval'; step: number; train: number; trainBpc: number; val: number | null; valBpc: number | null; best: boolean; bestVal: number | null; elapsedMs: number }
  | { type: 'checkpoint'; step: number; kind: 'best' | 'last'; path: string; val: number | null }
  | { type: 'rollback'; step: number; to: number; loss: number; gradNorm: number; lrScale: number; rollbacks: number }
  | { type: 'end'; step: number; reason: StopReason; bestVal: number | null; bestBpc: number | null; bestStep: number; elapsedMs: number };

export interface TrainHooks {
  onEvent(e: TrainEvent): void;
  /** Persists the trainer's current state; returns where it went. */
  save(trainer: Trainer, kind: 'best' | 'last'): Promise<string>;
  /** Polled between steps; true ends the run after the current step (with a save). */
  stopRequested(): boolean;
  /** Monotonic milliseconds (injectable for tests). */
  now?(): number;
}

/** Carried state of the training rows, for exact resume: per layer h (and c). */
export interface CarriedState {
  h: Vec[];
  c: (Vec | null)[];
}

/** An in-memory copy of the last saved state, restored when training diverges. */
interface Snapshot {
  params: Vec;
  moments: Map<string, Vec>;
  h: Vec[];
  c: (Vec | null)[];
  progress: TrainProgress;
}

const bits = (nats: number) => nats / Math.LN2;

export class Trainer {
  readonly model: Model;
  readonly optimizer: Optimizer;
  readonly rng: Rng;
  /** The dropout mask stream, separate from `rng` so dropout does not disturb other draws. */
  readonly dropoutRng: Rng;
  readonly batcher: Batcher;
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly ws: Workspace;
  readonly evaluator: Evaluator;
  progress: TrainProgress;
  private snapshot: Snapshot | null = null;

  constructor(
    readonly k: Kernels,
    readonly vocab: Vocab,
    ids: Int32Array,
    readonly config: TrainConfig,
    model?: Model,
  ) {
    const { train, val } = splitTrainVal(ids, config.valFrac);
    this.train = train;
    this.val = val;
    this.batcher = new Batcher(train, config.batch, config.seq);
    this.rng = new Rng(config.seed);
    this.dropoutRng = new Rng((config.seed ^ 0x5bd1e995) >>> 0);
    const modelConfig: ModelConfig = {
      cell: config.cell, vocab: vocab.size, embed: config.embed, hidden: config.hidden, layers: config.layers,
    };
    if (model) {
      this.model = model;
    } else {
      this.model = new Model(k, modelConfig);
      this.model.init(this.rng);
    }
    this.optimizer = new Optimizer(k, DEFAULT_OPTIM[config.optim], this.model.layout.size, this.model.arena);
    this.ws = this.model.workspace(config.batch, config.seq, true, config.dropout ?? 0);
    this.evaluator = new Evaluator(this.model);
    this.progress = {
      step: 0, cursor: 0, rng: this.rng.getState(), dropoutRng: this.dropoutRng.getState(), optimizerSteps: 0,
      history: [], bestVal: null, bestStep: 0, evalsSinceBest: 0, elapsedMs: 0, scheduleTotal: 0, lrScale: 1,
      rollbacks: 0, lossSum: 0, lossCount: 0,
    };
  }

  /** Planned number of steps, from --steps or --epochs; 0 if only time-bounded (or unbounded). */
  get totalSteps(): number {
    const { steps, epochs } = this.config;
    const byEpochs = epochs > 0 ? Math.ceil(epochs * this.batcher.windowsPerEpoch) : 0;
    if (steps > 0 && byEpochs > 0) return Math.min(steps, byEpochs);
    return steps > 0 ? steps : byEpochs;
  }

  /**
   * Warm-up steps of the cosine schedule: --warmup, or the first tenth of a run planned
   * (or, with only --time, estimated) to be shorter than ten warm-ups.
   */
  get warmupSteps(): number {
    const planned = this.totalSteps > 0 ? this.totalSteps : this.progress.scheduleTotal;
    return planned > 0 ? Math.min(this.config.warmup, Math.ceil(planned / 10)) : this.config.warmup;
  }

  /** Validation characters scored per evaluation. */
  get valCharsScored(): number {
    return evalPlan(this.val.length, this.config.batch, this.config.seq, this.config.evalWindows)?.chars ?? 0;
  }

  /** The carried state of the training rows. */
  carried(): CarriedState {
    const L = this.model.config.layers;
    const states = Array.from({ length: L }, (_, l) => this.ws.state(l));
    return { h: states.map((s) => s.h), c: states.map((s) => s.c) };
  }

  /** Restores progress saved by a previous run (weights and moments are loaded by the caller). */
  restore(progress: Partial<TrainProgress> & Pick<TrainProgress, 'step' | 'cursor' | 'rng'>): void {
    // checkpoints written before a field existed get its neutral value
    this.progress = { ...this.progress, ...structuredClone(progress) };
    this.batcher.cursor = this.progress.cursor;
    this.rng.setState(this.progress.rng);
    this.dropoutRng.setState(this.progress.dropoutRng);
    this.optimizer.t = this.progress.optimizerSteps;
  }

  private syncProgress(): void {
    this.progress.cursor = this.batcher.cursor;
    this.progress.rng = this.rng.getState();
    this.progress.dropoutRng = this.dropoutRng.getState();
    this.progress.optimizerSteps = this.optimizer.t;
  }

  /** The learning rate of the update that ends step `step` (0-based), rollbacks' halvings included. */
  learningRate(step = this.progress.step): number {
    const c = this.config;
    const known = this.totalSteps;
    const total = known > 0 ? known : this.progress.scheduleTotal;
    const lr = learningRate(
      { name: c.schedule, lr: c.lr, warmup: this.warmupSteps, total, minFrac: MIN_LR_FRAC, gamma: c.decay, every: c.decayEvery },
      step,
    );
    return lr * this.progress.lrScale;
  }

  /**
   * One optimizer step on the next window. A loss or gradient that is not finite leaves
   * the parameters untouched and returns ok: false (the data cursor has moved on; the
   * caller rolls back).
   */
  tryStep(): { ok: true; loss: number; gradNorm: number; lr: number } | { ok: false; loss: number; gradNorm: number } {
    const { ws, model, config } = this;
    if (this.batcher.next(ws.ids, ws.targets)) ws.resetState();
    if (config.dropout > 0) ws.drawDropout(this.dropoutRng);
    model.grads.fill(0);
    ws.forward();
    const loss = ws.loss();
    ws.backward();
    const gradNorm = clipGlobalNorm(this.k, model.grads, config.clip);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { ok: false, loss, gradNorm };
    const lr = this.learningRate();
    this.optimizer.step(model.params, model.grads, lr);
    ws.carry();
    const p = this.progress;
    p.step++;
    p.lossSum += loss;
    p.lossCount++;
    this.syncProgress();
    return { ok: true, loss, gradNorm, lr };
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

  /** Validation loss in nats/char, or null without validation text. */
  evaluate(): number | null {
    const r = this.evaluator.run(this.val, this.config.batch, this.config.seq, this.config.evalWindows);
    return r ? r.nats : null;
  }

  /** True when every parameter and optimizer moment is finite (checked before every save). */
  isFinite(): boolean {
    const finite = (v: Vec) => Number.isFinite(this.k.sumSquares(v.length, v));
    return finite(this.model.params) && [...this.optimizer.moments.values()].every(finite);
  }

  /** Remembers the current state as the one to roll back to. */
  takeSnapshot(): void {
    const { h, c } = this.carried();
    this.snapshot = {
      params: this.model.params.slice(),
      moments: new Map([...this.optimizer.moments].map(([name, v]) => [name, v.slice()])),
      h: h.map((v) => v.slice()),
      c: c.map((v) => v?.slice() ?? null),
      progress: structuredClone(this.progress),
    };
  }

  /** Puts back the state of the last snapshot. */
  private restoreSnapshot(): void {
    const s = this.snapshot;
    if (!s) throw new Error('no snapshot to roll back to');
    this.model.params.set(s.params);
    for (const [name, v] of s.moments) this.optimizer.moments.get(name)!.set(v);
    const { h, c } = this.carried();
    h.forEach((v, l) => v.set(s.h[l]));
    c.forEach((v, l) => v?.set(s.c[l]!));
    this.restore(s.progress);
  }

  async run(hooks: TrainHooks): Promise<StopReason> {
    const now = hooks.now ?? (() => performance.now());
    const { config } = this;
    const p0 = this.progress;
    const total = this.totalSteps;
    const timeOnly = total === 0 && config.timeMs > 0;
    const charsPerStep = config.batch * config.seq;
    const t0 = now() - p0.elapsedMs; // the budget counts the whole run, earlier sessions included
    // the session's step rate, for chars/s and for the time-only schedule estimate
    const sessionT0 = now();
    let sessionSteps = 0;
    let rateT = sessionT0;
    let rateSteps = 0;
    let lastYield = sessionT0;
    let savedAt = -1;
    let reason: StopReason | null = null;
    const elapsed = () => now() - t0;

    if (!this.isFinite()) throw new TrainingError('the starting weights are not finite; resume from an earlier checkpoint');
    this.takeSnapshot();
    hooks.onEvent({
      type: 'start', step: p0.step, totalSteps: total, timeMs: config.timeMs, parameters: this.model.parameterCount,
      vocab: this.vocab.size, trainChars: this.train.length, valChars: this.val.length,
      valCharsScored: this.valCharsScored, windowsPerEpoch: this.batcher.windowsPerEpoch,
    });

    const estimate = () => {
      if (!timeOnly) return;
      const e = estimateTotalSteps(this.progress.step, elapsed(), config.timeMs, sessionSteps, now() - sessionT0);
      if (e > 0) this.progress.scheduleTotal = e;
    };

    /** Rolls back after step `failedAt` turned out not finite, or throws when that has happened too often. */
    const diverged = (failedAt: number, loss: number, gradNorm: number): void => {
      const p = this.progress;
      const rollbacks = p.rollbacks + 1;
      if (rollbacks > MAX_ROLLBACKS) {
        throw new TrainingError(
          `training diverged at step ${failedAt} (loss ${loss}, gradient norm ${gradNorm}) again after ${MAX_ROLLBACKS} rollbacks ` +
            `with halved learning rates; the last checkpoint (step ${this.snapshot!.progress.step}) is intact: ` +
            'resume it with a lower --lr or --clip, or start again with a smaller model',
        );
      }
      const lrScale = p.lrScale / 2;
      this.restoreSnapshot();
      this.progress.rollbacks = rollbacks;
      this.progress.lrScale = lrScale;
      // the snapshot's own copy carries the new scale, so a second rollback halves again
      this.snapshot!.progress.rollbacks = rollbacks;
      this.snapshot!.progress.lrScale = lrScale;
      hooks.onEvent({ type: 'rollback', step: failedAt, to: this.progress.step, loss, gradNorm, lrScale, rollbacks });
    };

    const save = async (kind: 'best' | 'last'): Promise<void> => {
      const p = this.progress;
      const val = p.history.length > 0 && p.history[p.history.length - 1].step === p.step ? p.history[p.history.length - 1].val : null;
      hooks.onEvent({ type: 'checkpoint', step: p.step, kind, path: await hooks.save(this, kind), val });
    };

    /** Validates, records history, saves best and last; false when the model turned out to have diverged. */
    const doEval = async (): Promise<boolean> => {
      const p = this.progress;
      const val = this.evaluate();
      if (!this.isFinite() || (val !== null && !Number.isFinite(val))) {
        diverged(p.step, val ?? Number.NaN, Number.NaN);
        return false;
      }
      const trainLoss = p.lossCount > 0 ? p.lossSum / p.lossCount : Number.NaN;
      p.lossSum = 0;
      p.lossCount = 0;
      p.history.push({ step: p.step, train: trainLoss, val });
      // without validation text, the training loss stands in for "best"
      const score = val ?? trainLoss;
      const best = p.bestVal === null || score < p.bestVal;
      if (best) {
        p.bestVal = score;
        p.bestStep = p.step;
        p.evalsSinceBest = 0;
      } else {
        p.evalsSinceBest++;
      }
      estimate();
      p.elapsedMs = elapsed();
      hooks.onEvent({
        type: 'eval', step: p.step, train: trainLoss, trainBpc: bits(trainLoss), val, valBpc: val === null ? null : bits(val),
        best, bestVal: p.bestVal, elapsedMs: p.elapsedMs,
      });
      if (best) await save('best');
      await save('last');
      savedAt = p.step;
      this.takeSnapshot();
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
      sessionSteps++;
      rateSteps++;
      const t = now();
      const p = this.progress;
      p.elapsedMs = t - t0;
      const charsPerSec = (rateSteps * charsPerStep * 1000) / Math.max(1e-3, t - rateT);
      if (t - rateT > 5000) {
        rateT = t;
        rateSteps = 0;
      }
      if (timeOnly && p.scheduleTotal === 0 && sessionSteps >= 10) estimate();
      hooks.onEvent({
        type: 'step', step: p.step, loss: r.loss, bpc: bits(r.loss), gradNorm: r.gradNorm, lr: r.lr,
        epoch: this.batcher.epochsDone, charsPerSec, elapsedMs: p.elapsedMs,
      });
      if (total > 0 && p.step >= total) reason = config.epochs > 0 && this.batcher.epochsDone >= config.epochs ? 'epochs' : 'steps';
      else if (config.timeMs > 0 && p.elapsedMs >= config.timeMs) reason = 'time';
      if (reason === null && config.evalEvery > 0 && p.step % config.evalEvery === 0) {
        if ((await doEval()) && config.patience > 0 && p.evalsSinceBest >= config.patience) reason = 'patience';
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
      await save('last');
    }
    hooks.onEvent({
      type: 'end', step: p.step, reason, bestVal: p.bestVal, bestBpc: p.bestVal === null ? null : bits(p.bestVal),
      bestStep: p.bestStep, elapsedMs: elapsed(),
    });
    return reason;
  }
}
