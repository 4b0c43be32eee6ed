/* The cell kernels (cells_impl.h) on AVX2 + FMA: 8 floats per vector, tails through masked
 * loads and stores. Compiled for these features by the pragma below and called only when
 * cpu.c found them. */
#if defined(__x86_64__) || defined(_M_X64)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>
#include <stdint.h>

static const int32_t lane_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define MASK(n) _mm256_loadu_si256((const __m256i *)(lane_mask + 8 - (n)))

#define V __m256
#define VN 8
#define V1(x) _mm256_set1_ps(x)
#define VLD(p) _mm256_loadu_ps(p)
#define VST(p, v) _mm256_storeu_ps(p, v)
#define VLDN(p, n) _mm256_maskload_ps(p, MASK(n))
#define VSTN(p, v, n) _mm256_maskstore_ps(p, MASK(n), v)
#define VADD _mm256_add_ps
#define VSUB _mm256_sub_ps
#define VMUL _mm256_mul_ps
#define VDIV _mm256_div_ps
#define VSQRT _mm256_sqrt_ps
#define VFMA _mm256_fmadd_ps
#define VFNMA _mm256_fnmadd_ps
/* minps/maxps return the second operand when either is NaN */
#define VMIN(k, x) _mm256_min_ps(k, x)
#define VMAX(k, x) _mm256_max_ps(k, x)
#define VABS(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define VSIGN(x) _mm256_and_ps(_mm256_set1_ps(-0.0f), x)
#define VOR _mm256_or_ps
#define VPOW2N(t) _mm256_castsi256_ps(_mm256_slli_epi32( \
    _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127 - 0x4b400000)), 23))
#define VPOS(x, y) _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ), y)
static inline double hsum_d(__m256 v) {
  __m256d s = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  __m128d x = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  return _mm_cvtsd_f64(_mm_add_sd(x, _mm_unpackhi_pd(x, x)));
}
#define VHSUM_D hsum_d
#define ISA_NAME "avx2"
#define ISA_STRUCT rnn_cells_avx2

#include "cells_impl.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
