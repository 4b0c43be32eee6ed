// The many-to-one classifier network: wiring only (the encoder, pooling and head files
// hold the math).
//
//   ids [T,B], lengths [B] → encoder (embed → L × cell, one or both directions) → pool → p [B,D]
//   → dropout → logits [B,K] = p·W_headᵀ + b_head,  loss = mean softmax cross-entropy over used rows
//
// Pooling (D = H, or 2H bidirectional):
//   last   p_b = [h→_{len−1} ; h←_0]: the forward direction's last state and the backward
//          direction's first output (the state after it read the whole row)
//   mean   mean over t < len_b of the top layer's outputs [h→_t ; h←_t]
//   max    elementwise max over t < len_b of the same
//
// Parameters: embed.weight [V,E], rnn.weight_ih_l{k}[_reverse], rnn.weight_hh_l{k}[_reverse],
// rnn.bias_ih_l{k}[_reverse], rnn.bias_hh_l{k}[_reverse] (PyTorch's names and gate orders,
// see encoder.ts), head.weight [K,D], head.bias [K].
import type { Arena, Kernels, Vec } from '../kernels/types.js';
import type { Rng } from '../util/rng.js';
import { applyMask, drawDropoutMask } from './dropout.js';
import {
  Encoder, encoderParamSpecs, encoderWidth, initEncoder, validateEncoderConfig, type EncoderConfig, type EncoderWorkspace,
} from './encoder.js';
import type { CellKind } from './layer.js';
import { linearBackward, linearForward } from './linear.js';
import { initTensors } from './init.js';
import { ParamLayout, type ParamSpec } from './params.js';
import { maxPoolBackward, maxPoolForward, meanPoolBackward, meanPoolForward } from './pool.js';

export type PoolKind = 'last' | 'mean' | 'max';

export const POOL_KINDS: readonly PoolKind[] = ['last', 'mean', 'max'];

export interface ClassifierConfig {
  cell: CellKind;
  /** V */
  vocab: number;
  /** E */
  embed: number;
  /** H per direction */
  hidden: number;
  /** L */
  layers: number;
  bidirectional: boolean;
  pool: PoolKind;
  /** K */
  classes: number;
}

function encoderConfig(cfg: ClassifierConfig): EncoderConfig {
  const { cell, vocab, embed, hidden, layers, bidirectional } = cfg;
  return { cell, vocab, embed, hidden, layers, bidirectional };
}

export function classifierParamSpecs(cfg: ClassifierConfig): ParamSpec[] {
  const D = encoderWidth(cfg);
  return [
    ...encoderParamSpecs(encoderConfig(cfg)),
    { name: 'head.weight', shape: [cfg.classes, D] },
    { name: 'head.bias', shape: [cfg.classes] },
  ];
}

export function validateClassifierConfig(cfg: ClassifierConfig): void {
  validateEncoderConfig(encoderConfig(cfg));
  if (!POOL_KINDS.includes(cfg.pool)) throw new Error(`unknown pooling ${cfg.pool} (last, mean or max)`);
  if (!Number.isInteger(cfg.classes) || cfg.classes < 1) throw new Error(`model classes must be a positive integer, got ${cfg.classes}`);
}

export class ClassifierModel {
  readonly layout: ParamLayout;
  readonly arena: Arena;
  /** All parameters, flat. */
  readonly params: Vec;
  /** ∂L/∂params, same layout; backward accumulates, the trainer zeroes once per step. */
  readonly grads: Vec;
  readonly encoder: Encoder;

  constructor(readonly k: Kernels, readonly config: ClassifierConfig, arena?: Arena) {
    validateClassifierConfig(config);
    this.layout = new ParamLayout(classifierParamSpecs(config));
    this.arena = arena ?? k.arena();
    this.params = this.layout.alloc(this.arena);
    this.grads = this.layout.alloc(this.arena);
    this.encoder = new Encoder(k, encoderConfig(config), this.layout, this.params, this.grads);
  }

  get parameterCount(): number {
    return this.layout.count;
  }

  /** The language model's initialisation for the encoder (encoder.ts); the head uniform ±1/√D as torch.nn.Linear. */
  init(rng: Rng): void {
    initEncoder(this.encoder.config, this.layout, this.params, rng);
    initTensors(this.layout, this.params, ['head.weight', 'head.bias'], this.encoder.D, () => false, rng);
  }

  /**
   * Buffers for batches of up to B sequences of up to Tmax steps; `training` adds the
   * gradient buffers, `dropout` > 0 (training only) masks between layers and before the head.
   */
  workspace(B: number, Tmax: number, training: boolean, dropout = 0): ClassifierWorkspace {
    return new ClassifierWorkspace(this, B, Tmax, training, dropout);
  }
}

export class ClassifierWorkspace {
  readonly B: number;
  readonly Tmax: number;
  /** [Tmax,B] time-major; only t < lengths[b] is read. */
  readonly ids: Int32Array;
  /** [B]; 0 marks an unused row (no output, no loss, no gradient). */
  readonly lengths: Int32Array;
  /** [B] */
  readonly labels: Int32Array;
  /** [B,K] after forward() (0 in unused rows); ∂L/∂logits after loss() when training. */
  readonly logits: Vec;
  readonly encoder: EncoderWorkspace;
  /** Pooled representation p [B,D] and its gradient. */
  readonly pooled: Vec;
  private readonly dPooled: Vec | null;
  /** Max pooling: the winning step of each element [B,D]. */
  private readonly argmax: Int32Array;
  /** Dropout before the head (training with p > 0): mask [B,D], masked copy, its gradient. */
  private readonly mask: Vec | null;
  private readonly dropped: Vec | null;
  private readonly dDropped: Vec | null;

  constructor(readonly model: ClassifierModel, B: number, Tmax: number, readonly training: boolean, readonly dropout = 0) {
    const { config, arena } = model;
    const pool = config.pool;
    this.encoder = model.encoder.workspace(B, Tmax, { training, dropout, outputs: pool !== 'last' }, arena);
    const D = model.encoder.D;
    this.B = B;
    this.Tmax = Tmax;
    this.ids = this.encoder.ids;
    this.lengths = this.encoder.lengths;
    this.labels = arena.ints(B);
    this.logits = arena.floats(B * config.classes);
    this.pooled = arena.floats(B * D);
    this.dPooled = training ? arena.floats(B * D) : null;
    this.argmax = new Int32Array(pool === 'max' ? B * D : 0);
    const drop = training && dropout > 0;
    this.mask = drop ? arena.floats(B * D) : null;
    this.dropped = drop ? arena.floats(B * D) : null;
    this.dDropped = drop ? arena.floats(B * D) : null;
  }

  /** This batch's time length, T ≤ Tmax (every length must be ≤ T). */
  setSteps(T: number): void {
    this.encoder.setSteps(T);
  }

  /** Draws fresh dropout masks: the encoder's between layers, then the one before the head. */
  drawDropout(rng: Rng): void {
    this.encoder.drawDropout(rng);
    if (this.mask) drawDropoutMask(rng, this.dropout, this.mask);
  }

  private get headIn(): Vec {
    return this.dropped ?? this.pooled;
  }

  forward(): void {
    const { k, layout, params, config } = this.model;
    const { B, lengths } = this;
    const D = this.model.encoder.D;
    const K = config.classes;
    const enc = this.encoder;
    enc.forward();
    if (config.pool === 'last') {
      const H = config.hidden;
      const top = config.layers - 1;
      for (let d = 0; d < this.model.encoder.directions; d++) {
        const h = enc.final(top, d).h;
        for (let b = 0; b < B; b++) this.pooled.set(h.subarray(b * H, (b + 1) * H), b * D + d * H);
      }
    } else if (config.pool === 'mean') {
      meanPoolForward(B, D, lengths, enc.outputs!, this.pooled);
    } else {
      maxPoolForward(B, D, lengths, enc.outputs!, this.pooled, this.argmax);
    }
    if (this.mask) applyMask(B * D, this.mask, this.pooled, this.dropped!);
    linearForward(k, B, D, K, this.headIn, layout.view(params, 'head.weight'), layout.view(params, 'head.bias'), this.logits);
    for (let b = 0; b < B; b++) if (lengths[b] === 0) this.logits.fill(0, b * K, (b + 1) * K);
  }

  /** Mean cross-entropy over used rows (nats); in training, logits become ∂L/∂logits (0 in unused rows). */
  loss(): number {
    const { k, config } = this.model;
    const { B, lengths, labels, logits } = this;
    const K = config.classes;
    let used = 0;
    for (let b = 0; b < B; b++) {
      if (lengths[b] === 0) continue;
      used++;
      const y = labels[b];
      if (!(y >= 0 && y < K)) throw new RangeError(`row ${b}: label ${y} is outside the ${K} classes`);
    }
    if (used === 0) throw new Error('the batch has no sequence (every length is 0)');
    const dLogits = this.training ? logits : null;
    if (used === B) return k.softmaxXent(B, K, logits, labels, dLogits, 1 / B) / B;
    let sum = 0;
    for (let b = 0; b < B; b++) {
      const row = logits.subarray(b * K, (b + 1) * K);
      if (lengths[b] === 0) {
        if (dLogits) row.fill(0);
        continue;
      }
      sum += k.softmaxXent(1, K, row, labels.subarray(b, b + 1), dLogits ? row : null, 1 / used);
    }
    return sum / used;
  }

  /** Backpropagates ∂L/∂logits, accumulating into model.grads. */
  backward(): void {
    if (!this.training) throw new Error('backward() needs a training workspace');
    const { k, layout, params, grads, config } = this.model;
    const { B, lengths } = this;
    const D = this.model.encoder.D;
    const enc = this.encoder;
    const dPooled = this.dPooled!;
    linearBackward(k, B, D, config.classes, this.headIn, layout.view(params, 'head.weight'), this.logits,
      layout.view(grads, 'head.weight'), layout.view(grads, 'head.bias'), this.dDropped ?? dPooled);
    if (this.mask) applyMask(B * D, this.mask, this.dDropped!, dPooled);
    enc.clearGradients();
    if (config.pool === 'last') {
      const H = config.hidden;
      const top = config.layers - 1;
      for (let d = 0; d < this.model.encoder.directions; d++) {
        const dh = enc.dFinal(top, d).h;
        for (let b = 0; b < B; b++) dh.set(dPooled.subarray(b * D + d * H, b * D + (d + 1) * H), b * H);
      }
    } else if (config.pool === 'mean') {
      meanPoolBackward(B, D, lengths, dPooled, enc.dOutputs!);
    } else {
      maxPoolBackward(B, D, lengths, this.argmax, dPooled, enc.dOutputs!);
    }
    enc.backward();
  }
}
