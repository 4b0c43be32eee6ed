// The compute interface every model operation goes through.
//
// Two backends implement it: `reference.ts` (plain TypeScript, float32 or float64,
// the test oracle) and the WebAssembly SIMD backend (float32 only). Model code in
// src/nn never loops over elements itself; it calls these functions on views.
//
// Conventions
// - Every matrix is row-major with an explicit leading dimension (ld = distance in
//   elements between consecutive rows), so a column block of a wider matrix can be
//   passed without copying: `X.subarray(col)` with ld = full row width.
// - Gate blocks: a pre-activation row of width G holds the gates one after another,
//   each H wide, in the order the cell file documents (PyTorch's order where it has one).
// - Pointwise kernels work on n = B rows of one time step and are given the row
//   strides they need; they never allocate.
// - The WebAssembly backend requires every view to live in its memory (see Arena).

export type Vec = Float32Array | Float64Array;
export type Dtype = 'f32' | 'f64';

/** Hands out views of one backing store. The WebAssembly backend's arena is its linear memory. */
export interface Arena {
  readonly dtype: Dtype;
  /** A zeroed float view of n elements, 64-byte aligned. */
  floats(n: number): Vec;
  /** A zeroed int32 view of n elements, 64-byte aligned. */
  ints(n: number): Int32Array;
}

/** How much an arena with a fixed limit can still hand out (the WebAssembly memory: 4 GiB). */
export interface ArenaCapacity {
  /** The most the arena can ever hold, in bytes. */
  readonly limit: number;
  /** Bytes still free: the limit less what is handed out and what the backend will take lazily (thread workspaces). */
  available(): number;
  /** The bytes a request of `bytes` takes (alignment included). */
  footprint(bytes: number): number;
}

export type RnnActivation = 'tanh' | 'relu';

/** The recurrent cells a Stepper runs (the equations are in src/nn/rnn.ts, lstm.ts, gru.ts). */
export type StepCell = 'rnn' | 'rnn-relu' | 'gru' | 'gru-min' | 'gru-torch' | 'lstm' | 'lstm-peep';

/** One recurrent layer's weights in PyTorch's layout (G = gates·H rows, In = E for layer 0, else H). */
export interface StepLayer {
  /** [G, In] */
  Wih: Vec;
  /** [G, H] */
  Whh: Vec;
  /** [G] */
  bih: Vec;
  /** [G] */
  bhh: Vec;
  /** [3H, H] peephole weights from c_{t-1} to the i, f, o gates (lstm-peep only, else null). */
  Wch: Vec | null;
}

/**
 * A character model run one character at a time (batch 1, no gradients):
 *   ids → embed [V,E] → L × cell → head: logits = W_y·h + b_y [V].
 * Views of the model's parameters; a Stepper reads them when it is created.
 */
export interface StepNet {
  cell: StepCell;
  /** V */
  vocab: number;
  /** E */
  embed: number;
  /** H */
  hidden: number;
  /** [V, E] */
  embedTable: Vec;
  layers: StepLayer[];
  /** [V, H] */
  headW: Vec;
  /** [V] */
  headB: Vec;
  /** True when layer 0 takes an extra pre-activation term (Stepper.inputBias: a conditioned model's tag input). */
  tagged: boolean;
}

/**
 * Batch-1 generation over a StepNet: the recurrent state is carried from call to call.
 * Backends may lay the weights out anew when the Stepper is created, so a Stepper sees the
 * weights as they were then: create a new one after they change.
 */
export interface Stepper {
  /** The carried state of layer l: h [H], and c [H] for LSTM cells (null otherwise). Writable. */
  state(l: number): { h: Vec; c: Vec | null };
  /** Tagged nets: a term [G] added to layer 0's pre-activations at every step (zero until written); null otherwise. */
  readonly inputBias: Vec | null;
  /** [V] the logits of the last step(). */
  readonly logits: Vec;
  /** [V] after step(id, temp > 0): exp((logits_j − max logits)/temp), unnormalised. */
  readonly probs: Vec;
  /** Zeroes the carried state. */
  reset(): void;
  /** Feeds ids[from, to) through the layers (the head is not computed). */
  advance(ids: Int32Array, from: number, to: number): void;
  /**
   * Feeds one id and computes the logits predicting the next one, and with temp > 0 the
   * tempered exps. Returns their sum (0 when temp is 0), or NaN when a logit is NaN or ±∞.
   */
  step(id: number, temp: number): number;
}

export interface Kernels {
  readonly name: string;
  readonly dtype: Dtype;
  arena(): Arena;
  /** The limit of the arena's memory; absent when it is only the process's (plain typed arrays). */
  readonly capacity?: ArenaCapacity;
  /**
   * The largest |value| of a float32 view of the arena (∞ when there is one, NaN for any
   * NaN), read where it lies: the check of a loaded checkpoint's weights. Absent: the
   * checkpoint reader uses magnitude.ts's largestMagnitude.
   */
  largestMagnitude?(x: Float32Array): number;

  /**
   * C[M,N] = beta·C + op(A)[M,K] · op(B)[K,N], beta ∈ {0, 1}.
   * op(A) = A (stored [M,K], lda ≥ K) or Aᵀ (stored [K,M], lda ≥ M); likewise B.
   */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: Vec, lda: number, B: Vec, ldb: number, beta: 0 | 1, C: Vec, ldc: number,
  ): void;

  /** X[r, 0:N] += bias[0:N] for r < rows (row stride ldx). */
  addBias(rows: number, N: number, X: Vec, ldx: number, bias: Vec): void;
  /** dbias[0:N] += Σ_r dX[r, 0:N]. */
  sumRows(rows: number, N: number, dX: Vec, ldx: number, dbias: Vec): void;

  /** out[r, :] = table[ids[r], :] for r < rows; table is [V, E]. */
  gatherRows(rows: number, E: number, ids: Int32Array, table: Vec, out: Vec): void;
  /** dtable[ids[r], :] += dOut[r, :]. */
  scatterAddRows(rows: number, E: number, ids: Int32Array, dOut: Vec, dtable: Vec): void;

  // ---- recurrent cells: one time step, n batch rows (see the cell files for the equations)

  /** act[i] = g(pre[i]) in place on an [n, H] block; writes h[n,H]. pre row stride = H. */
  rnnForward(g: RnnActivation, n: number, H: number, pre: Vec, h: Vec): void;
  /** dPre = dh ⊙ g'(·) given h = g(·); dh is consumed. */
  rnnBackward(g: RnnActivation, n: number, H: number, h: Vec, dh: Vec, dPre: Vec): void;

  /** LSTM, gates [i f g o]: gates in: pre-activations, out: σ,σ,tanh,σ; writes c, h, tanhC. */
  lstmForward(n: number, H: number, gates: Vec, cPrev: Vec, c: Vec, h: Vec, tanhC: Vec): void;
  /**
   * dh: gradient of h_t (total); dc: in: gradient of c_t from step t+1, out: gradient of c_{t-1}.
   * Writes dGates (pre-activation gradients) [n, 4H].
   */
  lstmBackward(
    n: number, H: number, gates: Vec, cPrev: Vec, tanhC: Vec, dh: Vec, dc: Vec, dGates: Vec,
  ): void;

  /** Classic GRU part 1, gates [r u c]: σ on r,u in place; rh = r ⊙ hPrev. */
  gruResetForward(n: number, H: number, gates: Vec, hPrev: Vec, rh: Vec): void;
  /** Classic / minimal GRU output: c̃ = tanh in place on the c block, h = u ⊙ c̃ + (1 − u) ⊙ hPrev.
   *  uOffset/cOffset: column offsets of the u and c̃ blocks inside a row of width G.
   *  When sigmoidU is true the u block is still a pre-activation and gets σ here (minimal GRU). */
  gruOutForward(
    n: number, H: number, G: number, uOffset: number, cOffset: number, sigmoidU: boolean,
    gates: Vec, hPrev: Vec, h: Vec,
  ): void;
  /** Backward of gruOutForward: writes dPre for u and c̃ blocks; dhPrev += dh ⊙ (1 − u). */
  gruOutBackward(
    n: number, H: number, G: number, uOffset: number, cOffset: number,
    gates: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dhPrev: Vec,
  ): void;
  /** Backward of gruResetForward given dRh = ∂L/∂(r ⊙ hPrev): writes dPre of r; dhPrev += dRh ⊙ r. */
  gruResetBackward(n: number, H: number, gates: Vec, hPrev: Vec, dRh: Vec, dGates: Vec, dhPrev: Vec): void;

  /**
   * PyTorch GRU (reset after the recurrent product), gates [r z n]:
   * gates in: x-side pre-activations (b_ih included); hw in: W_hh·h + b_hh.
   * Out: gates = σ(r), σ(z), tanh(n) in place; h = (1 − z) ⊙ n + z ⊙ hPrev. hw is kept (needed backward).
   */
  gruTorchForward(n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, h: Vec): void;
  /** Writes dGates (x side) and dHw (h side) [n, 3H]; dhPrev += dh ⊙ z. */
  gruTorchBackward(
    n: number, H: number, gates: Vec, hw: Vec, hPrev: Vec, dh: Vec, dGates: Vec, dHw: Vec, dhPrev: Vec,
  ): void;

  // ---- loss

  /**
   * Softmax cross-entropy over rows of logits [rows, V]. Returns Σ_r −log p_r[target_r] (nats).
   * When dLogits is given, writes scale · (softmax − onehot) into it (may alias logits).
   */
  softmaxXent(rows: number, V: number, logits: Vec, targets: Int32Array, dLogits: Vec | null, scale: number): number;

  // ---- flat-buffer ops for clipping and optimizers

  /** Σ x[i]² over n elements (accumulated in float64). */
  sumSquares(n: number, x: Vec): number;
  /** x[i] *= s. */
  scale(n: number, x: Vec, s: number): void;
  /**
   * One Adam step (with bias correction folded into lr and eps by the caller):
   * m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²; p −= lr · m / (√v + eps).
   * Weight decay (decoupled) when wd > 0: p −= lrWd · p before the update.
   */
  adam(n: number, p: Vec, g: Vec, m: Vec, v: Vec, lr: number, b1: number, b2: number, eps: number, lrWd: number): void;
  /** RMSprop: v = a·v + (1−a)·g²; p −= lr · g / (√v + eps). */
  rmsprop(n: number, p: Vec, g: Vec, v: Vec, lr: number, alpha: number, eps: number): void;
  /** SGD with momentum: m = mu·m + g; p −= lr · m (mu = 0: plain SGD). */
  sgd(n: number, p: Vec, g: Vec, m: Vec, lr: number, mu: number): void;

  // ---- whole windows of one layer (optional: the native backend has the LSTM's, the WebAssembly one all four; callers fall back to the per-step kernels)

  /**
   * The time loop of one LSTM layer's window (src/nn/lstm.ts, without peepholes, masked
   * rows or recurrent dropout), on the buffers of layer.ts: for t = 0 … T−1,
   * gates_t += h_{t-1}·W_hhᵀ (h_{t-1} = Hs slot t), then lstmForward(B, H, gates_t,
   * Cs slot t, Cs slot t+1, Hs slot t+1, TC slot t). Returns false, having written
   * nothing, when the backend declines the shape.
   */
  lstmSweepForward?(B: number, T: number, H: number, gates: Vec, Whh: Vec, Hs: Vec, Cs: Vec, TC: Vec): boolean;
  /**
   * Its backward: for t = T−1 … 0, lstmBackward(B, H, gates_t, Cs slot t, TC slot t,
   * dHs slot t+1, dC, dGates_t), then dHs slot t += dGates_t·W_hh. Returns false, having
   * written nothing, when the backend declines the shape.
   */
  lstmSweepBackward?(
    B: number, T: number, H: number, gates: Vec, Whh: Vec, Cs: Vec, TC: Vec, dHs: Vec, dC: Vec, dGates: Vec,
  ): boolean;
  /**
   * The time loop of one gru-torch layer's window (src/nn/gru.ts, every row every step, no
   * recurrent dropout): for t = 0 … T−1, HW slot t = h_{t-1}·W_hhᵀ + b_hh (h_{t-1} = Hs
   * slot t), then gruTorchForward(B, H, gates_t, HW_t, Hs slot t, Hs slot t+1). Returns
   * false, having written nothing, when the backend declines the shape.
   */
  gruTorchSweepForward?(B: number, T: number, H: number, gates: Vec, Whh: Vec, bhh: Vec, HW: Vec, Hs: Vec): boolean;
  /**
   * Its backward: for t = T−1 … 0, gruTorchBackward(B, H, gates_t, HW_t, Hs slot t, dHs
   * slot t+1, dGates_t, dHW_t, dHs slot t), then dHs slot t += dHW_t·W_hh. Returns false,
   * having written nothing, when the backend declines the shape.
   */
  gruTorchSweepBackward?(
    B: number, T: number, H: number, gates: Vec, Whh: Vec, HW: Vec, Hs: Vec, dHs: Vec, dGates: Vec, dHW: Vec,
  ): boolean;

  // ---- generation

  /** A batch-1 stepper over a model's weights (see Stepper); its buffers come from a new arena. */
  stepper(net: StepNet): Stepper;
}
