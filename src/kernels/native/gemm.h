/* The native GEMM: C[M,N] = beta·C + op(A)[M,K] · op(B)[K,N], beta ∈ {0, 1}, row-major
 * with leading dimensions, as in src/kernels/types.ts.
 *
 * One build holds every path for its architecture: gemm_avx512.c, gemm_avx2.c (x86-64),
 * gemm_neon.c (arm64) and gemm_generic.c (plain C, any CPU) each compile the same driver
 * (gemm_driver.h) around their own register-tile microkernel, the x86 ones under a
 * target pragma, so the file compiles with the baseline flags and runs only when cpu.c
 * found the features at run time.
 *
 * A call is split into parts by rnn_gemm_parts(); a part computes the block
 * C[m0:m1, n0:n1] by itself (its own packing buffers), so the parts can run on any
 * thread in any order. Every element of C is computed by the same sequence of
 * multiply-adds whatever the split (k in order, in blocks of the fixed KC), so results
 * do not depend on the thread count. */
#ifndef RNN_GEMM_H
#define RNN_GEMM_H

#include <stddef.h>

typedef struct {
  int transA, transB;
  long M, N, K;
  const float *A; long lda;
  const float *B; long ldb;
  int beta; /* 0: C is overwritten (never read), 1: accumulated into */
  float *C; long ldc;
} rnn_gemm_args;

/* How a product is computed (gemm_driver.h): packed tiles; A·Bᵀ with few rows as Cᵀ = B·Aᵀ
 * on B in place; A·Bᵀ with at most RNN_DOT_MAX_M rows as dot products along k. */
enum { RNN_PATH_PACKED = 0, RNN_PATH_SWAPPED = 1, RNN_PATH_DOT = 2 };
#define RNN_SWAP_MAX_M 64
#define RNN_DOT_MAX_M 4

/* The tile and blocking sizes of one instruction set, and its block routine. */
typedef struct {
  const char *name;
  int mr, nr;          /* register tile: mr rows × nr columns of C */
  long kc, mc, nc;     /* cache blocking (depth, rows of A in L2, columns of B) */
  size_t scratch_floats; /* packing buffer a part needs */
  /* computes C[m0:m1, n0:n1] on the given path (RNN_PATH_*) */
  void (*block)(const rnn_gemm_args *g, long m0, long m1, long n0, long n1, int path, float *scratch);
  /* C[0:M, n0:n1] += A·B[n0:n1, :]ᵀ (B is [N, K], row stride ldb) on Aᵀ packed by the caller
   * in the swapped path's strips (layout in gemm_driver.h), the same sums as block() on
   * RNN_PATH_SWAPPED with beta = 1; used by the LSTM layer sweep (sweep.c) */
  void (*swept)(const float *B, long ldb, long N, long K, const float *packed, long M, float *C, long ldc, long n0,
                long n1, float *scratch);
} rnn_gemm_isa;

/* The path a product takes (addon.c's js_gemm; the cross harness forces the others too). */
static inline int rnn_gemm_path(int transA, int transB, long M) {
  return !transA && transB && M <= RNN_DOT_MAX_M ? RNN_PATH_DOT
       : !transA && transB && M <= RNN_SWAP_MAX_M ? RNN_PATH_SWAPPED : RNN_PATH_PACKED;
}

/* A product split into `parts` equal runs of whole units along M (byN = 0) or N; each
 * part is one call of rnn_gemm_run_part (a pool.h part function). */
typedef struct {
  const rnn_gemm_args *g;
  const rnn_gemm_isa *isa;
  int path, byN, parts;
  long unit, total; /* the unit of the split side, and its length (M or N) */
} rnn_gemm_split;

/* The units a split moves in along M and N: the register tile (its rows and columns
 * exchanged on the swapped path, which computes Cᵀ); 4 rows of B on the dot path. */
static inline void rnn_gemm_units(const rnn_gemm_isa *isa, int path, long *unitM, long *unitN) {
  const int swapped = path == RNN_PATH_SWAPPED, dot = path == RNN_PATH_DOT;
  *unitM = dot ? 1 : swapped ? isa->nr : isa->mr;
  *unitN = dot ? 4 : swapped ? isa->mr : isa->nr;
}

/* part `part` of a split product (ctx: an rnn_gemm_split) */
static inline void rnn_gemm_run_part(void *ctx, int part, float *scratch) {
  const rnn_gemm_split *j = (const rnn_gemm_split *)ctx;
  const long units = (j->total + j->unit - 1) / j->unit;
  const long lo = (units * part / j->parts) * j->unit;
  long hi = (units * (part + 1) / j->parts) * j->unit;
  if (hi > j->total) hi = j->total;
  if (j->byN) j->isa->block(j->g, 0, j->g->M, lo, hi, j->path, scratch);
  else j->isa->block(j->g, lo, hi, 0, j->g->N, j->path, scratch);
}

extern const rnn_gemm_isa rnn_gemm_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const rnn_gemm_isa rnn_gemm_avx2;
extern const rnn_gemm_isa rnn_gemm_avx512;
#endif
#if defined(__aarch64__)
extern const rnn_gemm_isa rnn_gemm_neon;
#endif

#endif
