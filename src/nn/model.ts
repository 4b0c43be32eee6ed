// The character model: wiring only. The math lives in the layer files.
//
//   ids [T,B] → embed [T,B,E] → L × cell [T,B,H] → linear → logits [T,B,V]
//   ŷ_t = softmax(W_y a_t + b_y), loss = mean softmax cross-entropy over T·B
//
// Parameter names follow PyTorch (embed.weight, rnn.weight_ih_l{k}, rnn.weight_hh_l{k},
// rnn.bias_ih_l{k}, rnn.bias_hh_l{k}, head.weight, head.bias) so checkpoints map onto
// torch.nn.Embedding + torch.nn.LSTM/GRU + torch.nn.Linear by name.
//
// Conditioned (config.tags = K > 0, the one-to-many model of src/tasks/cond.ts): every
// position also carries a tag, as a weighting w [K] of K learned tag embeddings (one-hot,
// or a blend), and layer 0 reads the character embedding and the mixed tag embedding side
// by side:
//   x_t = [embed[id_t] ; wᵀ·tag_embed]    (E + D wide)
//   layer 0's pre-activation = W_ih·embed[id_t] + W_tag·(wᵀ·tag_embed) + b
// with two more tensors, tag_embed.weight [K, D] and rnn.weight_ih_tag_l0 [G, D]: W_tag is
// the last D columns of the [G, E + D] input weight that torch.nn.LSTM(E + D, H) would hold
// for the concatenated input (torch.cat([weight_ih_l0, weight_ih_tag_l0], 1)). Every other
// tensor keeps its language-model name and shape. Row 0 of tag_embed is the untagged mode.
import type { Arena, Kernels, StepNet, Stepper, Vec } from '../kernels/types.js';
import type { Rng } from '../util/rng.js';
import { applyMask, drawDropoutMask } from './dropout.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { CELLS } from './cells.js';
import {
  allocLayerCache, allocRecurrentDropout, carryState, gateCount, hasCellState, type CellKind, type LayerCache, type LayerWeights,
} from './layer.js';
import { linearBackward, linearForward } from './linear.js';
import { softmaxCrossEntropy } from './loss.js';
import { initTensors, openForgetGate } from './init.js';
import { ParamLayout, type ParamSpec } from './params.js';

export interface ModelConfig {
  cell: CellKind;
  /** V */
  vocab: number;
  /** E */
  embed: number;
  /** H */
  hidden: number;
  /** L */
  layers: number;
  /** K: tag rows of a conditioned model (absent or 0: a plain language model). */
  tags?: number;
  /** D: tag embedding width (conditioned models). */
  tagEmbed?: number;
}

/** True for a conditioned model's config. */
export function isConditioned(cfg: ModelConfig): boolean {
  return (cfg.tags ?? 0) > 0;
}

/** Forward and backward of each cell kind (src/nn/cells.ts), re-exported for the networks that import it from here. */
export { CELLS };

export function paramSpecs(cfg: ModelConfig): ParamSpec[] {
  const { vocab: V, embed: E, hidden: H, layers: L, cell } = cfg;
  const G = gateCount(cell) * H;
  const specs: ParamSpec[] = [{ name: 'embed.weight', shape: [V, E] }];
  if (isConditioned(cfg)) specs.push({ name: 'tag_embed.weight', shape: [cfg.tags!, cfg.tagEmbed!] });
  for (let l = 0; l < L; l++) {
    const In = l === 0 ? E : H;
    specs.push(
      { name: `rnn.weight_ih_l${l}`, shape: [G, In] },
      { name: `rnn.weight_hh_l${l}`, shape: [G, H] },
      { name: `rnn.bias_ih_l${l}`, shape: [G] },
      { name: `rnn.bias_hh_l${l}`, shape: [G] },
    );
    if (cell === 'lstm-peep') specs.push({ name: `rnn.weight_ch_l${l}`, shape: [3 * H, H] });
    if (l === 0 && isConditioned(cfg)) specs.push({ name: 'rnn.weight_ih_tag_l0', shape: [G, cfg.tagEmbed!] });
  }
  specs.push({ name: 'head.weight', shape: [V, H] }, { name: 'head.bias', shape: [V] });
  return specs;
}

export function validateConfig(cfg: ModelConfig): void {
  for (const key of ['vocab', 'embed', 'hidden', 'layers'] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`model ${key} must be a positive integer, got ${v}`);
  }
  if (!(cfg.cell in CELLS)) throw new Error(`unknown cell ${cfg.cell}`);
  if (cfg.tags !== undefined && cfg.tags !== 0) {
    if (!Number.isInteger(cfg.tags) || cfg.tags < 1) throw new Error(`model tags must be a whole number, got ${cfg.tags}`);
    if (!Number.isInteger(cfg.tagEmbed) || cfg.tagEmbed! < 1) throw new Error(`model tagEmbed must be a positive integer, got ${cfg.tagEmbed}`);
  }
}

/**
 * The dropout rates of a training workspace (dropout.ts says where each applies):
 * `layers` between layers and before the head, `embed` on layer 0's input, `recurrent`
 * variational on each layer's recurrent input. Absent: 0.
 */
export interface DropoutRates {
  layers?: number;
  embed?: number;
  recurrent?: number;
}

function checkRate(name: string, p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`${name} must be in [0, 1), got ${p}`);
  return p;
}

export class Model {
  readonly layout: ParamLayout;
  readonly arena: Arena;
  /** All parameters, flat (layout above). */
  readonly params: Vec;
  /** ∂L/∂params, same layout; backward accumulates, the trainer zeroes once per step. */
  readonly grads: Vec;
  /** tagTerm's buffers (conditioned models), made on first use. */
  private tagScratch: { Q: Vec; w: Vec } | null = null;

  constructor(readonly k: Kernels, readonly config: ModelConfig, arena?: Arena) {
    validateConfig(config);
    this.layout = new ParamLayout(paramSpecs(config));
    this.arena = arena ?? k.arena();
    this.params = this.layout.alloc(this.arena);
    this.grads = this.layout.alloc(this.arena);
  }

  /** Number of real parameters. */
  get parameterCount(): number {
    return this.layout.count;
  }

  /**
   * PyTorch's default initialisation (uniform ±1/√H for recurrent and output weights,
   * N(0, 1) embeddings), with the LSTM forget-gate bias set to 1 so memory is kept
   * from the first step (Jozefowicz et al. 2015).
   */
  init(rng: Rng): void {
    const { hidden: H, cell } = this.config;
    const names = this.layout.specs.map((s) => s.name);
    initTensors(this.layout, this.params, names, H, (name) => name === 'embed.weight' || name === 'tag_embed.weight', rng);
    if (hasCellState(cell)) {
      for (let l = 0; l < this.config.layers; l++) openForgetGate(this.layout, this.params, `rnn.bias_ih_l${l}`, `rnn.bias_hh_l${l}`, H);
    }
  }

  layerWeights(flat: Vec, l: number): LayerWeights {
    const view = (n: string) => this.layout.view(flat, `rnn.${n}_l${l}`);
    return {
      Wih: view('weight_ih'),
      Whh: view('weight_hh'),
      bih: view('bias_ih'),
      bhh: view('bias_hh'),
      Wch: this.config.cell === 'lstm-peep' ? view('weight_ch') : null,
    };
  }

  /** The network for batch-1 generation: views of the parameters (see Kernels.stepper). */
  stepNet(): StepNet {
    const { cell, vocab, embed, hidden, layers } = this.config;
    const view = (name: string) => this.layout.view(this.params, name);
    return {
      cell, vocab, embed, hidden, embedTable: view('embed.weight'),
      layers: Array.from({ length: layers }, (_, l) => this.layerWeights(this.params, l)),
      headW: view('head.weight'), headB: view('head.bias'), tagged: isConditioned(this.config),
    };
  }

  /** A batch-1 stepper over the weights as they are now (src/sample/sampler.ts drives it). */
  stepper(): Stepper {
    return this.k.stepper(this.stepNet());
  }

  /**
   * Conditioned models: layer 0's tag term for a weighting w [K] of the tag rows, written
   * into out [G]: W_tag·(wᵀ·tag_embed), formed as the Workspace does, through Q = tag_embed·W_tagᵀ.
   */
  tagTerm(weights: ArrayLike<number>, out: Vec): void {
    if (!isConditioned(this.config)) throw new Error('this model has no tag input');
    const K = this.config.tags!;
    const D = this.config.tagEmbed!;
    const G = gateCount(this.config.cell) * this.config.hidden;
    if (weights.length !== K) throw new Error(`tagTerm needs ${K} weights, got ${weights.length}`);
    this.tagScratch ??= { Q: this.arena.floats(K * G), w: this.arena.floats(K) };
    const { Q, w } = this.tagScratch;
    for (let i = 0; i < K; i++) w[i] = weights[i];
    this.k.gemm(false, true, K, G, D, this.layout.view(this.params, 'tag_embed.weight'), D,
      this.layout.view(this.params, 'rnn.weight_ih_tag_l0'), D, 0, Q, G);
    this.k.gemm(false, false, 1, G, K, w, K, Q, G, 0, out, G);
  }

  /**
   * Buffers for windows of T steps over B streams; `training` adds the gradient buffers,
   * and dropout (training only: a rate between layers, or DropoutRates) the masks and
   * masked copies. `fold` forces layer 0's input side as a table lookup on or off
   * (default: see Workspace).
   */
  workspace(B: number, T: number, training: boolean, dropout: number | DropoutRates = 0, fold?: boolean): Workspace {
    return new Workspace(this, B, T, training, dropout, fold);
  }
}

export class Workspace {
  readonly B: number;
  readonly T: number;
  /** Inputs, time-major [T,B]. */
  readonly ids: Int32Array;
  /** Targets, time-major [T,B]. */
  readonly targets: Int32Array;
  /** [T,B,E] */
  readonly embOut: Vec;
  readonly dEmbOut: Vec | null;
  readonly layers: LayerCache[];
  /** [T,B,V]; after loss() with gradients, ∂L/∂logits. */
  readonly logits: Vec;
  /**
   * Conditioned models: the tag weighting of every position, time-major [T,B,K] (one-hot
   * rows for hard tags; see setTags / setTagMix); null for a plain language model.
   */
  readonly tagMix: Vec | null;
  private readonly weights: LayerWeights[];
  private readonly dWeights: LayerWeights[];
  /**
   * Dropout (training with p > 0 only, else empty): masks[l] [T,B,H] applies to layer l's
   * output on its way up (into layer l+1, or into the head for the top layer); dropped[l]
   * holds the masked output and dDropped[l] its gradient. Without dropout the layers chain
   * zero-copy (layer l+1 reads layer l's Hs directly).
   */
  readonly masks: Vec[] = [];
  private readonly dropped: Vec[] = [];
  private readonly dDropped: Vec[] = [];
  /** Dropout rate between layers and before the head. */
  readonly dropout: number;
  /** Embedding dropout (training with p > 0, else null): mask [T,B,E], layer 0's masked input, its gradient. */
  readonly embedDropout: number;
  readonly embedMask: Vec | null = null;
  private readonly embDropped: Vec | null = null;
  private readonly dEmbDropped: Vec | null = null;
  /** Variational recurrent dropout rate (each layer's cache holds its mask: layer.ts RecurrentDropout). */
  readonly recurrentDropout: number;
  /**
   * forward() runs layer 0's input side as a table lookup and leaves embOut (and, in
   * backward, dEmbOut) unwritten; forwardFromEmbedding() always uses embOut.
   */
  foldEmbedding: boolean;

  constructor(readonly model: Model, B: number, T: number, readonly training: boolean, rates: number | DropoutRates = 0, fold?: boolean) {
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) throw new Error(`bad window ${B}x${T}`);
    const r = typeof rates === 'number' ? { layers: rates } : rates;
    const dropout = checkRate('dropout', r.layers ?? 0);
    this.dropout = dropout;
    this.embedDropout = checkRate('embedding dropout', r.embed ?? 0);
    this.recurrentDropout = checkRate('recurrent dropout', r.recurrent ?? 0);
    const { arena, config } = model;
    const { embed: E, hidden: H, vocab: V, layers: L, cell } = config;
    this.B = B;
    this.T = T;
    this.ids = arena.ints(T * B);
    this.targets = arena.ints(T * B);
    this.embOut = arena.floats(T * B * E);
    this.dEmbOut = training ? arena.floats(T * B * E) : null;
    this.layers = [];
    if (training && dropout > 0) {
      for (let l = 0; l < L; l++) {
        this.masks.push(arena.floats(T * B * H));
        this.dropped.push(arena.floats(T * B * H));
        this.dDropped.push(arena.floats(T * B * H));
      }
    }
    const drop = this.masks.length > 0;
    const embedDrop = training && this.embedDropout > 0;
    if (embedDrop) {
      this.embedMask = arena.floats(T * B * E);
      this.embDropped = arena.floats(T * B * E);
      this.dEmbDropped = arena.floats(T * B * E);
    }
    for (let l = 0; l < L; l++) {
      const below = this.layers[l - 1];
      const X = l === 0 ? (this.embDropped ?? this.embOut) : drop ? this.dropped[l - 1] : below.Hs.subarray(B * H);
      const dX = l === 0 ? (this.dEmbDropped ?? this.dEmbOut) : drop ? this.dDropped[l - 1] : training ? below.dHs.subarray(B * H) : null;
      const cache = allocLayerCache(arena, cell, { B, T, In: l === 0 ? E : H, H }, X, dX, training);
      if (training && this.recurrentDropout > 0) allocRecurrentDropout(arena, cache);
      this.layers.push(cache);
    }
    // Layer 0's input projection as a lookup of embed·W_ihᵀ (layer.ts) when that is less
    // work (T·B ≥ 2V) and the backend is float32; float64 workspaces (the gradient checks,
    // which perturb the embedding output) keep the explicit embedding output. Embedding
    // dropout masks each position's embedding, so layer 0 then needs the explicit input.
    if (embedDrop && fold) throw new Error('embedding dropout needs the explicit embedding output (fold off)');
    this.foldEmbedding = !embedDrop && (fold ?? (arena.dtype === 'f32' && T * B >= 2 * V));
    if (this.foldEmbedding) {
      this.layers[0].lookup = {
        on: false, V, ids: this.ids, table: model.layout.view(model.params, 'embed.weight'),
        dTable: training ? model.layout.view(model.grads, 'embed.weight') : null,
        P: arena.floats(V * this.layers[0].G),
      };
    }
    this.logits = arena.floats(T * B * V);
    this.tagMix = null;
    if (isConditioned(config)) {
      const K = config.tags!;
      const D = config.tagEmbed!;
      this.tagMix = arena.floats(T * B * K);
      this.layers[0].tag = {
        K, D, mix: this.tagMix,
        table: model.layout.view(model.params, 'tag_embed.weight'),
        dTable: training ? model.layout.view(model.grads, 'tag_embed.weight') : null,
        W: model.layout.view(model.params, 'rnn.weight_ih_tag_l0'),
        dW: training ? model.layout.view(model.grads, 'rnn.weight_ih_tag_l0') : null,
        Q: arena.floats(K * this.layers[0].G),
      };
    }
    this.weights = Array.from({ length: L }, (_, l) => model.layerWeights(model.params, l));
    this.dWeights = Array.from({ length: L }, (_, l) => model.layerWeights(model.grads, l));
  }

  /** Conditioned models: every position gets the hard tag tags[t·B + b] (a row of tag_embed). */
  setTags(tags: ArrayLike<number>): void {
    const mix = this.requireTags();
    const K = this.model.config.tags!;
    const n = this.T * this.B;
    if (tags.length < n) throw new Error(`setTags needs ${n} tags, got ${tags.length}`);
    mix.fill(0);
    for (let r = 0; r < n; r++) {
      const tag = tags[r];
      if (!(tag >= 0 && tag < K)) throw new Error(`tag ${tag} out of range [0, ${K})`);
      mix[r * K + tag] = 1;
    }
  }

  /** Conditioned models: every position gets the same weighting w [K] of the tag rows (a hard tag or a blend). */
  setTagMix(weights: ArrayLike<number>): void {
    const mix = this.requireTags();
    const K = this.model.config.tags!;
    if (weights.length !== K) throw new Error(`setTagMix needs ${K} weights, got ${weights.length}`);
    for (let r = 0; r < this.T * this.B; r++) for (let k = 0; k < K; k++) mix[r * K + k] = weights[k];
  }

  private requireTags(): Vec {
    if (!this.tagMix) throw new Error('this model has no tag input');
    return this.tagMix;
  }

  /** Top layer's outputs a_0..a_{T-1}, [T,B,H]. */
  get top(): Vec {
    const c = this.layers[this.layers.length - 1];
    return c.Hs.subarray(this.B * c.H);
  }

  /** Input of the output layer [T,B,H]: the top layer's outputs, masked when dropout is on. */
  private get headIn(): Vec {
    return this.masks.length > 0 ? this.dropped[this.layers.length - 1] : this.top;
  }

  /**
   * Draws fresh dropout masks for the next window (no-op without dropout): between
   * layers, then the embedding's, then each layer's recurrent mask (a run without the
   * later kinds draws exactly what it drew before they existed).
   */
  drawDropout(rng: Rng): void {
    for (const m of this.masks) drawDropoutMask(rng, this.dropout, m);
    if (this.embedMask) drawDropoutMask(rng, this.embedDropout, this.embedMask);
    for (const c of this.layers) if (c.recurrent) drawDropoutMask(rng, this.recurrentDropout, c.recurrent.mask);
  }

  /** Runs ids through the network into logits. */
  forward(): void {
    const { k, layout, params, config } = this.model;
    const lookup = this.layers[0].lookup;
    if (lookup && this.foldEmbedding) {
      lookup.on = true;
    } else {
      if (lookup) lookup.on = false;
      embeddingForward(k, this.T * this.B, config.embed, this.ids, layout.view(params, 'embed.weight'), this.embOut);
    }
    this.runLayers();
  }

  /** The network above the embedding, on whatever embOut holds. */
  forwardFromEmbedding(): void {
    const lookup = this.layers[0].lookup;
    if (lookup) lookup.on = false;
    this.runLayers();
  }

  private runLayers(): void {
    const { k, layout, params, config } = this.model;
    const rows = this.T * this.B;
    const drop = this.masks.length > 0;
    // layer 0 reads m ⊙ x_t under embedding dropout
    if (this.embedMask) applyMask(rows * config.embed, this.embedMask, this.embOut, this.embDropped!);
    for (let l = 0; l < this.layers.length; l++) {
      const c = this.layers[l];
      CELLS[config.cell].forward(k, this.weights[l], c);
      if (drop) applyMask(rows * c.H, this.masks[l], c.Hs.subarray(this.B * c.H), this.dropped[l]);
    }
    linearForward(k, rows, config.hidden, config.vocab, this.headIn, layout.view(params, 'head.weight'),
      layout.view(params, 'head.bias'), this.logits);
  }

  /** Mean cross-entropy of logits against targets (nats/char); in training, logits become ∂L/∂logits. */
  loss(): number {
    const { k, config } = this.model;
    return softmaxCrossEntropy(k, this.T * this.B, config.vocab, this.logits, this.targets,
      this.training ? this.logits : null);
  }

  /** Backpropagates ∂L/∂logits through the window, accumulating into model.grads. */
  backward(): void {
    if (!this.training) throw new Error('backward() needs a training workspace');
    const { k, layout, params, grads, config } = this.model;
    const rows = this.T * this.B;
    const L = this.layers.length;
    const top = this.layers[L - 1];
    const drop = this.masks.length > 0;
    const n = rows * config.hidden;
    // ∂L/∂a_t from the output layer lands in the top layer's dHs slots 1..T
    // (through the dropout mask when there is one: ∂L/∂a = m ⊙ ∂L/∂(m ⊙ a))
    linearBackward(k, rows, config.hidden, config.vocab, this.headIn, layout.view(params, 'head.weight'), this.logits,
      layout.view(grads, 'head.weight'), layout.view(grads, 'head.bias'),
      drop ? this.dDropped[L - 1] : top.dHs.subarray(this.B * top.H));
    if (drop) applyMask(n, this.masks[L - 1], this.dDropped[L - 1], top.dHs.subarray(this.B * top.H));
    for (let l = L - 1; l >= 0; l--) {
      const c = this.layers[l];
      c.dHs.subarray(0, this.B * c.H).fill(0); // slot 0 collects ∂L/∂h_{-1}
      CELLS[config.cell].backward(k, this.weights[l], this.dWeights[l], c);
      // layer l wrote ∂L/∂(masked input) into dDropped[l-1]; unmask it into the layer below
      if (drop && l > 0) applyMask(n, this.masks[l - 1], this.dDropped[l - 1], this.layers[l - 1].dHs.subarray(this.B * c.H));
    }
    // ∂L/∂x_t = m ⊙ ∂L/∂(m ⊙ x_t) under embedding dropout
    if (this.embedMask) applyMask(rows * config.embed, this.embedMask, this.dEmbDropped!, this.dEmbOut!);
    // (with the lookup, layer 0's backward has already added into ∂L/∂embed)
    if (!this.layers[0].lookup?.on) {
      embeddingBackward(k, rows, config.embed, this.ids, this.dEmbOut!, layout.view(grads, 'embed.weight'));
    }
  }

  /** Carries each layer's final state into the next window (truncated BPTT: no gradient crosses). */
  carry(): void {
    for (const c of this.layers) carryState(c);
  }

  /** Zeroes the carried state (start of a pass over the data). */
  resetState(): void {
    for (const c of this.layers) {
      c.Hs.subarray(0, this.B * c.H).fill(0);
      c.Cs?.subarray(0, this.B * c.H).fill(0);
    }
  }

  /** Carried-in state of layer l: h_{-1} (and c_{-1} for LSTM), [B,H] each. */
  state(l: number): { h: Vec; c: Vec | null } {
    const c = this.layers[l];
    const n = this.B * c.H;
    return { h: c.Hs.subarray(0, n), c: c.Cs ? c.Cs.subarray(0, n) : null };
  }

  /** Gradient of the loss with respect to layer l's carried-in state (after backward). */
  stateGrad(l: number): { h: Vec; c: Vec | null } {
    const c = this.layers[l];
    return { h: c.dHs.subarray(0, this.B * c.H), c: c.dC };
  }
}
