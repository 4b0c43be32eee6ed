// What every recurrent layer shares: its weights (PyTorch's layout and names), the
// activation cache of one window, and the helpers that slice time steps out of it.
//
// Layout of one layer over a window of T steps and B streams (time-major):
//   X      [T,B,In]      input (the embedding, or the layer below's output)
//   gates  [T,B,G]       pre-activations from X·W_ihᵀ + b, then each step's activated gates
//   Hs     [T+1,B,H]     slot 0 = carried-in state h_{-1}, slot t+1 = h_t; slots 1..T are the output
//   Cs     [T+1,B,H]     LSTM cell state, same convention
//   dHs    [T+1,B,H]     slot t+1 = ∂L/∂h_t (from above, plus the recurrence as it is added);
//                        slot 0 ends as ∂L/∂h_{-1}
// Storing the carried-in state in slot 0 makes h_{t-1} for all t one contiguous [T·B,H]
// block (slots 0..T-1), so the recurrent weight gradient is a single product.
//
// Masked batches (the encoder, src/nn/encoder.ts): rows sorted by length, longest first,
// so the rows still running at step t are a prefix 0..active[t]-1. The cells run only
// those rows per step; a finished row's state is never touched again, and its dGates
// rows stay zero (the caller clears them), so the whole-window products see nothing of it.
import type { Arena, Kernels, Vec } from '../kernels/types.js';
import { addMasked, applyMask } from './dropout.js';

export type CellKind = 'rnn' | 'rnn-relu' | 'gru' | 'gru-min' | 'gru-torch' | 'lstm' | 'lstm-peep';

export const CELL_KINDS: readonly CellKind[] = ['rnn', 'rnn-relu', 'gru', 'gru-min', 'gru-torch', 'lstm', 'lstm-peep'];

/** Gate width G as a multiple of H. */
export function gateCount(cell: CellKind): number {
  switch (cell) {
    case 'rnn':
    case 'rnn-relu':
      return 1;
    case 'gru-min':
      return 2;
    case 'gru':
    case 'gru-torch':
      return 3;
    case 'lstm':
    case 'lstm-peep':
      return 4;
  }
}

export function hasCellState(cell: CellKind): boolean {
  return cell === 'lstm' || cell === 'lstm-peep';
}

/** Views of one layer's parameters (or of their gradients: same shapes). */
export interface LayerWeights {
  /** [G, In] */
  Wih: Vec;
  /** [G, H] */
  Whh: Vec;
  /** [G] */
  bih: Vec;
  /** [G] */
  bhh: Vec;
  /** [3H, H] peephole weights from c_{t-1} to the i, f, o gates (lstm-peep only). */
  Wch: Vec | null;
}

export interface LayerDims {
  B: number;
  T: number;
  In: number;
  H: number;
  G: number;
}

/** Activations and gradient scratch of one layer for a (B, T) window. */
export interface LayerCache extends LayerDims {
  cell: CellKind;
  X: Vec;
  /** ∂L/∂X, written by backward (null: the input needs no gradient). */
  dX: Vec | null;
  gates: Vec;
  Hs: Vec;
  dHs: Vec;
  dGates: Vec;
  Cs: Vec | null;
  /** tanh(c_t) [T,B,H] (LSTM). */
  TC: Vec | null;
  /** ∂L/∂c carried backwards through the window [B,H]; ends as ∂L/∂c_{-1} (LSTM). */
  dC: Vec | null;
  /** r ⊙ h_{t-1} [T,B,H] (classic GRU). */
  RH: Vec | null;
  /** ∂L/∂(r ⊙ h_{t-1}) of one step [B,H] (classic GRU). */
  dRH: Vec | null;
  /** W_hh·h_{t-1} + b_hh [T,B,3H] and its gradient (PyTorch GRU). */
  HW: Vec | null;
  dHW: Vec | null;
  /** Layer 0 only: the input side as a table lookup (see inputProjection); null elsewhere. */
  lookup: EmbeddingLookup | null;
  /** Rows that run at step t (a prefix: rows sorted by length); null: all B rows every step. */
  active: Int32Array | null;
  /** The input as column blocks of X (a bidirectional layer's [h→ ; h←]); null: X itself. */
  parts: InputPart[] | null;
  /** LSTM: ∂L/∂c entering at each row's last step [B,H] (an encoder's final cell state); null: zero. */
  dCLast: Vec | null;
  /** Layer 0 of a conditioned model only: the tag's share of the pre-activation (see TagInput); null elsewhere. */
  tag: TagInput | null;
  /** Variational dropout on the recurrent input (training with --recurrent-dropout); null: off. */
  recurrent: RecurrentDropout | null;
}

/**
 * Variational dropout on the recurrent state (dropout.ts): the recurrent products of
 * step t read h̃_{t-1} = m ⊙ h_{t-1} with one mask m [B,H] for the whole window, so
 *   forward    HM[t] = m ⊙ h_{t-1},   pre_t += HM[t]·W_hhᵀ (W_hh's blocks as the cell has them)
 *   backward   dHM = dPre·W_hh,        ∂L/∂h_{t-1} += m ⊙ dHM,    dW_hh += dPreᵀ·HM
 * Whatever else a cell does with h_{t-1} (a GRU's (1 − u) ⊙ h_{t-1}) sees it unmasked.
 */
export interface RecurrentDropout {
  /** m [B,H], drawn per window by the workspace. */
  mask: Vec;
  /** m ⊙ h_{t-1} of every step [T,B,H] (slot t: the input of step t). */
  HM: Vec;
  /** ∂L/∂(m ⊙ h_{t-1}) of one step [B,H]. */
  dHM: Vec;
}

/**
 * A conditioned model's tag input to layer 0 (src/nn/model.ts). Every position carries a
 * weighting w [K] of the K tag rows (one-hot for a hard tag, a blend's weights otherwise);
 * its input is the mixed tag embedding x_tag = wᵀ·tagTable [D], next to the character
 * embedding. The pre-activation gains W_tag·x_tag, a sum of projected rows:
 *   Q [K,G] = tagTable·W_tagᵀ,   gates[r] += Σ_k w[r,k] Q[k]   (one product [T·B,K]·[K,G])
 * so no [T·B,D] input is ever formed and the character side keeps its lookup. Backward:
 *   dQ = wᵀ·dGates [K,G],   dW_tag += dQᵀ·tagTable,   d(tagTable) += dQ·W_tag.
 */
export interface TagInput {
  /** K: rows of the tag table. */
  K: number;
  /** D: tag embedding width. */
  D: number;
  /** w [T·B, K], written by the workspace per window. */
  mix: Vec;
  /** tag_embed.weight [K, D] and its gradient (null: no gradients). */
  table: Vec;
  dTable: Vec | null;
  /** rnn.weight_ih_tag_l0 [G, D] and its gradient. */
  W: Vec;
  dW: Vec | null;
  /** Q [K,G], then dQ in backward. */
  Q: Vec;
}

/**
 * One column block of a layer's input, stored on its own: X[:, col:col+width] = part.X
 * [T,B,width]. The input projection is then a sum of products, one per block, against
 * the matching column block of W_ih, so [h→_t ; h←_t] is never concatenated.
 */
export interface InputPart {
  col: number;
  width: number;
  X: Vec;
  /** ∂L/∂X of this block, overwritten by backward (null: not needed). */
  dX: Vec | null;
}

/**
 * Layer 0's input is an embedding lookup, X = embed[ids], so its input projection is a
 * lookup too: X·W_ihᵀ + b = P[ids] with P = embed·W_ihᵀ + b [V,G]. That costs 2·V·E·G
 * flops instead of 2·T·B·E·G (V ≪ T·B). Backward: dP = Σ of dGates rows by id, then
 * dW_ih += dPᵀ·embed, d(embed) += dP·W_ih, db = Σ dP: the embedding output X and its
 * gradient are never formed. `on` is set per forward by the workspace.
 */
export interface EmbeddingLookup {
  on: boolean;
  V: number;
  ids: Int32Array;
  /** embed.weight [V, In] and its gradient (null: no gradients). */
  table: Vec;
  dTable: Vec | null;
  /** P [V,G], then dP in backward. */
  P: Vec;
}

/**
 * Allocates a layer's cache. X and dX are given by the caller because they belong to
 * the layer below (zero-copy chaining: layer l's X is layer l−1's Hs slots 1..T).
 */
export function allocLayerCache(
  arena: Arena, cell: CellKind, dims: Omit<LayerDims, 'G'>, input: Vec | InputPart[], dX: Vec | null, training: boolean,
): LayerCache {
  const { B, T, In, H } = dims;
  const G = gateCount(cell) * H;
  const parts = Array.isArray(input) ? input : null;
  const X = parts ? arena.floats(0) : (input as Vec);
  if (parts) {
    let width = 0;
    for (const p of parts) {
      if (p.col !== width) throw new Error(`input block at column ${p.col}, expected ${width}`);
      if (p.X.length < T * B * p.width) throw new Error(`input block holds ${p.X.length} values, needs ${T * B * p.width}`);
      width += p.width;
    }
    if (width !== In) throw new Error(`input blocks cover ${width} columns, the layer takes ${In}`);
  } else if (X.length < T * B * In) {
    throw new Error(`layer input holds ${X.length} values, needs ${T * B * In}`);
  }
  const lstm = hasCellState(cell);
  const steps = T * B * H;
  return {
    cell, B, T, In, H, G, X, dX,
    gates: arena.floats(T * B * G),
    Hs: arena.floats((T + 1) * B * H),
    dHs: training ? arena.floats((T + 1) * B * H) : arena.floats(0),
    dGates: training ? arena.floats(T * B * G) : arena.floats(0),
    Cs: lstm ? arena.floats((T + 1) * B * H) : null,
    TC: lstm ? arena.floats(steps) : null,
    dC: lstm && training ? arena.floats(B * H) : null,
    RH: cell === 'gru' ? arena.floats(steps) : null,
    dRH: cell === 'gru' && training ? arena.floats(B * H) : null,
    HW: cell === 'gru-torch' ? arena.floats(T * B * G) : null,
    dHW: cell === 'gru-torch' && training ? arena.floats(T * B * G) : null,
    lookup: null,
    active: null,
    parts,
    dCLast: null,
    tag: null,
    recurrent: null,
  };
}

/** Adds variational recurrent dropout buffers to a training layer cache (the caller draws the mask). */
export function allocRecurrentDropout(arena: Arena, c: LayerCache): RecurrentDropout {
  const n = c.B * c.H;
  c.recurrent = { mask: arena.floats(n), HM: arena.floats(c.T * n), dHM: arena.floats(n) };
  return c.recurrent;
}

/**
 * What the recurrent product of step t reads: h_{t-1} (Hs slot t), or m ⊙ h_{t-1}
 * under recurrent dropout, written into HM slot t. [n,H] of a [B,H] block.
 */
export function recurrentInput(c: LayerCache, t: number, n: number): Vec {
  const hPrev = step(c.Hs, t, c.B, c.H);
  const rd = c.recurrent;
  if (!rd) return hPrev;
  const hm = step(rd.HM, t, c.B, c.H);
  applyMask(n * c.H, rd.mask, hPrev, hm);
  return hm;
}

/** The recurrent products' inputs of all T steps as one [T·B,H] block (for dW_hh): Hs slots 0..T-1, or HM. */
export function recurrentInputs(c: LayerCache): Vec {
  return c.recurrent ? c.recurrent.HM : c.Hs;
}

/**
 * Where the backward of step t's recurrent product accumulates: ∂L/∂h_{t-1} itself
 * (dHs slot t), or, under recurrent dropout, dHM, zeroed here; recurrentGradDone then
 * adds m ⊙ dHM into ∂L/∂h_{t-1}.
 */
export function recurrentGrad(c: LayerCache, t: number, n: number): Vec {
  const rd = c.recurrent;
  if (!rd) return step(c.dHs, t, c.B, c.H);
  rd.dHM.fill(0, 0, n * c.H);
  return rd.dHM;
}

/** Under recurrent dropout: ∂L/∂h_{t-1} += m ⊙ dHM (see recurrentGrad); a no-op without it. */
export function recurrentGradDone(c: LayerCache, t: number, n: number): void {
  const rd = c.recurrent;
  if (rd) addMasked(n * c.H, rd.mask, rd.dHM, step(c.dHs, t, c.B, c.H));
}

/** Rows that run at step t. */
export function rowsAt(c: LayerCache, t: number): number {
  return c.active ? c.active[t] : c.B;
}

/** Step t's [rows, width] block of a time-major buffer. */
export function step(buf: Vec, t: number, rows: number, width: number): Vec {
  const n = rows * width;
  return buf.subarray(t * n, (t + 1) * n);
}

/** Everything from column `col` on: a column block of a row-major matrix, used with its full ld. */
export function cols(buf: Vec, col: number): Vec {
  return buf.subarray(col);
}

/** The input side, shared by every cell: gates[T·B, G] = X·W_ihᵀ + b_ih (+ b_hh when it is not kept apart). */
export function inputProjection(k: Kernels, w: LayerWeights, c: LayerCache, addHiddenBias: boolean): void {
  const rows = c.T * c.B;
  const lk = c.lookup;
  if (lk?.on) {
    // P[V,G] = embed·W_ihᵀ + b_ih (+ b_hh); gates[r] = P[ids[r]]
    k.gemm(false, true, lk.V, c.G, c.In, lk.table, c.In, w.Wih, c.In, 0, lk.P, c.G);
    k.addBias(lk.V, c.G, lk.P, c.G, w.bih);
    if (addHiddenBias) k.addBias(lk.V, c.G, lk.P, c.G, w.bhh);
    k.gatherRows(rows, c.G, lk.ids, lk.P, c.gates);
  } else {
    if (c.parts) {
      // gates = Σ_blocks X_block·W_ih[:, block]ᵀ
      c.parts.forEach((p, j) => {
        k.gemm(false, true, rows, c.G, p.width, p.X, p.width, cols(w.Wih, p.col), c.In, j === 0 ? 0 : 1, c.gates, c.G);
      });
    } else {
      k.gemm(false, true, rows, c.G, c.In, c.X, c.In, w.Wih, c.In, 0, c.gates, c.G);
    }
    k.addBias(rows, c.G, c.gates, c.G, w.bih);
    if (addHiddenBias) k.addBias(rows, c.G, c.gates, c.G, w.bhh);
  }
  const tg = c.tag;
  if (tg) {
    // Q[K,G] = tagTable·W_tagᵀ; gates += w·Q
    k.gemm(false, true, tg.K, c.G, tg.D, tg.table, tg.D, tg.W, tg.D, 0, tg.Q, c.G);
    k.gemm(false, false, rows, c.G, tg.K, tg.mix, tg.K, tg.Q, c.G, 1, c.gates, c.G);
  }
}

/**
 * The weight gradients of the input side, and ∂L/∂X, once for the whole window:
 * dW_ih += dGatesᵀ·X, db_ih += Σ dGates, (db_hh += Σ dGates), dX = dGates·W_ih.
 */
export function inputProjectionBackward(
  k: Kernels, w: LayerWeights, dw: LayerWeights, c: LayerCache, hiddenBiasToo: boolean,
): void {
  const rows = c.T * c.B;
  const tg = c.tag;
  if (tg?.dW) {
    // dQ[K,G] = wᵀ·dGates; dW_tag += dQᵀ·tagTable; d(tagTable) += dQ·W_tag
    k.gemm(true, false, tg.K, c.G, rows, tg.mix, tg.K, c.dGates, c.G, 0, tg.Q, c.G);
    k.gemm(true, false, c.G, tg.D, tg.K, tg.Q, c.G, tg.table, tg.D, 1, tg.dW, tg.D);
    if (tg.dTable) k.gemm(false, false, tg.K, tg.D, c.G, tg.Q, c.G, tg.W, tg.D, 1, tg.dTable, tg.D);
  }
  const lk = c.lookup;
  if (lk?.on) {
    // dP[V,G] = Σ_{r: ids[r] = v} dGates[r]; dW_ih += dPᵀ·embed, db += Σ dP, d(embed) += dP·W_ih
    const dP = lk.P;
    dP.fill(0);
    k.scatterAddRows(rows, c.G, lk.ids, c.dGates, dP);
    k.gemm(true, false, c.G, c.In, lk.V, dP, c.G, lk.table, c.In, 1, dw.Wih, c.In);
    k.sumRows(lk.V, c.G, dP, c.G, dw.bih);
    if (hiddenBiasToo) k.sumRows(lk.V, c.G, dP, c.G, dw.bhh);
    if (lk.dTable) k.gemm(false, false, lk.V, c.In, c.G, dP, c.G, w.Wih, c.In, 1, lk.dTable, c.In);
    return;
  }
  k.sumRows(rows, c.G, c.dGates, c.G, dw.bih);
  if (hiddenBiasToo) k.sumRows(rows, c.G, c.dGates, c.G, dw.bhh);
  if (c.parts) {
    // per block: dW_ih[:, block] += dGatesᵀ·X_block, dX_block = dGates·W_ih[:, block]
    for (const p of c.parts) {
      k.gemm(true, false, c.G, p.width, rows, c.dGates, c.G, p.X, p.width, 1, cols(dw.Wih, p.col), c.In);
      if (p.dX) k.gemm(false, false, rows, p.width, c.G, c.dGates, c.G, cols(w.Wih, p.col), c.In, 0, p.dX, p.width);
    }
    return;
  }
  k.gemm(true, false, c.G, c.In, rows, c.dGates, c.G, c.X, c.In, 1, dw.Wih, c.In);
  if (c.dX) k.gemm(false, false, rows, c.In, c.G, c.dGates, c.G, w.Wih, c.In, 0, c.dX, c.In);
}

/** Moves the state at the end of the window (slot T) into slot 0 for the next window. */
export function carryState(c: LayerCache): void {
  const n = c.B * c.H;
  c.Hs.copyWithin(0, c.T * n, (c.T + 1) * n);
  if (c.Cs) c.Cs.copyWithin(0, c.T * n, (c.T + 1) * n);
}
