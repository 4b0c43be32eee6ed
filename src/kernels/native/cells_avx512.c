/* The cell kernels (cells_impl.h) on AVX-512F: 16 floats per vector, tails through mask
 * registers. Compiled for these features by the pragma below and called only when cpu.c
 * found them (only AVX512F instructions: the bit operations go through the integer forms). */
#if defined(__x86_64__) || defined(_M_X64)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx2,fma")
#endif
#include <immintrin.h>
#include <stdint.h>

#define MASK(n) ((__mmask16)((1u << (n)) - 1u))
#define V __m512
#define VN 16
#define V1(x) _mm512_set1_ps(x)
#define VLD(p) _mm512_loadu_ps(p)
#define VST(p, v) _mm512_storeu_ps(p, v)
#define VLDN(p, n) _mm512_maskz_loadu_ps(MASK(n), p)
#define VSTN(p, v, n) _mm512_mask_storeu_ps(p, MASK(n), v)
#define VADD _mm512_add_ps
#define VSUB _mm512_sub_ps
#define VMUL _mm512_mul_ps
#define VDIV _mm512_div_ps
#define VSQRT _mm512_sqrt_ps
#define VFMA _mm512_fmadd_ps
#define VFNMA _mm512_fnmadd_ps
/* vminps/vmaxps return the second operand when either is NaN */
#define VMIN(k, x) _mm512_min_ps(k, x)
#define VMAX(k, x) _mm512_max_ps(k, x)
#define BITS(x) _mm512_castps_si512(x)
#define VABS(x) _mm512_castsi512_ps(_mm512_and_si512(BITS(x), _mm512_set1_epi32(0x7fffffff)))
#define VSIGN(x) _mm512_castsi512_ps(_mm512_and_si512(BITS(x), _mm512_set1_epi32((int)0x80000000u)))
#define VOR(a, b) _mm512_castsi512_ps(_mm512_or_si512(BITS(a), BITS(b)))
#define VPOW2N(t) _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(BITS(t), _mm512_set1_epi32(127 - 0x4b400000)), 23))
#define VPOS(x, y) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), y)
static inline double hsum_d(__m512 v) {
  const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
  const __m512d hi = _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1)));
  const __m512d s = _mm512_add_pd(lo, hi);
  const __m256d q = _mm256_add_pd(_mm512_castpd512_pd256(s), _mm256_castsi256_pd(_mm512_extracti64x4_epi64(_mm512_castpd_si512(s), 1)));
  __m128d x = _mm_add_pd(_mm256_castpd256_pd128(q), _mm256_extractf128_pd(q, 1));
  return _mm_cvtsd_f64(_mm_add_sd(x, _mm_unpackhi_pd(x, x)));
}
#define VHSUM_D hsum_d
#define ISA_NAME "avx512"
#define ISA_STRUCT rnn_cells_avx512

#include "cells_impl.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
