// Attention of a decoder over an encoder's outputs, masked by source lengths.
//
// Shapes: e_s [S,B,D] the encoder's output at source position s (D = directions × H_enc),
// h_t [T,B,H] the decoder's query at target step t, len_b ≥ 1 the source length of row b.
// Positions s ≥ len_b are padding: they get weight 0 and exactly zero gradient.
//
//   dot (Luong's "general"):   k_s = W_a e_s            [S,B,H]   (k_s = e_s when D = H and no
//                              score(t,s) = h_t · k_s              projection is asked for)
//   additive (Bahdanau):       k_s = W_k e_s            [S,B,A]
//                              q_t = W_q h_t + b_q      [T,B,A]
//                              score(t,s) = v · tanh(q_t + k_s)
//
//   α_{t,s} = exp(score(t,s)) / Σ_{s' < len_b} exp(score(t,s'))   for s < len_b, else 0
//   c_t     = Σ_s α_{t,s} e_s                                     [T,B,D]
//
// Layout: per-row blocks [B,T,S] for scores and α (row b's [T,S] matrix is contiguous), so
// every product is one GEMM per batch row over the time-major buffers with leading
// dimension B·width (row b of step t sits at (t·B + b)·width). The softmax and the tanh of
// the additive score are elementwise loops here; everything with a reduction over a
// width is a GEMM.
import type { Arena, Kernels, Vec } from '../kernels/types.js';
import type { ParamSpec } from './params.js';

export type AttentionKind = 'dot' | 'additive';
export const ATTENTION_KINDS: readonly AttentionKind[] = ['dot', 'additive'];

export interface AttentionDims {
  B: number;
  /** target steps (queries) */
  T: number;
  /** source positions (keys), the longest source of the batch */
  S: number;
  /** encoder output width */
  D: number;
  /** query width (decoder hidden) */
  H: number;
  /** additive attention's hidden width (unused for dot) */
  A: number;
}

/** Parameters (or their gradients: same shapes). Names in attentionParamSpecs. */
export interface AttentionWeights {
  /** dot: W_a [H,D] or null (no projection, D = H); additive: W_k [A,D] */
  Wk: Vec | null;
  /** additive: W_q [A,H], b_q [A], v [A] */
  Wq: Vec | null;
  bq: Vec | null;
  v: Vec | null;
}

/** Whether dot attention needs its projection: always when the widths differ. */
export function dotNeedsProjection(D: number, H: number, project: boolean): boolean {
  return project || D !== H;
}

export function attentionParamSpecs(
  kind: AttentionKind, D: number, H: number, A: number, prefix = 'attn', project = false,
): ParamSpec[] {
  if (kind === 'dot') return dotNeedsProjection(D, H, project) ? [{ name: `${prefix}.weight_a`, shape: [H, D] }] : [];
  return [
    { name: `${prefix}.weight_k`, shape: [A, D] },
    { name: `${prefix}.weight_q`, shape: [A, H] },
    { name: `${prefix}.bias_q`, shape: [A] },
    { name: `${prefix}.v`, shape: [A] },
  ];
}

export interface AttentionCache extends AttentionDims {
  kind: AttentionKind;
  /** Source lengths [B] (set by the caller before forward). */
  lens: Int32Array;
  /** k_s [S,B,K] with K = H (dot) or A (additive); unused (empty) for dot without projection */
  keys: Vec;
  /** additive: q_t [T,B,A] */
  query: Vec;
  /** additive: tanh(q_t + k_s) [B,T,S,A] */
  U: Vec;
  /** α [B,T,S] */
  alpha: Vec;
  /** c_t [T,B,D] */
  context: Vec;
  // gradient scratch (training only)
  dAlpha: Vec;
  dKeys: Vec;
  dQuery: Vec;
}

export function allocAttentionCache(
  arena: Arena, kind: AttentionKind, dims: AttentionDims, training: boolean, project = false,
): AttentionCache {
  const { B, T, S, D, H, A } = dims;
  const additive = kind === 'additive';
  const Kw = additive ? A : H;
  const keyed = additive || dotNeedsProjection(D, H, project);
  const g = (n: number) => (training ? arena.floats(n) : arena.floats(0));
  return {
    kind, ...dims,
    lens: arena.ints(B),
    keys: arena.floats(keyed ? S * B * Kw : 0),
    query: arena.floats(additive ? T * B * A : 0),
    U: arena.floats(additive ? B * T * S * A : 0),
    alpha: arena.floats(B * T * S),
    context: arena.floats(T * B * D),
    dAlpha: g(B * T * S),
    dKeys: g(keyed ? S * B * Kw : 0),
    dQuery: g(additive ? T * B * A : 0),
  };
}

function checkLens(c: AttentionCache): void {
  for (let b = 0; b < c.B; b++) {
    const n = c.lens[b];
    if (!(n >= 1 && n <= c.S)) throw new Error(`source length ${n} of row ${b} is outside 1..${c.S}`);
  }
}

/**
 * Fills c.alpha and c.context from enc [S,B,D] and query [T,B,H].
 * T may be smaller than the cache's T (decoding one step at a time uses T = 1).
 */
export function attentionForward(k: Kernels, w: AttentionWeights, c: AttentionCache, enc: Vec, query: Vec, T = c.T): void {
  const { B, S, D, H, A } = c;
  checkLens(c);
  if (c.kind === 'dot') {
    const Kmat = w.Wk ? c.keys : enc;
    const ldk = w.Wk ? B * H : B * D;
    // k_s = W_a e_s for all S·B rows at once (only needed once per source; cheap)
    if (w.Wk) k.gemm(false, true, S * B, H, D, enc, D, w.Wk, D, 0, c.keys, H);
    for (let b = 0; b < B; b++) {
      // scores_b [T,S] = h_b [T,H] · k_bᵀ [H,S]
      k.gemm(false, true, T, S, H, query.subarray(b * H), B * H, Kmat.subarray(b * (w.Wk ? H : D)), ldk, 0,
        c.alpha.subarray(b * T * S), S);
    }
  } else {
    k.gemm(false, true, S * B, A, D, enc, D, w.Wk!, D, 0, c.keys, A);
    k.gemm(false, true, T * B, A, H, query, H, w.Wq!, H, 0, c.query, A);
    k.addBias(T * B, A, c.query, A, w.bq!);
    const v = w.v!;
    const U = c.U;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const q = (t * B + b) * A;
        for (let s = 0; s < c.lens[b]; s++) {
          const kk = (s * B + b) * A;
          const u = ((b * T + t) * S + s) * A;
          let score = 0;
          for (let a = 0; a < A; a++) {
            const x = Math.tanh(c.query[q + a] + c.keys[kk + a]);
            U[u + a] = x;
            score += v[a] * x;
          }
          c.alpha[(b * T + t) * S + s] = score;
        }
      }
    }
  }
  maskedSoftmax(c, T);
  for (let b = 0; b < B; b++) {
    // c_b [T,D] = α_b [T,S] · e_b [S,D]
    k.gemm(false, false, T, D, S, c.alpha.subarray(b * T * S), S, enc.subarray(b * D), B * D, 0,
      c.context.subarray(b * D), B * D);
  }
}

/** Scores → α in place, row by row, over the valid positions; padding gets exactly 0. */
function maskedSoftmax(c: AttentionCache, T: number): void {
  const { B, S } = c;
  const a = c.alpha;
  for (let b = 0; b < B; b++) {
    const n = c.lens[b];
    for (let t = 0; t < T; t++) {
      const r = (b * T + t) * S;
      let max = -Infinity;
      for (let s = 0; s < n; s++) if (a[r + s] > max) max = a[r + s];
      let sum = 0;
      for (let s = 0; s < n; s++) {
        const e = Math.exp(a[r + s] - max);
        a[r + s] = e;
        sum += e;
      }
      for (let s = 0; s < n; s++) a[r + s] /= sum;
      for (let s = n; s < S; s++) a[r + s] = 0;
    }
  }
}

/**
 * Given dContext [T,B,D] = ∂L/∂c_t: accumulates ∂L/∂e into dEnc [S,B,D], ∂L/∂h into dQuery
 * [T,B,H] and the parameter gradients into dw (all +=). dContext is left unchanged.
 */
export function attentionBackward(
  k: Kernels, w: AttentionWeights, dw: AttentionWeights, c: AttentionCache,
  enc: Vec, query: Vec, dContext: Vec, dEnc: Vec, dQuery: Vec,
): void {
  const { B, T, S, D, H, A } = c;
  const dAlpha = c.dAlpha;
  for (let b = 0; b < B; b++) {
    const alphaB = c.alpha.subarray(b * T * S);
    const dcB = dContext.subarray(b * D);
    // c_b = α_b·e_b:  dα_b [T,S] = dc_b [T,D] · e_bᵀ,  de_b [S,D] += α_bᵀ · dc_b
    k.gemm(false, true, T, S, D, dcB, B * D, enc.subarray(b * D), B * D, 0, dAlpha.subarray(b * T * S), S);
    k.gemm(true, false, S, D, T, alphaB, S, dcB, B * D, 1, dEnc.subarray(b * D), B * D);
  }
  // softmax: dscore_s = α_s (dα_s − Σ_s' α_s' dα_s'); padding has α = 0 and so gets 0
  for (let r = 0; r < B * T; r++) {
    const o = r * S;
    let dot = 0;
    for (let s = 0; s < S; s++) dot += c.alpha[o + s] * dAlpha[o + s];
    for (let s = 0; s < S; s++) dAlpha[o + s] = c.alpha[o + s] * (dAlpha[o + s] - dot);
  }
  const dScore = dAlpha;
  if (c.kind === 'dot') {
    const keyed = w.Wk !== null;
    const Kmat = keyed ? c.keys : enc;
    const dK = keyed ? c.dKeys : dEnc;
    const Kw = keyed ? H : D; // = H either way; the leading dimension differs
    for (let b = 0; b < B; b++) {
      const dsB = dScore.subarray(b * T * S);
      // score = h_t·k_s:  dh_b [T,H] += ds_b · k_b,  dk_b [S,H] (+)= ds_bᵀ · h_b
      k.gemm(false, false, T, H, S, dsB, S, Kmat.subarray(b * Kw), B * Kw, 1, dQuery.subarray(b * H), B * H);
      k.gemm(true, false, S, H, T, dsB, S, query.subarray(b * H), B * H, keyed ? 0 : 1, dK.subarray(b * Kw), B * Kw);
    }
    if (keyed) {
      // k = e·W_aᵀ:  dW_a += dkᵀ·e,  de += dk·W_a
      k.gemm(true, false, H, D, S * B, c.dKeys, H, enc, D, 1, dw.Wk!, D);
      k.gemm(false, false, S * B, D, H, c.dKeys, H, w.Wk!, D, 1, dEnc, D);
    }
    return;
  }
  // additive: score = Σ_a v_a u_a with u = tanh(q_t + k_s)
  const v = w.v!;
  const dv = dw.v!;
  const dQ = c.dQuery;
  const dK = c.dKeys;
  dQ.fill(0);
  dK.fill(0);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const q = (t * B + b) * A;
      for (let s = 0; s < c.lens[b]; s++) {
        const ds = dScore[(b * T + t) * S + s];
        const kk = (s * B + b) * A;
        const u = ((b * T + t) * S + s) * A;
        for (let a = 0; a < A; a++) {
          const x = c.U[u + a];
          dv[a] += ds * x;
          const dPre = ds * v[a] * (1 - x * x); // through u = tanh(pre)
          dQ[q + a] += dPre;
          dK[kk + a] += dPre;
        }
      }
    }
  }
  // q = h·W_qᵀ + b_q and k = e·W_kᵀ
  k.gemm(true, false, A, H, T * B, dQ, A, query, H, 1, dw.Wq!, H);
  k.sumRows(T * B, A, dQ, A, dw.bq!);
  k.gemm(false, false, T * B, H, A, dQ, A, w.Wq!, H, 1, dQuery, H);
  k.gemm(true, false, A, D, S * B, dK, A, enc, D, 1, dw.Wk!, D);
  k.gemm(false, false, S * B, D, A, dK, A, w.Wk!, D, 1, dEnc, D);
}
