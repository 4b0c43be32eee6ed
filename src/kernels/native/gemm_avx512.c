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
  if (csc == 1) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      _mm_prefetch((const char *)(c + i * rsc), _MM_HINT_T0);
      _mm_prefetch((const char *)(c + i * rsc + NR - 1), _MM_HINT_T0);
    }
  }
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
  if (m == MR && n == NR && rsc == 1 && !accumulate) {
    /* the swapped path's transposed tile: column j of the tile is 8 contiguous floats at
     * c + j·csc. Transposed in registers (the same values, stored differently): per 16
     * columns 32 shuffles and 16 stores of 8 floats instead of 128 scalar stores. */
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m512 t0 = _mm512_unpacklo_ps(acc[0][h], acc[1][h]), t1 = _mm512_unpackhi_ps(acc[0][h], acc[1][h]);
      const __m512 t2 = _mm512_unpacklo_ps(acc[2][h], acc[3][h]), t3 = _mm512_unpackhi_ps(acc[2][h], acc[3][h]);
      const __m512 t4 = _mm512_unpacklo_ps(acc[4][h], acc[5][h]), t5 = _mm512_unpackhi_ps(acc[4][h], acc[5][h]);
      const __m512 t6 = _mm512_unpacklo_ps(acc[6][h], acc[7][h]), t7 = _mm512_unpackhi_ps(acc[6][h], acc[7][h]);
      /* s[q] (rows 0–3) and s[4 + q] (rows 4–7): in 128-bit lane L, column 4L + q */
      const __m512 s[8] = {
        _mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE), _mm512_shuffle_ps(t1, t3, 0x44),
        _mm512_shuffle_ps(t1, t3, 0xEE), _mm512_shuffle_ps(t4, t6, 0x44), _mm512_shuffle_ps(t4, t6, 0xEE),
        _mm512_shuffle_ps(t5, t7, 0x44), _mm512_shuffle_ps(t5, t7, 0xEE),
      };
      float *p = c + 16 * h * csc;
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) {
        /* lanes (s[q].L, s[4+q].L) side by side: columns q, 4 + q (lo) and 8 + q, 12 + q (hi) */
        const __m512 lo = _mm512_shuffle_f32x4(_mm512_shuffle_f32x4(s[q], s[4 + q], 0x44), _mm512_shuffle_f32x4(s[q], s[4 + q], 0x44), 0xD8);
        const __m512 hi = _mm512_shuffle_f32x4(_mm512_shuffle_f32x4(s[q], s[4 + q], 0xEE), _mm512_shuffle_f32x4(s[q], s[4 + q], 0xEE), 0xD8);
        _mm256_storeu_ps(p + q * csc, _mm512_castps512_ps256(lo));
        _mm256_storeu_ps(p + (4 + q) * csc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lo), 1)));
        _mm256_storeu_ps(p + (8 + q) * csc, _mm512_castps512_ps256(hi));
        _mm256_storeu_ps(p + (12 + q) * csc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(hi), 1)));
      }
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

/* A full 8-row panel of A into k-major order: 8×8 blocks transposed in ymm registers
 * (unpack, shuffle, exchange of 128-bit halves), then the last kc mod 8 columns one by
 * one. Plain loop: 8 scalar stores of stride 8 per column, 56% of the peak on dX =
 * dG·W_ih (2048x256x1024) on a Zen 5 core. */
#define PACK_A_PANEL
static void pack_a_panel(const float *a, long lda, long kc, float *dst) {
  long k = 0;
  for (; k + 8 <= kc; k += 8) {
    const float *p = a + k;
    const __m256 r0 = _mm256_loadu_ps(p), r1 = _mm256_loadu_ps(p + lda), r2 = _mm256_loadu_ps(p + 2 * lda),
                 r3 = _mm256_loadu_ps(p + 3 * lda), r4 = _mm256_loadu_ps(p + 4 * lda), r5 = _mm256_loadu_ps(p + 5 * lda),
                 r6 = _mm256_loadu_ps(p + 6 * lda), r7 = _mm256_loadu_ps(p + 7 * lda);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
                 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    /* s_q: rows 0–3 (from t0–t3) or 4–7 (t4–t7) of columns q and q + 4 */
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    float *d = dst + k * MR;
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(d + 8, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(d + 16, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(d + 24, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(d + 32, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(d + 40, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(d + 48, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(d + 56, _mm256_permute2f128_ps(s3, s7, 0x31));
  }
  for (; k < kc; k++)
    for (int r = 0; r < MR; r++) dst[k * MR + r] = a[r * lda + k];
}

#include "gemm_driver.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
