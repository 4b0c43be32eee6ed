// A stack of L recurrent layers over a batch of sequences of different lengths, one
// direction or both: the encoder of the classifier and of the encoder-decoder.
//
//   ids [T,B] (row b valid for t < len_b) → embed → L × layer → outputs [T,B,D], finals
//
//   unidirectional (D = H):  h→_t = cell(h→_{t-1}, x_t),  t = 0 … len−1, h→_{-1} = 0
//   bidirectional (D = 2H):  h←_t = cell'(h←_{t+1}, x_t), t = len−1 … 0, h←_len = 0
//                            layer output [h→_t ; h←_t] is the next layer's input x_t
//
// Each direction has its own weights, named as PyTorch names them (`rnn.weight_ih_l0`,
// `rnn.weight_ih_l0_reverse`, … with an optional prefix), gate orders as the cell files,
// so they load into torch.nn.LSTM/GRU/RNN(bidirectional=True) for the cells PyTorch has.
// `a` in the cell files is `h` here.
//
// Usage (an encoder-decoder needs nothing else):
//   const specs = encoderParamSpecs(cfg, 'encoder.');       // add yours, one ParamLayout
//   const enc = new Encoder(k, cfg, layout, params, grads, 'encoder.');
//   initEncoder(cfg, layout, params, rng, 'encoder.');
//   const ws = enc.workspace(B, Tmax, { training: true, dropout: 0.1, outputs: true });
//   ws.ids[t * B + b] = id;  ws.lengths[b] = len;  ws.setSteps(T);   // len ≤ T ≤ Tmax; len 0 = unused row
//   ws.drawDropout(rng); ws.forward();
//   ws.outputs      [T,B,D] (row stride B·D per step): [h→_t ; h←_t] for t < len_b, 0 beyond
//   ws.final(l, d)  { h [B,H], c [B,H] | null (LSTM) }: d = 0 forward, its state at t = len−1;
//                   d = 1 backward, its state at t = 0 (after reading the whole row); 0 for unused rows
//   ws.clearGradients();  write ws.dOutputs [T,B,D] and/or ws.dFinal(l, d).h / .c;  ws.backward();
//   backward() accumulates into `grads` (embedding included); it reads dOutputs only for
//   t < len_b and dFinal only for used rows, and leaves both as they are.
//
// Masking. Rows are sorted by length, longest first (`order`), so at step t the rows still
// running are a prefix and the cells run only those (layer.ts, `active`); a row that has
// ended is never touched again, so padding changes no state, output or gradient, and a
// row's numbers do not depend on its neighbours. The backward direction is the forward
// recurrence over each row reversed within its own length: x←_s = x_{len−1−s}, so
// h←_t = (state after s = len−1−t steps). Its ids are gathered reversed, and between
// layers each direction reads the other's outputs through the same index map
// (revIdx: position (s, i) ↔ (len_i−1−s, i)), a row gather, so both directions mask alike.
// Only the whole-window products (input projection, weight gradients) see padded
// positions, as zero rows: group sequences by length (buckets) to keep that small.
import type { Arena, Kernels, Vec } from '../kernels/types.js';
import type { Rng } from '../util/rng.js';
import { CELLS } from './cells.js';
import { applyMask, drawDropoutMask } from './dropout.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import {
  allocLayerCache, gateCount, hasCellState, CELL_KINDS, type CellKind, type InputPart, type LayerCache, type LayerWeights,
} from './layer.js';
import { initTensors, openForgetGate } from './init.js';
import type { ParamLayout, ParamSpec } from './params.js';

export interface EncoderConfig {
  cell: CellKind;
  /** V: source vocabulary */
  vocab: number;
  /** E */
  embed: number;
  /** H per direction */
  hidden: number;
  /** L */
  layers: number;
  bidirectional: boolean;
}

/** Output width D: H, or 2H when bidirectional. */
export function encoderWidth(cfg: EncoderConfig): number {
  return cfg.bidirectional ? 2 * cfg.hidden : cfg.hidden;
}

function rnnName(prefix: string, kind: string, l: number, d: number): string {
  return `${prefix}rnn.${kind}_l${l}${d === 1 ? '_reverse' : ''}`;
}

/** embed.weight [V,E], then per layer and direction PyTorch's four tensors (+ weight_ch for lstm-peep). */
export function encoderParamSpecs(cfg: EncoderConfig, prefix = ''): ParamSpec[] {
  const { vocab: V, embed: E, hidden: H, layers: L, cell } = cfg;
  const G = gateCount(cell) * H;
  const D = encoderWidth(cfg);
  const specs: ParamSpec[] = [{ name: `${prefix}embed.weight`, shape: [V, E] }];
  for (let l = 0; l < L; l++) {
    const In = l === 0 ? E : D;
    for (let d = 0; d < (cfg.bidirectional ? 2 : 1); d++) {
      specs.push(
        { name: rnnName(prefix, 'weight_ih', l, d), shape: [G, In] },
        { name: rnnName(prefix, 'weight_hh', l, d), shape: [G, H] },
        { name: rnnName(prefix, 'bias_ih', l, d), shape: [G] },
        { name: rnnName(prefix, 'bias_hh', l, d), shape: [G] },
      );
      if (cell === 'lstm-peep') specs.push({ name: rnnName(prefix, 'weight_ch', l, d), shape: [3 * H, H] });
    }
  }
  return specs;
}

export function validateEncoderConfig(cfg: EncoderConfig): void {
  for (const key of ['vocab', 'embed', 'hidden', 'layers'] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`model ${key} must be a positive integer, got ${v}`);
  }
  if (!CELL_KINDS.includes(cfg.cell)) throw new Error(`unknown cell ${cfg.cell}`);
  if (typeof cfg.bidirectional !== 'boolean') throw new Error(`bidirectional must be true or false, got ${cfg.bidirectional}`);
}

/**
 * The language model's initialisation (PyTorch's defaults): embedding N(0, 1), recurrent
 * weights and biases uniform ±1/√H, LSTM forget-gate bias 1. Draws in layout order.
 */
export function initEncoder(cfg: EncoderConfig, layout: ParamLayout, params: Vec, rng: Rng, prefix = ''): void {
  const H = cfg.hidden;
  const names = encoderParamSpecs(cfg, prefix).map((s) => s.name);
  initTensors(layout, params, names, H, (name) => name === `${prefix}embed.weight`, rng);
  if (hasCellState(cfg.cell)) {
    for (let l = 0; l < cfg.layers; l++) {
      for (let d = 0; d < (cfg.bidirectional ? 2 : 1); d++) {
        openForgetGate(layout, params, rnnName(prefix, 'bias_ih', l, d), rnnName(prefix, 'bias_hh', l, d), H);
      }
    }
  }
}

export interface EncoderWorkspaceOptions {
  /** Adds the gradient buffers. */
  training: boolean;
  /** Dropout between layers (training only), seeded masks from drawDropout. */
  dropout?: number;
  /** Writes `outputs` in forward and reads `dOutputs` in backward (default true). */
  outputs?: boolean;
  /**
   * Layer 0's input side as a lookup of embed·W_ihᵀ (layer.ts) when T·B ≥ 2V; default on
   * for float32. Float64 (gradient checks) keeps the explicit embedding.
   */
  fold?: boolean;
}

export interface EncoderState {
  /** [B,H] */
  h: Vec;
  /** [B,H] (LSTM), else null */
  c: Vec | null;
}

export class Encoder {
  /** 1 or 2 */
  readonly directions: number;
  /** Output width D */
  readonly D: number;
  readonly embedName: string;
  readonly weights: LayerWeights[][];
  readonly dWeights: LayerWeights[][];

  constructor(
    readonly k: Kernels, readonly config: EncoderConfig, readonly layout: ParamLayout,
    readonly params: Vec, readonly grads: Vec, readonly prefix = '',
  ) {
    validateEncoderConfig(config);
    this.directions = config.bidirectional ? 2 : 1;
    this.D = encoderWidth(config);
    this.embedName = `${prefix}embed.weight`;
    const views = (flat: Vec) => Array.from({ length: config.layers }, (_, l) =>
      Array.from({ length: this.directions }, (_, d): LayerWeights => ({
        Wih: layout.view(flat, rnnName(prefix, 'weight_ih', l, d)),
        Whh: layout.view(flat, rnnName(prefix, 'weight_hh', l, d)),
        bih: layout.view(flat, rnnName(prefix, 'bias_ih', l, d)),
        bhh: layout.view(flat, rnnName(prefix, 'bias_hh', l, d)),
        Wch: config.cell === 'lstm-peep' ? layout.view(flat, rnnName(prefix, 'weight_ch', l, d)) : null,
      })));
    this.weights = views(params);
    this.dWeights = views(grads);
  }

  workspace(B: number, Tmax: number, opts: EncoderWorkspaceOptions, arena?: Arena): EncoderWorkspace {
    return new EncoderWorkspace(this, B, Tmax, opts, arena ?? this.k.arena());
  }
}

export class EncoderWorkspace {
  readonly B: number;
  readonly Tmax: number;
  readonly training: boolean;
  readonly dropout: number;
  /** [Tmax,B] time-major; only t < lengths[b] is read (padding may hold anything). */
  readonly ids: Int32Array;
  /** [B]; 0 marks an unused row. */
  readonly lengths: Int32Array;
  /** [Tmax,B,D] after forward (null when the workspace was made with outputs: false). */
  readonly outputs: Vec | null;
  /** ∂L/∂outputs [Tmax,B,D], written by the caller before backward (null without outputs or training). */
  readonly dOutputs: Vec | null;
  /** Steps of this batch. */
  T: number;

  /** Internal row i holds original row order[i]; rows sorted by length, longest first. */
  private readonly order: Int32Array;
  /** Length of internal row i. */
  private readonly rowLen: Int32Array;
  /** Rows running at step t (a prefix of the internal rows). */
  private readonly active: Int32Array;
  /** Layer 0 ids per direction, internal order, [Tmax,B]; the backward direction's reversed within each row. */
  private readonly dirIds: Int32Array[];
  /** Position (s,i) ↔ (len_i−1−s, i) as a row index s·B + i; padding maps to itself. */
  private readonly revIdx: Int32Array | null;
  private readonly emb: Vec[];
  private readonly dEmb: (Vec | null)[];
  /** caches[l][d] */
  readonly caches: LayerCache[][];
  /** Layer l ≥ 1, direction d (bidirectional): the other direction's outputs below, in d's time order. */
  private readonly gathered: Vec[][];
  private readonly dGathered: Vec[][];
  /** Dropout on layer l's outputs going up (l < L−1): masks, masked copies, their gradients. */
  private readonly masks: Vec[][] = [];
  private readonly dropped: Vec[][] = [];
  private readonly dDropped: Vec[][] = [];
  private readonly finals: EncoderState[][];
  private readonly dFinals: EncoderState[][];
  /** Internal-order copy of dFinal(l, d).c fed to the LSTM backward. */
  private readonly dCLast: (Vec | null)[][];
  private readonly fold: boolean;

  constructor(readonly encoder: Encoder, B: number, Tmax: number, opts: EncoderWorkspaceOptions, arena: Arena) {
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(Tmax) || Tmax < 1) throw new Error(`bad batch ${B}x${Tmax}`);
    const dropout = opts.training ? opts.dropout ?? 0 : 0;
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`dropout must be in [0, 1), got ${dropout}`);
    const { config: cfg, directions: nd, D } = encoder;
    const { embed: E, hidden: H, layers: L, vocab: V, cell } = cfg;
    const training = opts.training;
    this.B = B;
    this.Tmax = Tmax;
    this.T = Tmax;
    this.training = training;
    this.dropout = dropout;
    this.ids = arena.ints(Tmax * B);
    this.lengths = new Int32Array(B);
    const withOutputs = opts.outputs ?? true;
    this.outputs = withOutputs ? arena.floats(Tmax * B * D) : null;
    this.dOutputs = withOutputs && training ? arena.floats(Tmax * B * D) : null;
    this.order = new Int32Array(B);
    this.rowLen = new Int32Array(B);
    this.active = new Int32Array(Tmax);
    const dirs = Array.from({ length: nd }, (_, d) => d);
    this.dirIds = dirs.map(() => arena.ints(Tmax * B));
    this.revIdx = nd === 2 ? arena.ints(Tmax * B) : null;
    this.emb = dirs.map(() => arena.floats(Tmax * B * E));
    this.dEmb = dirs.map(() => (training ? arena.floats(Tmax * B * E) : null));
    const drop = training && dropout > 0;
    const n = Tmax * B * H;
    for (let l = 0; l < L - 1 && drop; l++) {
      this.masks.push(dirs.map(() => arena.floats(n)));
      this.dropped.push(dirs.map(() => arena.floats(n)));
      this.dDropped.push(dirs.map(() => arena.floats(n)));
    }
    this.caches = [];
    this.gathered = [];
    this.dGathered = [];
    for (let l = 0; l < L; l++) {
      const dims = { B, T: Tmax, In: l === 0 ? E : D, H };
      this.gathered.push(l > 0 && nd === 2 ? dirs.map(() => arena.floats(n)) : []);
      this.dGathered.push(l > 0 && nd === 2 && training ? dirs.map(() => arena.floats(n)) : []);
      this.caches.push(dirs.map((d) => {
        if (l === 0) return allocLayerCache(arena, cell, dims, this.emb[d], this.dEmb[d], training);
        const below = this.caches[l - 1];
        const src = (e: number) => (drop ? this.dropped[l - 1][e] : below[e].Hs.subarray(B * H));
        const dSrc = (e: number) => (drop ? this.dDropped[l - 1][e] : training ? below[e].dHs.subarray(B * H) : null);
        if (nd === 1) return allocLayerCache(arena, cell, dims, src(0), dSrc(0), training);
        // [h→ ; h←]: the own direction's outputs as they are, the other's through revIdx
        const direct: InputPart = { col: d * H, width: H, X: src(d), dX: dSrc(d) };
        const other: InputPart = { col: (1 - d) * H, width: H, X: this.gathered[l][d], dX: training ? this.dGathered[l][d] : null };
        return allocLayerCache(arena, cell, dims, d === 0 ? [direct, other] : [other, direct], null, training);
      }));
    }
    this.fold = opts.fold ?? arena.dtype === 'f32';
    if (this.fold) {
      const { layout, params, grads } = encoder;
      for (const d of dirs) {
        const c = this.caches[0][d];
        c.lookup = {
          on: false, V, ids: this.dirIds[d], table: layout.view(params, encoder.embedName),
          dTable: training ? layout.view(grads, encoder.embedName) : null, P: arena.floats(V * c.G),
        };
      }
    }
    const lstm = hasCellState(cell);
    const state = () => ({ h: arena.floats(B * H), c: lstm ? arena.floats(B * H) : null });
    this.finals = this.caches.map((row) => row.map(state));
    this.dFinals = this.caches.map((row) => row.map(() => (training ? state() : { h: arena.floats(0), c: null })));
    this.dCLast = this.caches.map((row) => row.map((c) => {
      if (!lstm || !training) return null;
      c.dCLast = arena.floats(B * H);
      return c.dCLast;
    }));
    for (const row of this.caches) for (const c of row) c.active = this.active;
  }

  /** This batch's number of steps, 1 ≤ T ≤ Tmax (every length must be ≤ T). */
  setSteps(T: number): void {
    if (!Number.isInteger(T) || T < 1 || T > this.Tmax) throw new Error(`steps must be an integer in [1, ${this.Tmax}], got ${T}`);
    this.T = T;
  }

  /** Draws fresh dropout masks (no-op without dropout). */
  drawDropout(rng: Rng): void {
    for (const row of this.masks) for (const m of row) drawDropoutMask(rng, this.dropout, m);
  }

  /** Final state of layer l, direction d (0 forward, 1 backward), original row order. */
  final(l: number, d: number): EncoderState {
    return this.finals[l][d];
  }

  /** ∂L/∂final(l, d), written by the caller before backward. */
  dFinal(l: number, d: number): EncoderState {
    if (!this.training) throw new Error('dFinal needs a training workspace');
    return this.dFinals[l][d];
  }

  /** Zeroes dOutputs and every dFinal. */
  clearGradients(): void {
    this.dOutputs?.fill(0);
    for (const row of this.dFinals) for (const s of row) {
      s.h.fill(0);
      s.c?.fill(0);
    }
  }

  /** Runs ids through the layers into outputs and finals. */
  forward(): void {
    this.prepare();
    const { k, config, directions: nd, layout, params } = this.encoder;
    const { B, T } = this;
    const { hidden: H, layers: L, vocab: V, embed: E } = config;
    const drop = this.masks.length > 0;
    for (let l = 0; l < L; l++) {
      const cs = this.caches[l];
      if (l > 0 && nd === 2) {
        for (let d = 0; d < 2; d++) {
          const other = drop ? this.dropped[l - 1][1 - d] : this.caches[l - 1][1 - d].Hs.subarray(B * H);
          k.gatherRows(T * B, H, this.revIdx!, other, this.gathered[l][d]);
        }
      }
      for (let d = 0; d < nd; d++) {
        const c = cs[d];
        c.T = T;
        c.Hs.subarray(0, B * H).fill(0);
        c.Cs?.subarray(0, B * H).fill(0);
        if (l === 0) {
          const on = c.lookup !== null && T * B >= 2 * V;
          if (c.lookup) c.lookup.on = on;
          if (!on) embeddingForward(k, T * B, E, this.dirIds[d], layout.view(params, this.encoder.embedName), this.emb[d]);
        }
        CELLS[config.cell].forward(k, this.encoder.weights[l][d], c);
        this.clearPaddingForward(c);
        if (drop && l < L - 1) applyMask(T * B * H, this.masks[l][d], c.Hs.subarray(B * H), this.dropped[l][d]);
      }
    }
    this.writeFinals();
    if (this.outputs) this.writeOutputs();
  }

  /** Backpropagates dOutputs and dFinal through the layers, accumulating into grads. */
  backward(): void {
    if (!this.training) throw new Error('backward() needs a training workspace');
    const { k, config, directions: nd, layout, grads } = this.encoder;
    const { B, T } = this;
    const { hidden: H, layers: L, embed: E } = config;
    const drop = this.masks.length > 0;
    for (const c of this.caches[L - 1]) c.dHs.subarray(0, (T + 1) * B * H).fill(0);
    if (this.dOutputs) this.readOutputGradients();
    for (let l = L - 1; l >= 0; l--) {
      for (let d = 0; d < nd; d++) {
        const c = this.caches[l][d];
        this.addFinalGradients(l, d);
        c.dHs.subarray(0, B * H).fill(0); // slot 0 collects ∂L/∂h_{-1}, not needed
        this.clearPaddingBackward(c);
        CELLS[config.cell].backward(k, this.encoder.weights[l][d], this.encoder.dWeights[l][d], c);
      }
      if (l === 0) break;
      // the direct blocks have overwritten the layer below's gradients; add the crossed ones
      const dSrc = (e: number) => (drop ? this.dDropped[l - 1][e] : this.caches[l - 1][e].dHs.subarray(B * H));
      if (nd === 2) {
        for (let d = 0; d < 2; d++) k.scatterAddRows(T * B, H, this.revIdx!, this.dGathered[l][d], dSrc(1 - d));
      }
      if (drop) {
        for (let e = 0; e < nd; e++) {
          applyMask(T * B * H, this.masks[l - 1][e], this.dDropped[l - 1][e], this.caches[l - 1][e].dHs.subarray(B * H));
        }
      }
    }
    for (let d = 0; d < nd; d++) {
      if (this.caches[0][d].lookup?.on) continue; // the lookup's backward has added into ∂L/∂embed
      embeddingBackward(k, T * B, E, this.dirIds[d], this.dEmb[d]!, layout.view(grads, this.encoder.embedName));
    }
  }

  /** Sorts rows by length, fills the per-direction ids and revIdx, counts active rows per step. */
  private prepare(): void {
    const { B, T, lengths, order, rowLen, ids } = this;
    const V = this.encoder.config.vocab;
    for (let b = 0; b < B; b++) {
      const len = lengths[b];
      if (!(len >= 0 && len <= T)) throw new Error(`row ${b}: length ${len} is outside [0, ${T}] (steps ${T})`);
      order[b] = b;
    }
    order.sort((a, b) => lengths[b] - lengths[a] || a - b);
    for (let i = 0; i < B; i++) rowLen[i] = lengths[order[i]];
    for (let t = 0, i = B; t < T; t++) {
      while (i > 0 && rowLen[i - 1] <= t) i--;
      this.active[t] = i;
    }
    const fwd = this.dirIds[0];
    const rev = this.dirIds.length > 1 ? this.dirIds[1] : null;
    const revIdx = this.revIdx;
    for (let i = 0; i < B; i++) {
      const b = order[i];
      const len = rowLen[i];
      for (let t = 0; t < T; t++) {
        const at = t * B + i;
        if (t >= len) {
          fwd[at] = 0;
          if (rev) rev[at] = 0;
          if (revIdx) revIdx[at] = at;
          continue;
        }
        const id = ids[t * B + b];
        if (!(id >= 0 && id < V)) throw new RangeError(`row ${b}, step ${t}: id ${id} is outside the vocabulary of ${V}`);
        fwd[at] = id;
        if (rev) rev[(len - 1 - t) * B + i] = id;
        if (revIdx) revIdx[at] = (len - 1 - t) * B + i;
      }
    }
  }

  /** Zeroes what finished rows left in the state slots the whole-window products read. */
  private clearPaddingForward(c: LayerCache): void {
    const { B, T, H } = c;
    for (let t = 0; t < T; t++) {
      const n = this.active[t];
      if (n === B) continue;
      c.Hs.fill(0, ((t + 1) * B + n) * H, (t + 2) * B * H);
      c.Cs?.fill(0, ((t + 1) * B + n) * H, (t + 2) * B * H);
      c.RH?.fill(0, (t * B + n) * H, (t + 1) * B * H);
    }
  }

  /** dGates (and dHW) rows of finished rows stay zero, so the weight-gradient products skip them. */
  private clearPaddingBackward(c: LayerCache): void {
    const { B, T, G } = c;
    for (let t = 0; t < T; t++) {
      const n = this.active[t];
      if (n === B) continue;
      c.dGates.fill(0, (t * B + n) * G, (t + 1) * B * G);
      c.dHW?.fill(0, (t * B + n) * G, (t + 1) * B * G);
    }
  }

  private writeFinals(): void {
    const { B, order, rowLen } = this;
    const H = this.encoder.config.hidden;
    this.caches.forEach((row, l) => row.forEach((c, d) => {
      const f = this.finals[l][d];
      f.h.fill(0);
      f.c?.fill(0);
      for (let i = 0; i < B && rowLen[i] > 0; i++) {
        const src = (rowLen[i] * B + i) * H;
        f.h.set(c.Hs.subarray(src, src + H), order[i] * H);
        if (f.c) f.c.set(c.Cs!.subarray(src, src + H), order[i] * H);
      }
    }));
  }

  private writeOutputs(): void {
    const { B, T, order, rowLen } = this;
    const H = this.encoder.config.hidden;
    const D = this.encoder.D;
    const out = this.outputs!;
    const top = this.caches[this.caches.length - 1];
    out.fill(0, 0, T * B * D);
    for (let i = 0; i < B && rowLen[i] > 0; i++) {
      const len = rowLen[i];
      for (let t = 0; t < len; t++) {
        const dst = (t * B + order[i]) * D;
        const f = ((t + 1) * B + i) * H;
        out.set(top[0].Hs.subarray(f, f + H), dst);
        if (top.length > 1) {
          const r = ((len - t) * B + i) * H; // backward direction after len−t steps = h←_t
          out.set(top[1].Hs.subarray(r, r + H), dst + H);
        }
      }
    }
  }

  private readOutputGradients(): void {
    const { B, order, rowLen } = this;
    const H = this.encoder.config.hidden;
    const D = this.encoder.D;
    const dOut = this.dOutputs!;
    const top = this.caches[this.caches.length - 1];
    for (let i = 0; i < B && rowLen[i] > 0; i++) {
      const len = rowLen[i];
      for (let t = 0; t < len; t++) {
        const src = (t * B + order[i]) * D;
        top[0].dHs.set(dOut.subarray(src, src + H), ((t + 1) * B + i) * H);
        if (top.length > 1) top[1].dHs.set(dOut.subarray(src + H, src + D), ((len - t) * B + i) * H);
      }
    }
  }

  private addFinalGradients(l: number, d: number): void {
    const { B, order, rowLen } = this;
    const H = this.encoder.config.hidden;
    const c = this.caches[l][d];
    const g = this.dFinals[l][d];
    const dC = this.dCLast[l][d];
    dC?.fill(0);
    for (let i = 0; i < B && rowLen[i] > 0; i++) {
      const dst = (rowLen[i] * B + i) * H;
      const src = order[i] * H;
      for (let j = 0; j < H; j++) c.dHs[dst + j] += g.h[src + j];
      if (dC) dC.set(g.c!.subarray(src, src + H), i * H);
    }
  }
}
