// One stream of text (B = 1) through a model with the recurrent state carried from call
// to call: the primitive behind sampling (one step at a time), warming on a prime, and
// eval/score (long runs in windows).
//
// A run of n steps is cut into windows of maxT, and a tail of fewer than maxT steps into
// power-of-two windows (e.g. 77 = 64 + 8 + 4 + 1), so every length is covered by at most
// log2(maxT) + 1 workspaces of sizes 1, 2, 4, …, maxT, created on first use. Each window is
// the ordinary Workspace.forward()/loss() of training, with B = 1; the state moves from
// one workspace to the next by copying h (and c) of every layer, [1,H] each, and only when
// the workspace changes.
import type { Vec } from '../kernels/types.js';
import type { Model, Workspace } from '../nn/model.js';
import { NonFiniteOutputError } from '../util/errors.js';

/** Default longest window: long enough for the all-steps products to pay off. */
export const DEFAULT_MAX_T = 128;

export class StateStream {
  readonly maxT: number;
  /** Workspaces by log2(T); created on first use. */
  private readonly byLog: (Workspace | null)[];
  /** The workspace whose slot 0 holds the carried state; null: the state is zero. */
  private current: Workspace | null = null;
  /** A conditioned model's tag weighting [K], given to every workspace (null: plain LM). */
  private tagMix: Float64Array | null = null;

  constructor(readonly model: Model, maxT = DEFAULT_MAX_T) {
    if (!Number.isInteger(maxT) || maxT < 1 || (maxT & (maxT - 1)) !== 0) {
      throw new Error(`maxT must be a power of two, got ${maxT}`);
    }
    this.maxT = maxT;
    this.byLog = new Array<Workspace | null>(Math.log2(maxT) + 1).fill(null);
  }

  /**
   * Conditioned models: the tag weighting every following step reads (a one-hot row for a
   * tag, or a blend); it stays until changed.
   */
  setTagMix(weights: ArrayLike<number>): void {
    this.tagMix = Float64Array.from(weights);
    for (const ws of this.byLog) if (ws) ws.setTagMix(this.tagMix);
  }

  /** Zeroes the carried state (the start of a text). */
  reset(): void {
    this.current = null;
  }

  /** The carried state of layer l, h (and c) [1,H]; null while it is zero. Valid until the next call. */
  carried(l: number): { h: Vec; c: Vec | null } | null {
    return this.current ? this.current.state(l) : null;
  }

  /**
   * Feeds one id; returns the logits [V] predicting the id after it (valid until the next call).
   * @throws NonFiniteOutputError when a logit is NaN or infinite (damaged weights).
   */
  step(id: number): Vec {
    const ws = this.enter(0);
    ws.ids[0] = id;
    ws.forward();
    ws.carry();
    const logits = ws.logits;
    const V = this.model.config.vocab;
    for (let j = 0; j < V; j++) {
      const z = logits[j]!;
      if (z - z !== 0) throw new NonFiniteOutputError();
    }
    return logits;
  }

  /**
   * Feeds inputs[from, to) in windows, state carried.
   *
   * With `targets` (same indexing as inputs: targets[i] is the character after inputs[i])
   * returns Σ −ln p(target) in nats over the run, computed window by window with the
   * training loss (Workspace.loss); with `perStep` also writes each step's −ln p(target)
   * into perStep[i − from]. Without targets, only the state moves (returns 0).
   * @throws NonFiniteOutputError when the loss is NaN or infinite (damaged weights).
   */
  run(inputs: Int32Array, from: number, to: number, targets: Int32Array | null = null, perStep: Float64Array | null = null): number {
    let total = 0;
    let i = from;
    while (i < to) {
      const remaining = to - i;
      const log = remaining >= this.maxT ? this.byLog.length - 1 : 31 - Math.clz32(remaining);
      const ws = this.enter(log);
      const T = ws.T;
      ws.ids.set(inputs.subarray(i, i + T));
      ws.forward();
      if (targets) {
        ws.targets.set(targets.subarray(i, i + T));
        if (perStep) {
          total += this.perStepLoss(ws, perStep, i - from);
        } else {
          total += ws.loss() * T;
        }
      }
      ws.carry();
      i += T;
    }
    if (total - total !== 0) throw new NonFiniteOutputError();
    return total;
  }

  /** −ln p(target) of every step of the window, via the same softmax cross-entropy kernel, one row at a time. */
  private perStepLoss(ws: Workspace, out: Float64Array, offset: number): number {
    const { k, config } = this.model;
    const V = config.vocab;
    let total = 0;
    for (let t = 0; t < ws.T; t++) {
      const nats = k.softmaxXent(1, V, ws.logits.subarray(t * V, (t + 1) * V), ws.targets.subarray(t, t + 1), null, 1);
      out[offset + t] = nats;
      total += nats;
    }
    return total;
  }

  /** The workspace of T = 2^log with the carried state in its slot 0. */
  private enter(log: number): Workspace {
    let ws = this.byLog[log];
    if (!ws) {
      ws = this.model.workspace(1, 2 ** log, false);
      if (this.tagMix) ws.setTagMix(this.tagMix);
      this.byLog[log] = ws;
    }
    if (this.current === ws) return ws;
    if (this.current === null) {
      ws.resetState();
    } else {
      for (let l = 0; l < this.model.config.layers; l++) {
        const from = this.current.state(l);
        const to = ws.state(l);
        to.h.set(from.h);
        if (from.c && to.c) to.c.set(from.c);
      }
    }
    this.current = ws;
    return ws;
  }
}
