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
} rnn_gemm_isa;

extern const rnn_gemm_isa rnn_gemm_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const rnn_gemm_isa rnn_gemm_avx2;
extern const rnn_gemm_isa rnn_gemm_avx512;
#endif
#if defined(__aarch64__)
extern const rnn_gemm_isa rnn_gemm_neon;
#endif

#endif
