// The training loop: truncated BPTT over windows of T with the state carried, global-norm
// clipping, an optimizer, a schedule, periodic validation, best/last checkpoints through
// a save hook, and stopping rules. It reports through events and never prints.
import type { Kernels, Vec } from '../kernels/types.js';
import { clipGlobalNorm } from '../nn/clip.js';
import type { CellKind } from '../nn/layer.js';
import { Model, type ModelConfig, type Workspace } from '../nn/model.js';
import { DEFAULT_OPTIM, Optimizer, type OptimName } from '../nn/optim.js';
import { Batcher, splitTrainVal } from '../text/batches.js';
import type { Vocab } from '../text/vocab.js';
import { TrainingError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { Evaluator } from './evaluate.js';
import { learningRate, type ScheduleName } from './schedule.js';

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
  /** Stop after this many optimizer steps (0: no limit). */
  steps: number;
  /** Stop after this many passes over the training text (0: no limit). */
  epochs: number;
  /** Stop after this much wall-clock time in ms (0: no limit). */
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
  optimizerSteps: number;
  history: HistoryPoint[];
  bestVal: number | null;
  bestStep: number;
  evalsSinceBest: number;
  elapsedMs: number;
}

export type StopReason = 'steps' | 'epochs' | 'time' | 'patience' | 'interrupted';

export type TrainEvent =
  | { type: 'start'; parameters: number; vocab: number; trainChars: number; valChars: number; windowsPerEpoch: number; totalSteps: number; resumedAt: number }
  | { type: 'step'; step: number; loss: number; gradNorm: number; lr: number; epoch: number; charsPerSec: number; elapsedMs: number }
  | { type: 'eval'; step: number; val: number; train: number; best: boolean }
  | { type: 'checkpoint'; step: number; kind: 'best' | 'last'; path: string }
  | { type: 'end'; step: number; reason: StopReason; bestVal: number | null; bestStep: number; elapsedMs: number };

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

export class Trainer {
  readonly model: Model;
  readonly optimizer: Optimizer;
  readonly rng: Rng;
  readonly batcher: Batcher;
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly ws: Workspace;
  readonly evaluator: Evaluator;
  progress: TrainProgress;

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
    this.ws = this.model.workspace(config.batch, config.seq, true);
    this.evaluator = new Evaluator(this.model);
    this.progress = {
      step: 0, cursor: 0, rng: this.rng.getState(), optimizerSteps: 0, history: [], bestVal: null, bestStep: 0,
      evalsSinceBest: 0, elapsedMs: 0,
    };
  }

  /** Planned number of steps (for schedules and progress), from --steps or --epochs; 0 if only time-bounded. */
  get totalSteps(): number {
    const { steps, epochs } = this.config;
    const byEpochs = epochs > 0 ? Math.ceil(epochs * this.batcher.windowsPerEpoch) : 0;
    if (steps > 0 && byEpochs > 0) return Math.min(steps, byEpochs);
    return steps > 0 ? steps : byEpochs;
  }

  /** The carried state of the training rows. */
  carried(): CarriedState {
    const L = this.model.config.layers;
    const states = Array.from({ length: L }, (_, l) => this.ws.state(l));
    return { h: states.map((s) => s.h), c: states.map((s) => s.c) };
  }

  /** Restores progress saved by a previous run (weights and moments are loaded by the caller). */
  restore(progress: TrainProgress): void {
    this.progress = structuredClone(progress);
    this.batcher.cursor = progress.cursor;
    this.rng.setState(progress.rng);
    this.optimizer.t = progress.optimizerSteps;
  }

  private syncProgress(): void {
    this.progress.cursor = this.batcher.cursor;
    this.progress.rng = this.rng.getState();
    this.progress.optimizerSteps = this.optimizer.t;
  }

  /** One optimizer step on the next window; returns the loss and the gradient norm before clipping. */
  step(): { loss: number; gradNorm: number; lr: number } {
    const { ws, model, config } = this;
    if (this.batcher.next(ws.ids, ws.targets)) ws.resetState();
    model.grads.fill(0);
    ws.forward();
    const loss = ws.loss();
    ws.backward();
    const gradNorm = clipGlobalNorm(this.k, model.grads, config.clip);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new TrainingError(
        `training diverged at step ${this.progress.step + 1} (loss ${loss}, gradient norm ${gradNorm}); ` +
          'lower --lr or --clip and resume from the last checkpoint',
      );
    }
    const lr = learningRate(
      {
        name: config.schedule, lr: config.lr, warmup: config.warmup, total: this.totalSteps, minFrac: 0.1,
        gamma: config.decay, every: config.decayEvery,
      },
      this.progress.step,
    );
    this.optimizer.step(model.params, model.grads, lr);
    ws.carry();
    this.progress.step++;
    this.syncProgress();
    return { loss, gradNorm, lr };
  }

  /** Validation loss in nats/char, or null without validation text. */
  evaluate(): number | null {
    const r = this.evaluator.run(this.val, this.config.batch, this.config.seq, this.config.evalWindows);
    return r ? r.nats : null;
  }

  async run(hooks: TrainHooks): Promise<StopReason> {
    const now = hooks.now ?? (() => performance.now());
    const { config } = this;
    const total = this.totalSteps;
    const charsPerStep = config.batch * config.seq;
    const t0 = now() - this.progress.elapsedMs;
    hooks.onEvent({
      type: 'start', parameters: this.model.parameterCount, vocab: this.vocab.size, trainChars: this.train.length,
      valChars: this.val.length, windowsPerEpoch: this.batcher.windowsPerEpoch, totalSteps: total,
      resumedAt: this.progress.step,
    });
    let lossSum = 0;
    let lossCount = 0;
    let rateT = now();
    let rateSteps = 0;
    let lastYield = now();
    let reason: StopReason | null = null;

    const doEval = async (): Promise<void> => {
      const trainLoss = lossCount > 0 ? lossSum / lossCount : Number.NaN;
      lossSum = 0;
      lossCount = 0;
      const val = this.evaluate();
      const p = this.progress;
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
      p.elapsedMs = now() - t0;
      hooks.onEvent({ type: 'eval', step: p.step, val: score, train: trainLoss, best });
      if (best) hooks.onEvent({ type: 'checkpoint', step: p.step, kind: 'best', path: await hooks.save(this, 'best') });
      hooks.onEvent({ type: 'checkpoint', step: p.step, kind: 'last', path: await hooks.save(this, 'last') });
    };

    while (reason === null) {
      if (hooks.stopRequested()) {
        reason = 'interrupted';
        break;
      }
      const { loss, gradNorm, lr } = this.step();
      lossSum += loss;
      lossCount++;
      rateSteps++;
      const t = now();
      const elapsedMs = t - t0;
      const charsPerSec = (rateSteps * charsPerStep * 1000) / Math.max(1e-3, t - rateT);
      if (t - rateT > 5000) {
        rateT = t;
        rateSteps = 0;
      }
      const p = this.progress;
      p.elapsedMs = elapsedMs;
      hooks.onEvent({
        type: 'step', step: p.step, loss, gradNorm, lr, epoch: this.batcher.epochsDone, charsPerSec, elapsedMs,
      });
      if (total > 0 && p.step >= total) reason = config.epochs > 0 && this.batcher.epochsDone >= config.epochs ? 'epochs' : 'steps';
      else if (config.timeMs > 0 && elapsedMs >= config.timeMs) reason = 'time';
      if (reason === null && config.evalEvery > 0 && p.step % config.evalEvery === 0) {
        await doEval();
        if (config.patience > 0 && p.evalsSinceBest >= config.patience) reason = 'patience';
      }
      if (t - lastYield > 50) {
        // let signals, timers and output through
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = now();
      }
    }
    if (lossCount > 0) await doEval();
    else hooks.onEvent({ type: 'checkpoint', step: this.progress.step, kind: 'last', path: await hooks.save(this, 'last') });
    const p = this.progress;
    hooks.onEvent({ type: 'end', step: p.step, reason, bestVal: p.bestVal, bestStep: p.bestStep, elapsedMs: now() - t0 });
    return reason;
  }
}
