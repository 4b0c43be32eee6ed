/* AVX2 + FMA: a 6×16 tile of C in 12 ymm accumulators (2 loads of B and 6 broadcasts of
 * A per k feed 12 fused multiply-adds); 16 ymm registers in all. Compiled for these
 * features by the pragma below and called only when cpu.c found them. */
#if defined(__x86_64__) || defined(_M_X64)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>

#define MR 6
#define NR 16
#define KC 256
#define MC 72   /* A block 72 KiB: in L2 */
#define NC 1024 /* B block 1 MiB */
#define ISA_NAME "avx2"
#define ISA_STRUCT rnn_gemm_avx2
/* vectors for the dot-product path */
#define VW 8
#define VEC __m256
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
static inline float VSUM(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}

static void kernel(long kc, const float *a, long rsa, long csa, const float *b, long rsb,
                   float *c, long rsc, long csc, int m, int n, int accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float *a0 = a, *a1 = a + rsa, *a2 = a + 2 * rsa, *a3 = a + 3 * rsa, *a4 = a + 4 * rsa, *a5 = a + 5 * rsa;
  /* unrolled 4 deep (the same multiply-adds in the same order): measured on Zen 3, one
   * core, operands in L1, kc 256, 74–84 → 88–92 GFLOP/s of a 101 peak; 1024³ 63–65 → 76–80 */
#pragma GCC unroll 4
  for (long k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    const long o = k * csa;
    __m256 x = _mm256_broadcast_ss(a0 + o);
    c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a1 + o);
    c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a2 + o);
    c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a3 + o);
    c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a4 + o);
    c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a5 + o);
    c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    b += rsb;
  }
  if (m == MR && n == NR && csc == 1) {
#define ROW(i, lo, hi) do { float *p = c + (i) * rsc; \
      if (accumulate) { lo = _mm256_add_ps(lo, _mm256_loadu_ps(p)); hi = _mm256_add_ps(hi, _mm256_loadu_ps(p + 8)); } \
      _mm256_storeu_ps(p, lo); _mm256_storeu_ps(p + 8, hi); } while (0)
    ROW(0, c00, c01); ROW(1, c10, c11); ROW(2, c20, c21); ROW(3, c30, c31); ROW(4, c40, c41); ROW(5, c50, c51);
#undef ROW
    return;
  }
  if (m == MR && n == NR && rsc == 1 && !accumulate) {
    /* the swapped path's transposed tile: column j of the tile is 6 contiguous floats at
     * c + j·csc. Transposed in registers (the same values, stored differently): 16
     * shuffles and 16 stores per 8 columns instead of 48 scalar stores. */
#define COLS8(r0, r1, r2, r3, r4, r5, base) do { \
      const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1); \
      const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3); \
      const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5); \
      /* s_q: rows 0–3 of columns q (low half) and q + 4 (high half) */ \
      const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE); \
      const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE); \
      /* rows 4–5: columns 0, 1, 4, 5 in t4, columns 2, 3, 6, 7 in t5, two floats each */ \
      const __m128 u4 = _mm256_castps256_ps128(t4), v4 = _mm256_extractf128_ps(t4, 1); \
      const __m128 u5 = _mm256_castps256_ps128(t5), v5 = _mm256_extractf128_ps(t5, 1); \
      float *p = c + (base) * csc; \
      _mm_storeu_ps(p, _mm256_castps256_ps128(s0)); _mm_storel_pi((__m64 *)(p + 4), u4); p += csc; \
      _mm_storeu_ps(p, _mm256_castps256_ps128(s1)); _mm_storeh_pi((__m64 *)(p + 4), u4); p += csc; \
      _mm_storeu_ps(p, _mm256_castps256_ps128(s2)); _mm_storel_pi((__m64 *)(p + 4), u5); p += csc; \
      _mm_storeu_ps(p, _mm256_castps256_ps128(s3)); _mm_storeh_pi((__m64 *)(p + 4), u5); p += csc; \
      _mm_storeu_ps(p, _mm256_extractf128_ps(s0, 1)); _mm_storel_pi((__m64 *)(p + 4), v4); p += csc; \
      _mm_storeu_ps(p, _mm256_extractf128_ps(s1, 1)); _mm_storeh_pi((__m64 *)(p + 4), v4); p += csc; \
      _mm_storeu_ps(p, _mm256_extractf128_ps(s2, 1)); _mm_storel_pi((__m64 *)(p + 4), v5); p += csc; \
      _mm_storeu_ps(p, _mm256_extractf128_ps(s3, 1)); _mm_storeh_pi((__m64 *)(p + 4), v5); \
    } while (0)
    COLS8(c00, c10, c20, c30, c40, c50, 0);
    COLS8(c01, c11, c21, c31, c41, c51, 8);
#undef COLS8
    return;
  }
  float t[MR * NR];
  _mm256_storeu_ps(t + 0, c00); _mm256_storeu_ps(t + 8, c01);
  _mm256_storeu_ps(t + 16, c10); _mm256_storeu_ps(t + 24, c11);
  _mm256_storeu_ps(t + 32, c20); _mm256_storeu_ps(t + 40, c21);
  _mm256_storeu_ps(t + 48, c30); _mm256_storeu_ps(t + 56, c31);
  _mm256_storeu_ps(t + 64, c40); _mm256_storeu_ps(t + 72, c41);
  _mm256_storeu_ps(t + 80, c50); _mm256_storeu_ps(t + 88, c51);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float *p = c + i * rsc + j * csc;
      *p = accumulate ? *p + t[i * NR + j] : t[i * NR + j];
    }
}

/* The last panel of a product whose rows leave 1 or 2 over (M = 32: five 6-row panels and
 * 2 rows; the sweep's backward and S's per-step products): two rows across two strips,
 * 32 columns, in 8 accumulators, where the 6×16 kernel would run a whole tile on 4 zero
 * rows once per strip. The same multiply-adds per element (k in order from 0, then one
 * add into C when accumulating) as kernel(), so the same results. Strip 0 is b0 (columns
 * 0–15), strip 1 is b1 (columns 16 to n − 1); rows a and a + rsa (the second may be a
 * zero row of a packed panel), m ≤ 2, 16 < n ≤ 32, C with unit column stride. */
#define EDGE_ROWS 2
static void edge_kernel(long kc, const float *a, long rsa, long csa, const float *b0, long rsb0, const float *b1,
                        long rsb1, float *c, long rsc, int m, int n, int accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  const float *a0 = a, *a1 = a + rsa;
#pragma GCC unroll 4
  for (long k = 0; k < kc; k++) {
    const __m256 p0 = _mm256_loadu_ps(b0), p1 = _mm256_loadu_ps(b0 + 8);
    const __m256 q0 = _mm256_loadu_ps(b1), q1 = _mm256_loadu_ps(b1 + 8);
    const long o = k * csa;
    __m256 x = _mm256_broadcast_ss(a0 + o);
    c00 = _mm256_fmadd_ps(x, p0, c00); c01 = _mm256_fmadd_ps(x, p1, c01);
    c02 = _mm256_fmadd_ps(x, q0, c02); c03 = _mm256_fmadd_ps(x, q1, c03);
    x = _mm256_broadcast_ss(a1 + o);
    c10 = _mm256_fmadd_ps(x, p0, c10); c11 = _mm256_fmadd_ps(x, p1, c11);
    c12 = _mm256_fmadd_ps(x, q0, c12); c13 = _mm256_fmadd_ps(x, q1, c13);
    b0 += rsb0;
    b1 += rsb1;
  }
  float t[EDGE_ROWS * 2 * NR];
  _mm256_storeu_ps(t + 0, c00); _mm256_storeu_ps(t + 8, c01); _mm256_storeu_ps(t + 16, c02); _mm256_storeu_ps(t + 24, c03);
  _mm256_storeu_ps(t + 32, c10); _mm256_storeu_ps(t + 40, c11); _mm256_storeu_ps(t + 48, c12); _mm256_storeu_ps(t + 56, c13);
  for (int i = 0; i < m; i++) {
    float *p = c + i * rsc;
    const float *r = t + i * 2 * NR;
    if (n == 2 * NR) {
      for (int v = 0; v < 2 * NR; v += 8) {
        __m256 x = _mm256_loadu_ps(r + v);
        if (accumulate) x = _mm256_add_ps(x, _mm256_loadu_ps(p + v));
        _mm256_storeu_ps(p + v, x);
      }
    } else {
      for (int j = 0; j < n; j++) p[j] = accumulate ? p[j] + r[j] : r[j];
    }
  }
}

#include "gemm_driver.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
