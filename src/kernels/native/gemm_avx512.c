/* AVX-512F: an 8×32 tile of C in 16 zmm accumulators (2 loads of B and 8 broadcasts of
 * A per k feed 16 fused multiply-adds), the same design as the AVX2 6×16 tile at twice
 * the width. Compiled for AVX-512F by the pragma below and called only when cpu.c found
 * it (and the OS saves the zmm state). */
#if defined(__x86_64__) || defined(_M_X64)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx2,fma")
#endif
#include <immintrin.h>

#define MR 8
#define NR 32
#define KC 256
#define MC 96   /* A block 96 KiB: in L2 */
#define NC 1024
#define ISA_NAME "avx512"
#define ISA_STRUCT rnn_gemm_avx512
#define VW 16
#define VEC __m512
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
static inline float VSUM(__m512 v) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}

static void kernel(long kc, const float *a, long rsa, long csa, const float *b, long rsb,
                   float *c, long rsc, long csc, int m, int n, int accumulate) {
  __m512 acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  /* unrolled 4 deep like the AVX2 kernel (+15–20% there in L1; not measured here) */
#pragma GCC unroll 4
  for (long k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    const float *ak = a + k * csa;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      const __m512 x = _mm512_set1_ps(ak[i * rsa]);
      acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
    }
    b += rsb;
  }
  if (m == MR && n == NR && csc == 1) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      float *p = c + i * rsc;
      __m512 lo = acc[i][0], hi = acc[i][1];
      if (accumulate) { lo = _mm512_add_ps(lo, _mm512_loadu_ps(p)); hi = _mm512_add_ps(hi, _mm512_loadu_ps(p + 16)); }
      _mm512_storeu_ps(p, lo); _mm512_storeu_ps(p + 16, hi);
    }
    return;
  }
  float t[MR * NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) { _mm512_storeu_ps(t + i * NR, acc[i][0]); _mm512_storeu_ps(t + i * NR + 16, acc[i][1]); }
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float *p = c + i * rsc + j * csc;
      *p = accumulate ? *p + t[i * NR + j] : t[i * NR + j];
    }
}

#include "gemm_driver.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
