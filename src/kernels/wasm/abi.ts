// The functions the compiled kernels module exports (src/kernels/wasm/assembly), as the
// TypeScript side calls them: every array argument is a byte offset into the shared
// memory. Both builds (plain SIMD128 and relaxed SIMD) export the same functions.

/** gemm's `path` argument for A·Bᵀ (transA false, transB true); other products are always packed. */
export const GemmPath = {
  /** Pack both operands into panels (the general path). */
  packed: 0,
  /** Dot products of contiguous rows, nothing packed: few rows (per-step products, batch-1 sampling). */
  dot: 1,
} as const;
export type GemmPath = (typeof GemmPath)[keyof typeof GemmPath];

/** sweep()'s `kind` (assembly/sweep.ts): which layer's time loop, forward or backward. */
export const SweepKind = {
  lstmForward: 0,
  lstmBackward: 1,
  gruTorchForward: 2,
  gruTorchBackward: 3,
  /** The loss's rows in blocks (assembly/cells.ts softmaxXentBlocks): B rows, T = V, no H. */
  softmaxXent: 4,
} as const;
/** Rows per block of the wasm softmaxXent's loss sum (assembly/cells.ts LOSS_BLOCK). */
export const LOSS_BLOCK = 64;
export type SweepKind = (typeof SweepKind)[keyof typeof SweepKind];

/** Buffers one sweep takes (p0 … p6 of assembly/sweep.ts; unused ones 0). */
export const SWEEP_POINTERS = 7;

export type SweepFn = (
  kind: SweepKind, lo: number, hi: number, B: number, T: number, H: number,
  p0: number, p1: number, p2: number, p3: number, p4: number, p5: number, p6: number, scratch: number,
) => void;

export type GemmFn = (
  transA: number, transB: number, M: number, N: number, K: number,
  A: number, lda: number, B: number, ldb: number, beta: number, C: number, ldc: number,
  path: GemmPath, scratch: number,
) => void;

/**
 * Bytes of packing area one thread's gemm needs (assembly/gemm.ts: MC·KC + KC·NC + MR·NR
 * floats), known before the module is compiled; the backend checks it against the module's
 * scratchBytes() when it instantiates it.
 */
export const SCRATCH_BYTES = (128 * 256 + 256 * 1024 + 4 * 8) * 4;
/** Its parts: A panels first (MC·KC floats), then B panels (KC·NC floats), then the ragged tile. */
export const SCRATCH_APACK_BYTES = 128 * 256 * 4;
export const SCRATCH_BPACK_BYTES = 256 * 1024 * 4;

export interface WasmExports {
  /** Bytes of packing area one thread's gemm needs. */
  scratchBytes(): number;
  /** 1 in the relaxed-SIMD build. */
  fusedMultiplyAdd(): number;
  gemm: GemmFn;
  /** Bytes of a B [K,N] packed whole by prepackB. */
  prepackedBytes(K: number, N: number): number;
  /** Packs B stored [K,N] whole (for gemmPrepackedNN and the backward sweeps). */
  prepackB(K: number, N: number, B: number, ldb: number, dst: number): void;
  /** C[M,N] += A·B on a prepacked B, the same sums as gemm's packed path. */
  gemmPrepackedNN(M: number, N: number, K: number, A: number, lda: number, Bp: number, C: number, ldc: number, scratch: number): void;
  /** A layer's time loop on rows lo..hi of the batch (assembly/sweep.ts). */
  sweep: SweepFn;
  rnnForward(g: number, n: number, H: number, pre: number, h: number): void;
  rnnBackward(g: number, n: number, H: number, h: number, dh: number, dPre: number): void;
  lstmForward(n: number, H: number, gates: number, cPrev: number, c: number, h: number, tanhC: number): void;
  lstmBackward(n: number, H: number, gates: number, cPrev: number, tanhC: number, dh: number, dc: number, dGates: number): void;
  gruResetForward(n: number, H: number, gates: number, hPrev: number, rh: number): void;
  gruOutForward(n: number, H: number, G: number, uOffset: number, cOffset: number, sigmoidU: number, gates: number, hPrev: number, h: number): void;
  gruOutBackward(n: number, H: number, G: number, uOffset: number, cOffset: number, gates: number, hPrev: number, dh: number, dGates: number, dhPrev: number): void;
  gruResetBackward(n: number, H: number, gates: number, hPrev: number, dRh: number, dGates: number, dhPrev: number): void;
  gruTorchForward(n: number, H: number, gates: number, hw: number, hPrev: number, h: number): void;
  gruTorchBackward(n: number, H: number, gates: number, hw: number, hPrev: number, dh: number, dGates: number, dHw: number, dhPrev: number): void;
  addBias(rows: number, N: number, X: number, ldx: number, bias: number): void;
  sumRows(rows: number, N: number, dX: number, ldx: number, dbias: number): void;
  checkIds(rows: number, ids: number, V: number): number;
  gatherRows(rows: number, E: number, ids: number, table: number, out: number): void;
  scatterAddRows(rows: number, E: number, ids: number, dOut: number, dtable: number): void;
  softmaxXent(rows: number, V: number, logits: number, targets: number, dLogits: number, scale: number): number;
  sumSquares(n: number, x: number): number;
  scale(n: number, x: number, s: number): void;
  adam(n: number, p: number, g: number, m: number, v: number, lr: number, b1: number, b2: number, eps: number, lrWd: number, c1: number, c2: number): void;
  rmsprop(n: number, p: number, g: number, v: number, lr: number, alpha: number, eps: number, ca: number): void;
  sgd(n: number, p: number, g: number, m: number, lr: number, mu: number): void;
}
