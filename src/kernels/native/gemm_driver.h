/* The blocked GEMM driver, compiled once per instruction set: the including file
 * defines MR, NR, KC, MC, NC, ISA_NAME, ISA_STRUCT and the microkernel
 *
 *   static void kernel(long kc, const float *a, long rsa, long csa, const float *b, long rsb,
 *                      float *c, long rsc, long csc, int m, int n, int accumulate);
 *
 * which computes the MR×NR tile  t[i][j] = Σ_k a[i·rsa + k·csa] · b[k·rsb + j]  (k in order,
 * one multiply-add per k) and writes c[i·rsc + j·csc] = t (accumulate = 0) or += t, for
 * i < m, j < n. A full tile with csc = 1 goes straight to C; the rest through a buffer.
 * It may define PACK_A_PANEL and
 *
 *   static void pack_a_panel(const float *a, long lda, long kc, float *dst);
 *
 * dst[k·MR + r] = a[r·lda + k] for r < MR, k < kc: a full panel of op(A) = A packed (a
 * copy, so the same results), where the plain loop writes one float at a time with
 * stride MR. It may also define EDGE_ROWS and
 *
 *   static void edge_kernel(long kc, const float *a, long rsa, long csa, const float *b0, long rsb0,
 *                           const float *b1, long rsb1, float *c, long rsc, int m, int n, int accumulate);
 *
 * the same sums for a last panel of m ≤ EDGE_ROWS rows across two strips at once (b0 the
 * first NR columns, b1 the rest, n ≤ 2·NR; csc = 1), which normal mode then uses there.
 *
 * Normal mode (BLIS order): for each NC-wide column block and KC-deep slice, op(B) is
 * packed into NR-wide strips (one strip, KC×NR, stays in L1 while every row panel of the
 * A block passes over it), op(A) into MR-tall panels of an MC×KC block (in L2).
 *
 * With few rows (M ≤ INPLACE_B_MAX_M: the per-step product dh = dG·W_hh) and op(B) = B,
 * packing would copy all of B for only M uses of each element: full strips are read in
 * place instead (rsb = ldb); only the last partial strip is packed. With op(A) = A the
 * full MR-row panels of A are read in place too (rsa = lda, csa = 1; only the last partial
 * panel is packed): each part of a split call packed the whole of A (all M rows, since
 * these calls are split along N) for its few strips. Measured on Zen 3, 2 threads, in one
 * process against the packed A: 32x256x1024 +5–15%, 32x128x512 +4–14%, 64x512x2048 ±3%.
 *
 * Swapped mode, for C = A·Bᵀ with few rows (the per-step recurrent product h·W_hhᵀ and
 * batch-1 sampling): packing B would transpose the whole weight matrix on every call
 * for only M uses of each element. Instead compute Cᵀ = B·Aᵀ: the rows of B are read in
 * place as the broadcast operand (rsa = ldb, csa = 1), the small A is packed as the
 * strip operand, and the tile is written transposed (rsc = 1, csc = ldc). The sums are
 * the same multiply-adds in the same order as in normal mode.
 *
 * Dot mode, for C = A·Bᵀ with at most DOT_MAX_M rows (batch-1 sampling and scoring): a
 * tile would waste most of its lanes on one row, so each element is a dot product along k
 * of a row of A and a row of B, both read in place, VW lanes at a time (then the lanes are
 * summed in a fixed order and the last K mod VW products added one by one). Four rows of
 * B at a time share each load of A. Bound by reading B once.
 *
 * Everything here has internal linkage, so each instruction set's copy stays its own. */
#include <string.h>
#include "gemm.h"

static inline long min_l(long a, long b) { return a < b ? a : b; }

/* Ap[p][k][i] = op(A)[i0 + p·MR + i, k0 + k], zero past row m1 (panels of MR rows) */
static void pack_a(const rnn_gemm_args *g, long i0, long m1, long k0, long kc, float *ap) {
  const float *A = g->A;
  const long lda = g->lda;
  for (long i = i0; i < m1; i += MR) {
    const long mr = min_l(MR, m1 - i);
    if (g->transA) { /* op(A)[i, k] = A[k, i]: MR contiguous floats per k */
      for (long k = 0; k < kc; k++) {
        const float *src = A + (k0 + k) * lda + i;
        float *dst = ap + k * MR;
        long r = 0;
        for (; r < mr; r++) dst[r] = src[r];
        for (; r < MR; r++) dst[r] = 0.0f;
      }
    } else { /* op(A)[i, k] = A[i, k]: one row at a time, written with stride MR */
#ifdef PACK_A_PANEL
      if (mr == MR) { /* a full panel: the instruction set's transposing copy */
        pack_a_panel(A + i * lda + k0, lda, kc, ap);
        ap += kc * MR;
        continue;
      }
#endif
      for (long r = 0; r < MR; r++) {
        float *dst = ap + r;
        if (r < mr) {
          const float *src = A + (i + r) * lda + k0;
          for (long k = 0; k < kc; k++) dst[k * MR] = src[k];
        } else {
          for (long k = 0; k < kc; k++) dst[k * MR] = 0.0f;
        }
      }
    }
    ap += kc * MR;
  }
}

/* Bp[s][k][j] = op(B)[k0 + k, j0 + s·NR + j], zero past column n1 (strips of NR columns).
 * In swapped mode the strip operand is op(Aᵀ)... the caller passes A as "B" with trans = 1. */
static void pack_b(const float *B, long ldb, int trans, long j0, long n1, long k0, long kc, float *bp) {
  for (long j = j0; j < n1; j += NR) {
    const long nr = min_l(NR, n1 - j);
    if (!trans) { /* op(B)[k, j] = B[k, j]: NR contiguous floats per k */
      for (long k = 0; k < kc; k++) {
        const float *src = B + (k0 + k) * ldb + j;
        float *dst = bp + k * NR;
        if (nr == NR) memcpy(dst, src, sizeof(float) * NR);
        else {
          long c = 0;
          for (; c < nr; c++) dst[c] = src[c];
          for (; c < NR; c++) dst[c] = 0.0f;
        }
      }
    } else { /* op(B)[k, j] = B[j, k]: one row of B at a time, written with stride NR */
      for (long c = 0; c < NR; c++) {
        float *dst = bp + c;
        if (c < nr) {
          const float *src = B + (j + c) * ldb + k0;
          for (long k = 0; k < kc; k++) dst[k * NR] = src[k];
        } else {
          for (long k = 0; k < kc; k++) dst[k * NR] = 0.0f;
        }
      }
    }
    bp += kc * NR;
  }
}

/* C[m0:m1, n0:n1] = beta·C + 0 (K = 0) */
static void scale_block(const rnn_gemm_args *g, long m0, long m1, long n0, long n1) {
  if (g->beta) return;
  for (long i = m0; i < m1; i++) memset(g->C + i * g->ldc + n0, 0, sizeof(float) * (size_t)(n1 - n0));
}

#define INPLACE_B_MAX_M 64

static void normal_block(const rnn_gemm_args *g, long m0, long m1, long n0, long n1, float *scratch) {
  float *ap = scratch;              /* MC × KC */
  float *bp = scratch + MC * KC;    /* KC × NC */
  const int inplace = !g->transB && g->M <= INPLACE_B_MAX_M;
  const int inplaceA = inplace && !g->transA;
  for (long jc = n0; jc < n1; jc += NC) {
    const long nc = min_l(NC, n1 - jc);
    for (long pc = 0; pc < g->K; pc += KC) {
      const long kc = min_l(KC, g->K - pc);
      const int accumulate = pc > 0 || g->beta;
      const long full = inplace ? nc - nc % NR : 0; /* columns read in place */
      if (full < nc) pack_b(g->B, g->ldb, g->transB, jc + full, jc + nc, pc, kc, bp);
      for (long ic = m0; ic < m1; ic += MC) {
        const long mc = min_l(MC, m1 - ic);
        const long afull = inplaceA ? mc - mc % MR : 0; /* rows of A read in place */
        if (afull < mc) pack_a(g, ic + afull, ic + mc, pc, kc, ap);
        for (long jr = 0; jr < nc; jr += NR) {
          const int nr = (int)min_l(NR, nc - jr);
          const float *b = jr < full ? g->B + pc * g->ldb + jc + jr : bp + ((jr - full) / NR) * kc * NR;
          const long rsb = jr < full ? g->ldb : NR;
          for (long ir = 0; ir < mc; ir += MR) {
            const int mr = (int)min_l(MR, mc - ir);
            float *c = g->C + (ic + ir) * g->ldc + jc + jr;
#ifdef EDGE_ROWS
            /* a last panel of at most EDGE_ROWS rows: both strips of a pair at once (the
             * first of the pair does it, the second skips it); a last unpaired strip
             * keeps the kernel */
            if (mr <= EDGE_ROWS && (jr / NR) % 2 == 1) continue;
            if (mr <= EDGE_ROWS && jr + NR < nc) {
              const long j2 = jr + NR;
              const float *b2 = j2 < full ? g->B + pc * g->ldb + jc + j2 : bp + ((j2 - full) / NR) * kc * NR;
              const long rsb2 = j2 < full ? g->ldb : NR;
              const int n2 = nr + (int)min_l(NR, nc - j2);
              /* (a partial panel is always packed: its zero rows are there to read) */
              edge_kernel(kc, ap + ((ir - afull) / MR) * kc * MR, 1, MR, b, rsb, b2, rsb2, c, g->ldc, mr, n2, accumulate);
              continue;
            }
#endif
            if (ir < afull) kernel(kc, g->A + (ic + ir) * g->lda + pc, g->lda, 1, b, rsb, c, g->ldc, 1, mr, nr, accumulate);
            else kernel(kc, ap + ((ir - afull) / MR) * kc * MR, 1, MR, b, rsb, c, g->ldc, 1, mr, nr, accumulate);
          }
        }
      }
    }
  }
}

/* Swapped: Cᵀ[n0:n1, m0:m1] = B[n0:n1, :] · Aᵀ[:, m0:m1] for transA = 0, transB = 1.
 * The transposed tiles go to a small buffer ct[m][n] (SWAP_CHUNK columns of C at a time)
 * and from there row by row into C: written straight into C, the 16 rows a tile touches lie
 * ldc apart (4 KiB for G = 1024: all in one L1 set) and evicted each other. */
#define SWAP_CHUNK (16 * MR)

static void swapped_block(const rnn_gemm_args *g, long m0, long m1, long n0, long n1, float *scratch) {
  float *bp = scratch;                        /* packed Aᵀ: KC × (m1 − m0) rounded up to NR */
  float *edge = scratch + KC * (MC + NC);     /* the last partial panel of B rows: MR × KC */
  float *ct = edge + MR * KC;                 /* NR × SWAP_CHUNK */
  const long mStrips = (m1 - m0 + NR - 1) / NR;
  for (long pc = 0; pc < g->K; pc += KC) {
    const long kc = min_l(KC, g->K - pc);
    const int accumulate = pc > 0 || g->beta;
    /* strip operand: op(Aᵀ)[k, m] = A[m, k], i.e. pack A with trans = 1 */
    pack_b(g->A, g->lda, 1, m0, m1, pc, kc, bp);
    for (long nc0 = n0; nc0 < n1; nc0 += SWAP_CHUNK) {
      const long ncnt = min_l(SWAP_CHUNK, n1 - nc0);
      for (long s = 0; s < mStrips; s++) {
        const long m = m0 + s * NR;
        const int mr = (int)min_l(NR, m1 - m);
        for (long n = nc0; n < nc0 + ncnt; n += MR) {
          const int nr = (int)min_l(MR, nc0 + ncnt - n);
          const float *a = g->B + n * g->ldb + pc;
          long rsa = g->ldb, csa = 1;
          if (nr < MR) { /* do not read rows past N: copy them into a zero-padded panel */
            for (long r = 0; r < MR; r++)
              for (long k = 0; k < kc; k++) edge[k * MR + r] = r < nr ? a[r * g->ldb + k] : 0.0f;
            a = edge; rsa = 1; csa = MR;
          }
          kernel(kc, a, rsa, csa, bp + s * kc * NR, NR, ct + (n - nc0), 1, SWAP_CHUNK, nr, mr, 0);
        }
        for (int j = 0; j < mr; j++) {
          float *c = g->C + (m + j) * g->ldc + nc0;
          const float *t = ct + j * SWAP_CHUNK;
          if (accumulate) for (long i = 0; i < ncnt; i++) c[i] += t[i];
          else for (long i = 0; i < ncnt; i++) c[i] = t[i];
        }
      }
    }
  }
}

/* The recurrent product of a layer sweep (sweep.c): C[0:M, n0:n1] += A·B[n0:n1, :]ᵀ by the
 * swapped path's sums (so bit for bit swapped_block with beta = 1), with Aᵀ packed once by
 * the caller for every part: for the KC-deep slice from k0 (kc deep), strip s of NR rows
 * of A at packed + k0·Mp + s·kc·NR, element (m, k) at (k − k0)·NR + m mod NR, Mp = M
 * rounded up to NR, zero past row M. B has N rows: a last partial tile of rows before N
 * reads its rows past n1 in place (their sums are not stored), only one at the end of B
 * is copied into a zero-padded panel. */
static void swept(const float *B, long ldb, long N, long K, const float *packed, long M, float *C, long ldc, long n0,
                  long n1, float *scratch) {
  float *edge = scratch;     /* the last partial panel of B rows: MR × KC */
  float *ct = edge + MR * KC; /* NR × SWAP_CHUNK */
  const long mStrips = (M + NR - 1) / NR;
  for (long pc = 0; pc < K; pc += KC) {
    const long kc = min_l(KC, K - pc);
    const float *bp = packed + pc * mStrips * NR;
    for (long nc0 = n0; nc0 < n1; nc0 += SWAP_CHUNK) {
      const long ncnt = min_l(SWAP_CHUNK, n1 - nc0);
      for (long s = 0; s < mStrips; s++) {
        const long m = s * NR;
        const int mr = (int)min_l(NR, M - m);
        for (long n = nc0; n < nc0 + ncnt; n += MR) {
          const int nr = (int)min_l(MR, nc0 + ncnt - n);
          const float *a = B + n * ldb + pc;
          long rsa = ldb, csa = 1;
          if (nr < MR && n + MR > N) { /* rows past n1 are read (not stored) while B has them */
            for (long r = 0; r < MR; r++)
              for (long k = 0; k < kc; k++) edge[k * MR + r] = r < nr ? a[r * ldb + k] : 0.0f;
            a = edge; rsa = 1; csa = MR;
          }
          kernel(kc, a, rsa, csa, bp + s * kc * NR, NR, ct + (n - nc0), 1, SWAP_CHUNK, nr, mr, 0);
        }
        for (int j = 0; j < mr; j++) {
          float *c = C + (m + j) * ldc + nc0;
          const float *t = ct + j * SWAP_CHUNK;
          for (long i = 0; i < ncnt; i++) c[i] += t[i];
        }
      }
    }
  }
}

static inline float dot_tail(const float *a, const float *b, long k, long K, float s) {
  for (; k < K; k++) s += a[k] * b[k];
  return s;
}

static void dot_block(const rnn_gemm_args *g, long m0, long m1, long n0, long n1) {
  const long K = g->K, ldb = g->ldb;
  const long K4 = K - K % VW;
  for (long n = n0; n < n1; n += 4) {
    const int rows = (int)min_l(4, n1 - n);
    const float *b0 = g->B + n * ldb;
    /* rows past N read row n again (not stored): no read past the matrix */
    const float *b1 = rows > 1 ? b0 + ldb : b0, *b2 = rows > 2 ? b0 + 2 * ldb : b0, *b3 = rows > 3 ? b0 + 3 * ldb : b0;
    for (long m = m0; m < m1; m++) {
      const float *a = g->A + m * g->lda;
      VEC s0 = VZERO(), s1 = VZERO(), s2 = VZERO(), s3 = VZERO();
      for (long k = 0; k < K4; k += VW) {
        const VEC x = VLOAD(a + k);
        s0 = VFMA(x, VLOAD(b0 + k), s0);
        s1 = VFMA(x, VLOAD(b1 + k), s1);
        s2 = VFMA(x, VLOAD(b2 + k), s2);
        s3 = VFMA(x, VLOAD(b3 + k), s3);
      }
      float r[4];
      r[0] = dot_tail(a, b0, K4, K, VSUM(s0));
      r[1] = dot_tail(a, b1, K4, K, VSUM(s1));
      r[2] = dot_tail(a, b2, K4, K, VSUM(s2));
      r[3] = dot_tail(a, b3, K4, K, VSUM(s3));
      float *c = g->C + m * g->ldc + n;
      for (int i = 0; i < rows; i++) c[i] = g->beta ? c[i] + r[i] : r[i];
    }
  }
}

static void block(const rnn_gemm_args *g, long m0, long m1, long n0, long n1, int path, float *scratch) {
  if (m1 <= m0 || n1 <= n0) return;
  if (g->K <= 0) scale_block(g, m0, m1, n0, n1);
  else if (path == RNN_PATH_DOT) dot_block(g, m0, m1, n0, n1);
  else if (path == RNN_PATH_SWAPPED) swapped_block(g, m0, m1, n0, n1, scratch);
  else normal_block(g, m0, m1, n0, n1, scratch);
}

/* scratch: MC×KC (A block) + KC×NC (B strips; in swapped mode packed Aᵀ, which needs
 * KC × M rounded up to NR — the caller only swaps when M ≤ NC) + MR×KC (edge panel)
 * + NR×SWAP_CHUNK (transposed tiles) */
const rnn_gemm_isa ISA_STRUCT = {
  ISA_NAME, MR, NR, KC, MC, NC, (size_t)(MC * KC + KC * NC + MR * KC + NR * SWAP_CHUNK + 64), block, swept,
};
