// Encoder-decoder (many-to-many with different lengths): wiring only; the math of each
// part lives in its own file (cells, attention.ts, linear.ts, the encoder).
//
// Source x_1..x_S (ids over the source vocabulary), target y_1..y_n (target vocabulary).
// Target id 0 is the boundary symbol ⟨s⟩: the decoder's first input, and the end-of-sequence
// symbol it must predict after y_n. Teacher forcing: the decoder reads y_0 = ⟨s⟩, y_1..y_n
// and predicts y_1..y_n, ⟨s⟩, so a target of n symbols is n + 1 positions (T = max n + 1).
//
//   encoder:   e_1..e_S [S,B,D] per-position outputs and final states f^l (per layer l; both
//              directions concatenated, D = directions · H), masked by the source lengths
//   bridge:    a^l_0 = tanh(W^l_h f^l_h + b^l_h),  c^l_0 = W^l_c f^l_c + b^l_c   (LSTM)   if D ≠ H
//              a^l_0 = f^l_h, c^l_0 = f^l_c                                           if D = H
//   decoder:   a_t = L-layer cell stack over embed(y_{t-1}) from the bridged state   [T,B,H]
//   attention (Luong's arrangement: the context enters the output layer, not the recurrence):
//              c_t = Σ_s α_{t,s} e_s with α from score(a_t, e_s)  (attention.ts)  [T,B,D]
//              ã_t = tanh(W_c [c_t; a_t] + b_c)                                    [T,B,H]
//   output:    ŷ_t = softmax(W_y ã_t + b_y)  (ã_t = a_t without attention)         [T,B,V]
//   loss:      mean cross-entropy over the positions t ≤ n_b of each row: a padded position
//              contributes no loss and no gradient.
//
// Because the context does not feed the recurrence, the decoder stack runs over the whole
// target at once in training (the input projection of all T steps is one product), and
// attention is batched over all T queries. Decoding runs the same code with T = 1 and the
// state carried between steps.
//
// Names: encoder.* (the encoder's own), bridge.weight_h_l{l} [H,D], bridge.bias_h_l{l},
// bridge.weight_c_l{l}, bridge.bias_c_l{l} (LSTM), decoder.embed.weight [V,E],
// decoder.rnn.* (PyTorch's names, as in the language model), attn.* (attention.ts),
// combine.weight [H, D+H] (columns: context, then a_t), combine.bias [H], head.weight [V,H],
// head.bias [V].
import type { Arena, Kernels, Vec } from '../kernels/types.js';
import { NonFiniteOutputError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import {
  allocAttentionCache, attentionBackward, attentionForward, attentionParamSpecs, type AttentionCache,
  type AttentionKind, type AttentionWeights,
} from './attention.js';
import { applyMask, drawDropoutMask } from './dropout.js';
import { Encoder, encoderParamSpecs, initEncoder, type EncoderConfig, type EncoderWorkspace } from './encoder.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { allocLayerCache, carryState, gateCount, hasCellState, step, type CellKind, type LayerCache, type LayerWeights } from './layer.js';
import { linearBackward, linearForward } from './linear.js';
import { CELLS } from './cells.js';
import { initTensors, openForgetGate } from './init.js';
import { ParamLayout, type ParamSpec } from './params.js';
import { SlabArena } from './slab.js';

export type AttentionMode = 'none' | AttentionKind;
export const ATTENTION_MODES: readonly AttentionMode[] = ['none', 'dot', 'additive'];

/** The boundary symbol of the target vocabulary: start input and end-of-sequence target. */
export const BOUNDARY = 0;

export interface Seq2SeqConfig {
  cell: CellKind;
  /** the source vocabulary size (ids 0..vocab-1), named as every task's input vocabulary */
  vocab: number;
  /** target vocabulary size, the boundary symbol (id 0) included */
  tgtVocab: number;
  /** E, the width of both embeddings */
  embed: number;
  /** H per direction in the encoder, and the decoder's width */
  hidden: number;
  /** L in the encoder and in the decoder */
  layers: number;
  bidirectional: boolean;
  attention: AttentionMode;
}

export function validateSeq2SeqConfig(cfg: Seq2SeqConfig): void {
  for (const key of ['vocab', 'tgtVocab', 'embed', 'hidden', 'layers'] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`seq2seq ${key} must be a positive integer, got ${v}`);
  }
  if (cfg.tgtVocab < 2) throw new Error('seq2seq target vocabulary needs the boundary symbol and at least one more');
  if (!(cfg.cell in CELLS)) throw new Error(`unknown cell ${cfg.cell}`);
  if (!ATTENTION_MODES.includes(cfg.attention)) throw new Error(`unknown attention ${cfg.attention}`);
}

/** The encoder's part of the config (src/nn/encoder.ts). */
export function encoderConfigOf(cfg: Seq2SeqConfig): EncoderConfig {
  return { cell: cfg.cell, vocab: cfg.vocab, embed: cfg.embed, hidden: cfg.hidden, layers: cfg.layers, bidirectional: cfg.bidirectional };
}

/** Encoder output width D. */
export function encoderWidth(cfg: Seq2SeqConfig): number {
  return (cfg.bidirectional ? 2 : 1) * cfg.hidden;
}

function layerSpecs(prefix: string, cell: CellKind, In: number, H: number, l: number, suffix = ''): ParamSpec[] {
  const G = gateCount(cell) * H;
  const specs: ParamSpec[] = [
    { name: `${prefix}.weight_ih_l${l}${suffix}`, shape: [G, In] },
    { name: `${prefix}.weight_hh_l${l}${suffix}`, shape: [G, H] },
    { name: `${prefix}.bias_ih_l${l}${suffix}`, shape: [G] },
    { name: `${prefix}.bias_hh_l${l}${suffix}`, shape: [G] },
  ];
  if (cell === 'lstm-peep') specs.push({ name: `${prefix}.weight_ch_l${l}${suffix}`, shape: [3 * H, H] });
  return specs;
}

export function seq2seqParamSpecs(cfg: Seq2SeqConfig): ParamSpec[] {
  const { embed: E, hidden: H, layers: L, cell } = cfg;
  const D = encoderWidth(cfg);
  const specs: ParamSpec[] = encoderParamSpecs(encoderConfigOf(cfg), 'encoder.');
  if (D !== H) {
    for (let l = 0; l < L; l++) {
      specs.push({ name: `bridge.weight_h_l${l}`, shape: [H, D] }, { name: `bridge.bias_h_l${l}`, shape: [H] });
      if (hasCellState(cell)) {
        specs.push({ name: `bridge.weight_c_l${l}`, shape: [H, D] }, { name: `bridge.bias_c_l${l}`, shape: [H] });
      }
    }
  }
  specs.push({ name: 'decoder.embed.weight', shape: [cfg.tgtVocab, E] });
  for (let l = 0; l < L; l++) specs.push(...layerSpecs('decoder.rnn', cell, l === 0 ? E : H, H, l));
  if (cfg.attention !== 'none') {
    specs.push(...attentionParamSpecs(cfg.attention, D, H, H));
    specs.push({ name: 'combine.weight', shape: [H, D + H] }, { name: 'combine.bias', shape: [H] });
  }
  specs.push({ name: 'head.weight', shape: [cfg.tgtVocab, H] }, { name: 'head.bias', shape: [cfg.tgtVocab] });
  return specs;
}

interface State {
  h: Vec;
  c: Vec | null;
}

function layerWeights(layout: ParamLayout, flat: Vec, prefix: string, l: number, cell: CellKind, suffix = ''): LayerWeights {
  const view = (n: string) => layout.view(flat, `${prefix}.${n}_l${l}${suffix}`);
  return {
    Wih: view('weight_ih'), Whh: view('weight_hh'), bih: view('bias_ih'), bhh: view('bias_hh'),
    Wch: cell === 'lstm-peep' ? view('weight_ch') : null,
  };
}

/** L layers over embed(ids), chained zero-copy as in the language model; slot 0 of each Hs is the initial state. */
function allocStack(
  arena: Arena, cell: CellKind, B: number, T: number, E: number, H: number, L: number, embOut: Vec, dEmbOut: Vec | null,
  training: boolean,
): LayerCache[] {
  const layers: LayerCache[] = [];
  for (let l = 0; l < L; l++) {
    const below = layers[l - 1];
    const X = l === 0 ? embOut : below.Hs.subarray(B * H);
    const dX = l === 0 ? dEmbOut : training ? below.dHs.subarray(B * H) : null;
    layers.push(allocLayerCache(arena, cell, { B, T, In: l === 0 ? E : H, H }, X, dX, training));
  }
  return layers;
}

// ---------------------------------------------------------------------------------------

export class Seq2SeqModel {
  readonly layout: ParamLayout;
  readonly arena: Arena;
  readonly params: Vec;
  readonly grads: Vec;
  readonly encoder: Encoder;

  constructor(readonly k: Kernels, readonly config: Seq2SeqConfig, arena?: Arena) {
    validateSeq2SeqConfig(config);
    this.layout = new ParamLayout(seq2seqParamSpecs(config));
    this.arena = arena ?? k.arena();
    this.params = this.layout.alloc(this.arena);
    this.grads = this.layout.alloc(this.arena);
    this.encoder = new Encoder(k, encoderConfigOf(config), this.layout, this.params, this.grads, 'encoder.');
  }

  get parameterCount(): number {
    return this.layout.count;
  }

  /** As the language model: N(0,1) embeddings, uniform ±1/√H elsewhere, LSTM forget bias 1. */
  init(rng: Rng): void {
    const { hidden: H, cell } = this.config;
    initEncoder(this.encoder.config, this.layout, this.params, rng, 'encoder.');
    const names = this.layout.specs.map((s) => s.name).filter((name) => !name.startsWith('encoder.'));
    initTensors(this.layout, this.params, names, H, (name) => name.endsWith('embed.weight'), rng);
    if (hasCellState(cell)) {
      for (let l = 0; l < this.config.layers; l++) {
        openForgetGate(this.layout, this.params, `decoder.rnn.bias_ih_l${l}`, `decoder.rnn.bias_hh_l${l}`, H);
      }
    }
  }

  workspace(training: boolean, dropout = 0): Seq2SeqWorkspace {
    return new Seq2SeqWorkspace(this, training, dropout);
  }
}

/**
 * Buffers for one batch, reshaped per batch (B, S, T vary) over one reusable slab.
 * Training: load(sources, targets) → forward() → loss() → backward().
 * Decoding: encode(sources) → repeatedly step(tokens) (logits of the next symbol per row),
 * reorder(parents) between steps when rows are hypotheses of a beam.
 */
export class Seq2SeqWorkspace {
  private readonly slab: SlabArena;
  B = 0;
  S = 0;
  T = 0;
  /** [S,B] source ids (padding 0), [B] lengths */
  srcIds: Int32Array = new Int32Array(0);
  srcLens: Int32Array = new Int32Array(0);
  /** [T,B] decoder inputs and targets (padding 0), [B] target lengths n_b (positions: n_b + 1) */
  tgtIn: Int32Array = new Int32Array(0);
  tgtOut: Int32Array = new Int32Array(0);
  tgtLens: Int32Array = new Int32Array(0);
  /** [T,B,V]; after loss() in training, ∂L/∂logits */
  logits: Vec = new Float32Array(0);
  encoder!: EncoderWorkspace;
  private embOut!: Vec;
  private dEmbOut: Vec | null = null;
  layers: LayerCache[] = [];
  private attn: AttentionCache | null = null;
  /** bridge pre-activations per layer [B,H] (h, and c for LSTM), when D ≠ H */
  private bridgePre: State[] = [];
  /** ã [T,B,H] and ∂L/∂ã (with attention) */
  private combined: Vec | null = null;
  private dCombined: Vec | null = null;
  private dContext: Vec | null = null;
  private mask: Vec | null = null;
  private dropped: Vec | null = null;
  private dDropped: Vec | null = null;
  /** Σ of −log p over the valid positions of the last loss(), and their count */
  lossSum = 0;
  positions = 0;

  constructor(readonly model: Seq2SeqModel, readonly training: boolean, readonly dropout = 0) {
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${dropout}`);
    this.slab = new SlabArena(model.arena);
  }

  /** Lays out every buffer for (B, S, T); earlier views of this workspace become invalid. */
  shape(B: number, S: number, T: number): void {
    if (!(B >= 1 && S >= 1 && T >= 1)) throw new Error(`bad seq2seq shape B=${B} S=${S} T=${T}`);
    const a = this.slab;
    a.reset();
    const { config } = this.model;
    const { embed: E, hidden: H, layers: L, cell, tgtVocab: V } = config;
    const D = encoderWidth(config);
    const tr = this.training;
    Object.assign(this, { B, S, T });
    this.encoder = this.model.encoder.workspace(B, S, { training: tr, dropout: this.dropout, outputs: true }, a);
    this.encoder.setSteps(S);
    this.srcIds = this.encoder.ids;
    this.srcLens = this.encoder.lengths;
    this.tgtIn = a.ints(T * B);
    this.tgtOut = a.ints(T * B);
    this.tgtLens = a.ints(B);
    this.bridgePre = D === H ? [] : Array.from({ length: L }, () => ({
      h: a.floats(B * H), c: hasCellState(cell) ? a.floats(B * H) : null,
    }));
    this.embOut = a.floats(T * B * E);
    this.dEmbOut = tr ? a.floats(T * B * E) : null;
    this.layers = allocStack(a, cell, B, T, E, H, L, this.embOut, this.dEmbOut, tr);
    if (config.attention !== 'none') {
      this.attn = allocAttentionCache(a, config.attention, { B, T, S, D, H, A: H }, tr);
      this.combined = a.floats(T * B * H);
      this.dCombined = tr ? a.floats(T * B * H) : null;
      this.dContext = tr ? a.floats(T * B * D) : null;
    }
    const drop = tr && this.dropout > 0;
    this.mask = drop ? a.floats(T * B * H) : null;
    this.dropped = drop ? a.floats(T * B * H) : null;
    this.dDropped = drop ? a.floats(T * B * H) : null;
    this.logits = a.floats(T * B * V);
    a.end();
  }

  /** Shapes for a batch of source/target id sequences (targets without the boundary symbol) and fills it. */
  load(sources: readonly ArrayLike<number>[], targets: readonly ArrayLike<number>[]): void {
    if (sources.length !== targets.length || sources.length === 0) throw new Error('seq2seq batch: need as many targets as sources, at least one');
    const B = sources.length;
    const S = Math.max(...sources.map((s) => s.length));
    const T = Math.max(...targets.map((t) => t.length)) + 1;
    this.shape(B, S, T);
    this.fillSources(sources);
    for (let b = 0; b < B; b++) {
      const y = targets[b];
      this.tgtLens[b] = y.length;
      this.tgtIn[b] = BOUNDARY;
      for (let t = 0; t < y.length; t++) {
        this.tgtOut[t * B + b] = y[t];
        this.tgtIn[(t + 1) * B + b] = y[t];
      }
      this.tgtOut[y.length * B + b] = BOUNDARY;
    }
  }

  private fillSources(sources: readonly ArrayLike<number>[]): void {
    const B = this.B;
    for (let b = 0; b < B; b++) {
      const x = sources[b];
      if (x.length < 1) throw new Error('seq2seq: an empty source');
      this.srcLens[b] = x.length;
      for (let s = 0; s < x.length; s++) this.srcIds[s * B + b] = x[s];
    }
  }

  /** Fresh dropout masks: the encoder's between its layers, then the decoder's before the output layer. */
  drawDropout(rng: Rng): void {
    this.encoder.drawDropout(rng);
    if (this.mask) drawDropoutMask(rng, this.dropout, this.mask);
  }

  private get D(): number {
    return encoderWidth(this.model.config);
  }

  /** Encoder, then the bridge into each decoder layer's slot-0 state. */
  private encodeAndBridge(): void {
    const { k, layout, params, config } = this.model;
    const { hidden: H, layers: L } = config;
    const B = this.B;
    const D = this.D;
    this.encoder.forward();
    const dirs = D / H;
    for (let l = 0; l < L; l++) {
      const c = this.layers[l];
      const h0 = c.Hs.subarray(0, B * H);
      const c0 = c.Cs ? c.Cs.subarray(0, B * H) : null;
      const f = [0, 1].slice(0, dirs).map((d) => this.encoder.final(l, d));
      if (D === H) {
        h0.set(f[0].h);
        if (c0) c0.set(f[0].c!);
        continue;
      }
      // a_0 = tanh(W_h [f→; f←] + b_h): one product per direction over W_h's column block
      const pre = this.bridgePre[l];
      const Wh = layout.view(params, `bridge.weight_h_l${l}`);
      for (let d = 0; d < dirs; d++) k.gemm(false, true, B, H, H, f[d].h, H, Wh.subarray(d * H), D, d === 0 ? 0 : 1, pre.h, H);
      k.addBias(B, H, pre.h, H, layout.view(params, `bridge.bias_h_l${l}`));
      k.rnnForward('tanh', B, H, pre.h, h0);
      if (c0) {
        // c_0 = W_c [f→_c; f←_c] + b_c
        const Wc = layout.view(params, `bridge.weight_c_l${l}`);
        for (let d = 0; d < dirs; d++) k.gemm(false, true, B, H, H, f[d].c!, H, Wc.subarray(d * H), D, d === 0 ? 0 : 1, c0, H);
        k.addBias(B, H, c0, H, layout.view(params, `bridge.bias_c_l${l}`));
      }
    }
  }

  private attnWeights(flat: Vec): AttentionWeights {
    const { layout } = this.model;
    const get = (n: string) => (layout.has(`attn.${n}`) ? layout.view(flat, `attn.${n}`) : null);
    return this.model.config.attention === 'dot'
      ? { Wk: get('weight_a'), Wq: null, bq: null, v: null }
      : { Wk: get('weight_k'), Wq: get('weight_q'), bq: get('bias_q'), v: get('v') };
  }

  /** The decoder over `steps` positions from the state in slot 0, into logits [steps,B,V]. */
  private decode(steps: number): void {
    const { k, layout, params, config } = this.model;
    const { embed: E, hidden: H, tgtVocab: V, cell } = config;
    const B = this.B;
    const rows = steps * B;
    const D = this.D;
    embeddingForward(k, rows, E, this.tgtIn, layout.view(params, 'decoder.embed.weight'), this.embOut);
    for (let l = 0; l < this.layers.length; l++) {
      const c = this.layers[l];
      CELLS[cell].forward(k, layerWeights(layout, params, 'decoder.rnn', l, cell), c);
    }
    const top = this.layers[this.layers.length - 1].Hs.subarray(B * H);
    let headIn = top;
    if (this.attn) {
      attentionForward(k, this.attnWeights(params), this.attn, this.encoder.outputs!, top, steps);
      // ã = tanh(W_c[:, :D]·c_t + W_c[:, D:]·a_t + b_c)
      const Wc = layout.view(params, 'combine.weight');
      const ca = this.combined!;
      k.gemm(false, true, rows, H, D, this.attn.context, D, Wc, D + H, 0, ca, H);
      k.gemm(false, true, rows, H, H, top, H, Wc.subarray(D), D + H, 1, ca, H);
      k.addBias(rows, H, ca, H, layout.view(params, 'combine.bias'));
      k.rnnForward('tanh', rows, H, ca, ca);
      headIn = ca;
    }
    if (this.mask) {
      applyMask(rows * H, this.mask, headIn, this.dropped!);
      headIn = this.dropped!;
    }
    linearForward(k, rows, H, V, headIn, layout.view(params, 'head.weight'), layout.view(params, 'head.bias'), this.logits);
  }

  /** Teacher-forced forward of the loaded batch. */
  forward(): void {
    this.attnSetLens();
    this.encodeAndBridge();
    this.decode(this.T);
  }

  private attnSetLens(): void {
    if (this.attn) this.attn.lens.set(this.srcLens);
  }

  /**
   * Mean cross-entropy over the valid target positions (t ≤ n_b), in nats; in training the
   * logits become ∂L/∂logits, zero at padded positions.
   */
  loss(): number {
    const { k, config } = this.model;
    const V = config.tgtVocab;
    const { B, T } = this;
    let count = 0;
    for (let b = 0; b < B; b++) count += this.tgtLens[b] + 1;
    const scale = 1 / count;
    let sum = 0;
    const d = this.training ? this.logits : null;
    for (let t = 0; t < T; t++) {
      // runs of consecutive valid rows of step t: one kernel call each
      let b = 0;
      while (b < B) {
        if (this.tgtLens[b] < t) {
          if (d) d.fill(0, (t * B + b) * V, (t * B + b + 1) * V);
          b++;
          continue;
        }
        let e = b;
        while (e < B && this.tgtLens[e] >= t) e++;
        const r = t * B + b;
        sum += k.softmaxXent(e - b, V, this.logits.subarray(r * V), this.tgtOut.subarray(r), d ? d.subarray(r * V) : null, scale);
        b = e;
      }
    }
    this.lossSum = sum;
    this.positions = count;
    return sum / count;
  }

  /** Backpropagates ∂L/∂logits through decoder, attention, bridge and encoder into model.grads. */
  backward(): void {
    if (!this.training) throw new Error('backward() needs a training workspace');
    const { k, layout, params, grads, config } = this.model;
    const { embed: E, hidden: H, tgtVocab: V, layers: L, cell } = config;
    const { B, T } = this;
    const rows = T * B;
    const D = this.D;
    const topCache = this.layers[L - 1];
    const top = topCache.Hs.subarray(B * H);
    const dTop = topCache.dHs.subarray(B * H);
    const enc = this.encoder;
    enc.clearGradients();
    // ∂L/∂(head input): into dDropped (then unmasked), dCombined, or the top layer's dHs
    const headIn = this.mask ? this.dropped! : this.attn ? this.combined! : top;
    const dHeadOut = this.attn ? this.dCombined! : dTop;
    linearBackward(k, rows, H, V, headIn, layout.view(params, 'head.weight'), this.logits,
      layout.view(grads, 'head.weight'), layout.view(grads, 'head.bias'), this.mask ? this.dDropped! : dHeadOut);
    if (this.mask) applyMask(rows * H, this.mask, this.dDropped!, dHeadOut);
    if (this.attn) {
      const ca = this.combined!;
      const dPre = this.dCombined!;
      // through ã = tanh(pre), in place
      k.rnnBackward('tanh', rows, H, ca, dPre, dPre);
      const Wc = layout.view(params, 'combine.weight');
      const dWc = layout.view(grads, 'combine.weight');
      k.sumRows(rows, H, dPre, H, layout.view(grads, 'combine.bias'));
      // pre = W_c[:, :D]·c + W_c[:, D:]·a
      k.gemm(true, false, H, D, rows, dPre, H, this.attn.context, D, 1, dWc, D + H);
      k.gemm(true, false, H, H, rows, dPre, H, top, H, 1, dWc.subarray(D), D + H);
      k.gemm(false, false, rows, D, H, dPre, H, Wc, D + H, 0, this.dContext!, D);
      k.gemm(false, false, rows, H, H, dPre, H, Wc.subarray(D), D + H, 0, dTop, H);
      attentionBackward(k, this.attnWeights(params), this.attnWeights(grads), this.attn, enc.outputs!, top,
        this.dContext!, enc.dOutputs!, dTop);
    }
    for (let l = L - 1; l >= 0; l--) {
      const c = this.layers[l];
      c.dHs.subarray(0, B * H).fill(0); // slot 0 collects ∂L/∂a_0
      CELLS[cell].backward(k, layerWeights(layout, params, 'decoder.rnn', l, cell), layerWeights(layout, grads, 'decoder.rnn', l, cell), c);
    }
    embeddingBackward(k, rows, E, this.tgtIn, this.dEmbOut!, layout.view(grads, 'decoder.embed.weight'));
    // bridge: ∂L/∂a_0 (and ∂L/∂c_0) → ∂L/∂ encoder finals
    const dirs = D / H;
    for (let l = 0; l < L; l++) {
      const c = this.layers[l];
      const dh0 = c.dHs.subarray(0, B * H);
      const dc0 = c.dC ? c.dC.subarray(0, B * H) : null;
      const df = [0, 1].slice(0, dirs).map((d) => enc.dFinal(l, d));
      const f = [0, 1].slice(0, dirs).map((d) => enc.final(l, d));
      if (D === H) {
        addInto(df[0].h, dh0);
        if (dc0) addInto(df[0].c!, dc0);
        continue;
      }
      const pre = this.bridgePre[l];
      // through a_0 = tanh(pre): pre.h becomes ∂L/∂pre
      k.rnnBackward('tanh', B, H, c.Hs.subarray(0, B * H), dh0, pre.h);
      const Wh = layout.view(params, `bridge.weight_h_l${l}`);
      const dWh = layout.view(grads, `bridge.weight_h_l${l}`);
      k.sumRows(B, H, pre.h, H, layout.view(grads, `bridge.bias_h_l${l}`));
      for (let d = 0; d < dirs; d++) {
        k.gemm(true, false, H, H, B, pre.h, H, f[d].h, H, 1, dWh.subarray(d * H), D);
        k.gemm(false, false, B, H, H, pre.h, H, Wh.subarray(d * H), D, 1, df[d].h, H);
      }
      if (dc0) {
        const Wc = layout.view(params, `bridge.weight_c_l${l}`);
        const dWc = layout.view(grads, `bridge.weight_c_l${l}`);
        k.sumRows(B, H, dc0, H, layout.view(grads, `bridge.bias_c_l${l}`));
        for (let d = 0; d < dirs; d++) {
          k.gemm(true, false, H, H, B, dc0, H, f[d].c!, H, 1, dWc.subarray(d * H), D);
          k.gemm(false, false, B, H, H, dc0, H, Wc.subarray(d * H), D, 1, df[d].c!, H);
        }
      }
    }
    enc.backward();
  }

  // ---- decoding

  /** Encodes one source per row and sets the decoder's starting state; next step() reads ⟨s⟩. */
  encode(sources: readonly ArrayLike<number>[]): void {
    const S = Math.max(...sources.map((s) => s.length));
    this.shape(sources.length, S, 1);
    this.fillSources(sources);
    this.attnSetLens();
    this.encodeAndBridge();
  }

  /**
   * One decoder step for every row: tokens [B] (the previous symbol) → logits [B,V]; the state moves on.
   * @throws NonFiniteOutputError when a logit is NaN or infinite (damaged weights: a decoded
   *   output would be nonsense, not a translation)
   */
  step(tokens: ArrayLike<number>): Vec {
    if (this.T !== 1) throw new Error('step() needs a workspace from encode()');
    for (let b = 0; b < this.B; b++) this.tgtIn[b] = tokens[b];
    this.decode(1);
    for (const c of this.layers) carryState(c);
    const n = this.B * this.model.config.tgtVocab;
    const logits = this.logits;
    for (let i = 0; i < n; i++) {
      const z = logits[i]!;
      if (z - z !== 0) throw new NonFiniteOutputError();
    }
    return logits;
  }

  /**
   * Row r continues the hypothesis that was row parents[r] (beam search): the decoder state
   * and the row's source (encoder outputs and length) move with it.
   */
  reorder(parents: ArrayLike<number>): void {
    const { B, S } = this;
    const { hidden: H } = this.model.config;
    const D = this.D;
    if (parents.length !== B) throw new Error(`reorder: ${parents.length} parents for ${B} rows`);
    const permute = (buf: Vec, width: number, blocks: number) => {
      const copy = buf.slice(0, blocks * B * width);
      for (let s = 0; s < blocks; s++) {
        for (let r = 0; r < B; r++) {
          const from = (s * B + parents[r]) * width;
          buf.set(copy.subarray(from, from + width), (s * B + r) * width);
        }
      }
    };
    for (const c of this.layers) {
      permute(c.Hs, H, 1);
      if (c.Cs) permute(c.Cs, H, 1);
    }
    permute(this.encoder.outputs!, D, S);
    const lens = Int32Array.from(this.srcLens);
    for (let r = 0; r < B; r++) this.srcLens[r] = lens[parents[r]];
    this.attnSetLens();
  }
}

function addInto(dst: Vec, src: Vec): void {
  for (let i = 0; i < src.length; i++) dst[i] += src[i];
}
