// Packed single-precision GEMM: C[M,N] = beta·C + op(A)[M,K] · op(B)[K,N], beta ∈ {0, 1}.
//
// Blocking (GotoBLAS order): for each NC column block, for each KC slice of K, for each
// MC row block: A is packed into MR-row panels ([k][MR], zero-padded), then every NR-wide
// B micro-panel (kept in L1) is swept against all A panels (kept in L2) by a 4x8 register
// tile of 8 f32x4 accumulators. op(B) is packed into NR-column panels ([k][NR]) once
// per (NC, KC) block, transposing 4x4 blocks when B is stored [N,K]. Ragged edges
// use zero-padded panels and a scratch tile. All pointers are byte addresses in linear
// memory; `scratch` is this thread's packing area of SCRATCH_BYTES.
//
// Two builds of this file (scripts/build-wasm.mjs): plain SIMD128, where a multiply-add is
// f32x4.mul then f32x4.add, and relaxed SIMD, where it is one fused f32x4.relaxed_madd
// (vfmadd on x86-64). Both use the 4x8 tile: a 6x8 tile (12 accumulators + 2 B vectors + 1
// broadcast = 15 registers) and a 5x8 one measured 2x slower than 4x8 under Node 20 on AMD
// Zen 3 (FMA: 21 and 18 against 47 GFLOP/s on 240x256x256), V8 apparently spilling.

const FMA: bool = ASC_FEATURE_RELAXED_SIMD;
const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 1024;

const APACK_BYTES: usize = <usize>(MC * KC * 4);
const BPACK_BYTES: usize = <usize>(KC * NC * 4);
const TILE_BYTES: usize = <usize>(MR * NR * 4);
const SCRATCH_BYTES: usize = APACK_BYTES + BPACK_BYTES + TILE_BYTES;

/** The `path` argument of gemm: how an A·Bᵀ product runs (src/kernels/wasm/module.ts names them too). */
const PATH_PACKED: i32 = 0;
const PATH_DOT: i32 = 1;

export function scratchBytes(): i32 {
  return <i32>SCRATCH_BYTES;
}

/** 1 when this build multiplies-adds with relaxed-SIMD FMA, 0 for plain SIMD128. */
export function fusedMultiplyAdd(): i32 {
  return FMA ? 1 : 0;
}

// a·b + c: fused (one rounding) in the relaxed build, multiply then add in the plain one.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (FMA) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// 4x8 register tile: C[4,8] (row stride cs bytes) (+)= Apanel[kc][4] · Bpanel[kc][8] (row stride bs).
@inline function kernel4x8(kc: i32, ap: usize, bp: usize, bs: usize, cp: usize, cs: usize, acc: bool): void {
  let c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128;
  if (acc) {
    c00 = v128.load(cp); c01 = v128.load(cp, 16);
    c10 = v128.load(cp + cs); c11 = v128.load(cp + cs, 16);
    c20 = v128.load(cp + 2 * cs); c21 = v128.load(cp + 2 * cs, 16);
    c30 = v128.load(cp + 3 * cs); c31 = v128.load(cp + 3 * cs, 16);
  } else {
    const z = f32x4.splat(0);
    c00 = z; c01 = z; c10 = z; c11 = z; c20 = z; c21 = z; c30 = z; c31 = z;
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 16;
    bp += bs;
  }
  v128.store(cp, c00); v128.store(cp, c01, 16);
  v128.store(cp + cs, c10); v128.store(cp + cs, c11, 16);
  v128.store(cp + 2 * cs, c20); v128.store(cp + 2 * cs, c21, 16);
  v128.store(cp + 3 * cs, c30); v128.store(cp + 3 * cs, c31, 16);
}

// Transposes the 4x4 block whose rows are r0..r3 and stores its 4 rows (the columns) at
// dst, dst+stride, dst+2·stride, dst+3·stride.
@inline function transpose4Store(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(dst + stride, f32x4.shuffle(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, f32x4.shuffle(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, f32x4.shuffle(t2, t3, 2, 3, 6, 7));
}

// Packs op(A)[ic:ic+mc, pc:pc+kc] into MR-row panels: dst[p][k][i], rows past mc are zero.
function packA(transA: bool, A: usize, lda: usize, ic: i32, pc: i32, mc: i32, kc: i32, dst: usize): void {
  const ks: usize = <usize>MR * 4; // bytes per k in a panel
  for (let p = 0; p < mc; p += MR) {
    const rows = min(MR, mc - p);
    const panel = dst + <usize>(p * kc) * 4;
    if (transA) {
      // A stored [K,M]: a(i,k) = A[k·lda + i]; a panel row k is MR consecutive floats.
      const src = A + (<usize>pc * lda + <usize>(ic + p)) * 4;
      if (rows == MR) {
        for (let k = 0; k < kc; k++) {
          const d = panel + <usize>k * ks;
          const s = src + <usize>k * lda * 4;
          v128.store(d, v128.load(s));
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const d = panel + <usize>k * ks;
          const s = src + <usize>k * lda * 4;
          for (let i = 0; i < MR; i++) {
            store<f32>(d + (<usize>i << 2), i < rows ? load<f32>(s + (<usize>i << 2)) : <f32>0);
          }
        }
      }
    } else {
      // A stored [M,K]: a(i,k) = A[i·lda + k]; transpose 4x4 blocks of the 4 row streams.
      const src = A + (<usize>(ic + p) * lda + <usize>pc) * 4;
      if (rows == MR) {
        const rs = lda * 4;
        const s0 = src, s1 = src + rs, s2 = src + 2 * rs, s3 = src + 3 * rs;
        let k = 0;
        for (; k + 4 <= kc; k += 4) {
          const o = <usize>k << 2;
          const d = panel + <usize>k * ks;
          transpose4Store(v128.load(s0 + o), v128.load(s1 + o), v128.load(s2 + o), v128.load(s3 + o), d, ks);
        }
        for (; k < kc; k++) {
          const o = <usize>k << 2;
          const d = panel + <usize>k * ks;
          for (let i = 0; i < MR; i++) {
            store<f32>(d + (<usize>i << 2), load<f32>(src + <usize>i * rs + o));
          }
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const d = panel + <usize>k * ks;
          for (let i = 0; i < MR; i++) {
            store<f32>(d + (<usize>i << 2),
              i < rows ? load<f32>(src + (<usize>i * lda + <usize>k) * 4) : <f32>0);
          }
        }
      }
    }
  }
}

// Packs Bᵀ: B stored [N,K], b(k,j) = B[j·ldb + k]; dst panel q holds [k][NR] for columns
// jc+q·NR.., zero-padded past nc.
function packBT(B: usize, ldb: usize, jc: i32, pc: i32, nc: i32, kc: i32, dst: usize): void {
  for (let q = 0; q < nc; q += NR) {
    const cols = min(NR, nc - q);
    const panel = dst + <usize>(q * kc) * 4;
    const src = B + (<usize>(jc + q) * ldb + <usize>pc) * 4;
    if (cols == NR) {
      const rs = ldb * 4;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const o = src + (<usize>k << 2);
        const d = panel + (<usize>k << 5);
        transpose4Store(v128.load(o), v128.load(o + rs), v128.load(o + 2 * rs), v128.load(o + 3 * rs), d, 32);
        const o4 = o + 4 * rs;
        transpose4Store(v128.load(o4), v128.load(o4 + rs), v128.load(o4 + 2 * rs), v128.load(o4 + 3 * rs), d + 16, 32);
      }
      for (; k < kc; k++) {
        const d = panel + (<usize>k << 5);
        for (let j = 0; j < NR; j++) {
          store<f32>(d + (<usize>j << 2), load<f32>(src + (<usize>j * ldb + <usize>k) * 4));
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const d = panel + (<usize>k << 5);
        for (let j = 0; j < NR; j++) {
          store<f32>(d + (<usize>j << 2),
            j < cols ? load<f32>(src + (<usize>j * ldb + <usize>k) * 4) : <f32>0);
        }
      }
    }
  }
}

// Packs B stored [K,N]: b(k,j) = B[k·ldb + j]; dst panel q holds [k][NR] for columns
// jc+q·NR.., zero-padded past nc. (Reading B in place with stride ldb is slower: a
// power-of-two ldb maps every row of a panel to the same L1 set.)
function packB(B: usize, ldb: usize, jc: i32, pc: i32, nc: i32, kc: i32, dst: usize): void {
  for (let q = 0; q < nc; q += NR) {
    const cols = min(NR, nc - q);
    const panel = dst + <usize>(q * kc) * 4;
    const src = B + (<usize>pc * ldb + <usize>(jc + q)) * 4;
    if (cols == NR) {
      for (let k = 0; k < kc; k++) {
        const s = src + <usize>k * ldb * 4;
        const d = panel + (<usize>k << 5);
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = src + <usize>k * ldb * 4;
        const d = panel + (<usize>k << 5);
        for (let j = 0; j < NR; j++) {
          store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(s + (<usize>j << 2)) : <f32>0);
        }
      }
    }
  }
}

// ---- A·Bᵀ for few rows (the caller's PATH_DOT): dot products of contiguous rows, nothing packed.
// The per-step recurrent product h·W_hhᵀ (PyTorch weight layout) and batch-1 sampling
// land here; B is read once per call instead of being copied into panels first.

// Sums of four vectors: [Σx0, Σx1, Σx2, Σx3].
@inline function hsum4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const t0 = f32x4.add(f32x4.shuffle(x0, x1, 0, 4, 1, 5), f32x4.shuffle(x0, x1, 2, 6, 3, 7));
  const t1 = f32x4.add(f32x4.shuffle(x2, x3, 0, 4, 1, 5), f32x4.shuffle(x2, x3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(t0, t1, 0, 1, 4, 5), f32x4.shuffle(t0, t1, 2, 3, 6, 7));
}

// C[2,4] tile (+)= A rows a0,a1 · B rows b0..b3 (each K long). Rows past the edge are
// passed as duplicates of a valid row; `rows`/`cols` say how much of the tile to store.
// `two` is a compile-time constant after inlining: false drops the second row's work.
@inline function dotTile(
  two: bool, K: i32, a0: usize, a1: usize, b0: usize, b1: usize, b2: usize, b3: usize,
  cp: usize, cs: usize, rows: i32, cols: i32, acc: bool,
): void {
  const z = f32x4.splat(0);
  let s00 = z, s01 = z, s02 = z, s03 = z, s10 = z, s11 = z, s12 = z, s13 = z;
  const kb = <usize>(K & ~3) * 4;
  for (let o: usize = 0; o < kb; o += 16) {
    const x0 = v128.load(a0 + o);
    const x1 = two ? v128.load(a1 + o) : z;
    let w = v128.load(b0 + o);
    s00 = madd(x0, w, s00);
    if (two) s10 = madd(x1, w, s10);
    w = v128.load(b1 + o);
    s01 = madd(x0, w, s01);
    if (two) s11 = madd(x1, w, s11);
    w = v128.load(b2 + o);
    s02 = madd(x0, w, s02);
    if (two) s12 = madd(x1, w, s12);
    w = v128.load(b3 + o);
    s03 = madd(x0, w, s03);
    if (two) s13 = madd(x1, w, s13);
  }
  let r0 = hsum4(s00, s01, s02, s03);
  let r1 = two ? hsum4(s10, s11, s12, s13) : z;
  for (let o = kb; o < <usize>K * 4; o += 4) {
    // K tail: one k at a time, lane c takes row b_c
    const w = f32x4(load<f32>(b0 + o), load<f32>(b1 + o), load<f32>(b2 + o), load<f32>(b3 + o));
    r0 = madd(v128.load32_splat(a0 + o), w, r0);
    if (two) r1 = madd(v128.load32_splat(a1 + o), w, r1);
  }
  if (cols == 4) {
    if (acc) r0 = f32x4.add(r0, v128.load(cp));
    v128.store(cp, r0);
    if (rows == 2) {
      if (acc) r1 = f32x4.add(r1, v128.load(cp + cs));
      v128.store(cp + cs, r1);
    }
  } else {
    for (let c = 0; c < cols; c++) {
      const q = cp + (<usize>c << 2);
      let v = f32x4.extract_lane(r0, 0);
      if (c == 1) v = f32x4.extract_lane(r0, 1);
      else if (c == 2) v = f32x4.extract_lane(r0, 2);
      store<f32>(q, acc ? load<f32>(q) + v : v);
      if (rows == 2) {
        let u = f32x4.extract_lane(r1, 0);
        if (c == 1) u = f32x4.extract_lane(r1, 1);
        else if (c == 2) u = f32x4.extract_lane(r1, 2);
        store<f32>(q + cs, acc ? load<f32>(q + cs) + u : u);
      }
    }
  }
}

// C[M,N] (+)= A[M,K] · B[N,K]ᵀ, A and B row-major with leading dims lda, ldb.
export function gemmDotNT(M: i32, N: i32, K: i32, A: usize, lda: usize, B: usize, ldb: usize, acc: bool, C: usize, ldc: usize): void {
  const as = lda * 4, bs = ldb * 4, cs = ldc * 4;
  for (let j = 0; j < N; j += 4) {
    const cols = min(4, N - j);
    const b0 = B + <usize>j * bs;
    const b1 = cols > 1 ? b0 + bs : b0;
    const b2 = cols > 2 ? b0 + 2 * bs : b0;
    const b3 = cols > 3 ? b0 + 3 * bs : b0;
    for (let i = 0; i < M; i += 2) {
      const rows = min(2, M - i);
      const a0 = A + <usize>i * as;
      const cp = C + <usize>i * cs + (<usize>j << 2);
      if (rows == 2) dotTile(true, K, a0, a0 + as, b0, b1, b2, b3, cp, cs, 2, cols, acc);
      else dotTile(false, K, a0, a0, b0, b1, b2, b3, cp, cs, 1, cols, acc);
    }
  }
}

// One (NC, KC) block of the packed path: for each MC row block, A is packed into MR-row
// panels, then every NR-wide micro-panel of the packed B block `bpack` is swept against
// every A panel. C (+)= op(A)[:, pc:pc+kc] · B block, columns jc..jc+nc of C.
@inline function rowBlocks(
  ta: bool, M: i32, A: usize, ulda: usize, jc: i32, pc: i32, nc: i32, kc: i32,
  bpack: usize, apack: usize, tile: usize, C: usize, uldc: usize, acc: bool,
): void {
  const cs = uldc * 4;
  for (let ic = 0; ic < M; ic += MC) {
    const mc = min(MC, M - ic);
    packA(ta, A, ulda, ic, pc, mc, kc, apack);
    for (let jr = 0; jr < nc; jr += NR) {
      const nr = min(NR, nc - jr);
      const bp = bpack + <usize>(jr * kc) * 4;
      const bs: usize = 32;
      const cCol = C + <usize>(jc + jr) * 4;
      for (let ir = 0; ir < mc; ir += MR) {
        const mr = min(MR, mc - ir);
        const ap = apack + <usize>(ir * kc) * 4;
        const cp = cCol + <usize>(ic + ir) * cs;
        if (mr == MR && nr == NR) {
          kernel4x8(kc, ap, bp, bs, cp, cs, acc);
        } else {
          // ragged tile: compute into the scratch tile, copy the live mr x nr part
          if (acc) {
            for (let i = 0; i < MR; i++) {
              for (let j = 0; j < NR; j++) {
                store<f32>(tile + <usize>(i * NR + j) * 4,
                  i < mr && j < nr ? load<f32>(cp + <usize>i * cs + <usize>j * 4) : <f32>0);
              }
            }
          }
          kernel4x8(kc, ap, bp, bs, tile, 32, acc);
          for (let i = 0; i < mr; i++) {
            for (let j = 0; j < nr; j++) {
              store<f32>(cp + <usize>i * cs + <usize>j * 4, load<f32>(tile + <usize>(i * NR + j) * 4));
            }
          }
        }
      }
    }
  }
}

// ---- B packed once for many products (the layer sweeps of ./sweep.ts: W_hh, once per window)

/** Bytes of a whole B [K,N] packed by prepackB: every (NC, KC) block's panels, in gemm's order. */
export function prepackedBytes(K: i32, N: i32): i32 {
  let cols = 0;
  for (let jc = 0; jc < N; jc += NC) cols += (min(NC, N - jc) + NR - 1) / NR * NR;
  return cols * K * 4;
}

/** Packs B stored [K,N] (leading dim ldb) whole, block after block as gemm packs them, into dst (prepackedBytes). */
export function prepackB(K: i32, N: i32, B: usize, ldb: i32, dst: usize): void {
  let off: usize = 0;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    const width = (nc + NR - 1) / NR * NR;
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(B, <usize>ldb, jc, pc, nc, kc, dst + off);
      off += <usize>(width * kc) * 4;
    }
  }
}

/** C[M,N] += A[M,K]·B on a B that prepackB packed: the same sums, element by element, as
 *  gemm(0, 0, M, N, K, A, lda, B, ldb, 1, C, ldc, ·) with only A packed here. */
export function gemmPrepackedNN(M: i32, N: i32, K: i32, A: usize, lda: i32, Bp: usize, C: usize, ldc: i32, scratch: usize): void {
  if (M <= 0 || N <= 0 || K <= 0) return;
  const apack = scratch;
  const tile = scratch + APACK_BYTES + BPACK_BYTES;
  let off: usize = 0;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    const width = (nc + NR - 1) / NR * NR;
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      rowBlocks(false, M, A, <usize>lda, jc, pc, nc, kc, Bp + off, apack, tile, C, <usize>ldc, true);
      off += <usize>(width * kc) * 4;
    }
  }
}

function zeroRows(M: i32, N: i32, C: usize, ldc: usize): void {
  for (let i = 0; i < M; i++) memory.fill(C + <usize>i * ldc * 4, 0, <usize>N * 4);
}

// C[M,N] = beta·C + op(A)·op(B). `path` is the caller's choice for A·Bᵀ (transA 0, transB 1):
// PATH_DOT = dot products of rows, nothing packed (few rows: the per-step recurrent product,
// batch-1 sampling); PATH_PACKED = packed panels. Every other product is packed. The caller
// chooses once per product, so that a product split across threads takes one path in every
// chunk and its result does not depend on the split.
export function gemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: i32, C: usize, ldc: i32, path: i32, scratch: usize,
): void {
  if (M <= 0 || N <= 0) return;
  const uldc = <usize>ldc;
  if (K <= 0) {
    if (beta == 0) zeroRows(M, N, C, uldc);
    return;
  }
  const ulda = <usize>lda, uldb = <usize>ldb;
  if (transB != 0 && transA == 0 && path == PATH_DOT) {
    gemmDotNT(M, N, K, A, ulda, B, uldb, beta != 0, C, uldc);
    return;
  }
  const apack = scratch;
  const bpack = scratch + APACK_BYTES;
  const tile = bpack + BPACK_BYTES;
  const ta = transA != 0, tb = transB != 0;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      if (tb) packBT(B, uldb, jc, pc, nc, kc, bpack);
      else packB(B, uldb, jc, pc, nc, kc, bpack);
      rowBlocks(ta, M, A, ulda, jc, pc, nc, kc, bpack, apack, tile, C, uldc, beta != 0 || pc > 0);
    }
  }
}
