/* arm64 NEON (always present on AArch64): an 8×8 tile of C in 16 q-register
 * accumulators, 2 loads of B per k and A's 8 values of that k feeding 16 fused
 * multiply-adds by lane. A packed panel gives the 8 values in 2 loads (16 + 2 + 2 of the
 * 32 vector registers); rows of A read in place (the swapped path) are loaded 4 values of
 * k at a time, 8 loads per 4 k (16 + 8 + 2 registers). Each element of C is the same chain
 * of multiply-adds in k order either way.
 *
 * The accumulators are named variables, not an array: with acc[8][2] GCC 12 kept them in
 * registers for the packed panel but stored all 16 to the stack on every k of the swapped
 * path's kernel (A's rows read in place), 16 stores per 16 multiply-adds. */
#if defined(__aarch64__)
#include <arm_neon.h>

#define MR 8
#define NR 8
#define KC 256
#define MC 96
#define NC 1024
#define ISA_NAME "neon"
#define ISA_STRUCT rnn_gemm_neon
#define VW 4
#define VEC float32x4_t
#define VZERO() vdupq_n_f32(0.0f)
#define VLOAD(p) vld1q_f32(p)
#define VFMA(a, b, c) vfmaq_f32(c, a, b)
#define VSUM(v) vaddvq_f32(v)

/* rows 0–3 of the tile from the lanes of x, rows 4–7 from the lanes of y */
#define TILE_STEP(x, y) do { \
    c00 = vfmaq_laneq_f32(c00, b0, x, 0); c01 = vfmaq_laneq_f32(c01, b1, x, 0); \
    c10 = vfmaq_laneq_f32(c10, b0, x, 1); c11 = vfmaq_laneq_f32(c11, b1, x, 1); \
    c20 = vfmaq_laneq_f32(c20, b0, x, 2); c21 = vfmaq_laneq_f32(c21, b1, x, 2); \
    c30 = vfmaq_laneq_f32(c30, b0, x, 3); c31 = vfmaq_laneq_f32(c31, b1, x, 3); \
    c40 = vfmaq_laneq_f32(c40, b0, y, 0); c41 = vfmaq_laneq_f32(c41, b1, y, 0); \
    c50 = vfmaq_laneq_f32(c50, b0, y, 1); c51 = vfmaq_laneq_f32(c51, b1, y, 1); \
    c60 = vfmaq_laneq_f32(c60, b0, y, 2); c61 = vfmaq_laneq_f32(c61, b1, y, 2); \
    c70 = vfmaq_laneq_f32(c70, b0, y, 3); c71 = vfmaq_laneq_f32(c71, b1, y, 3); \
  } while (0)

static void kernel(long kc, const float *a, long rsa, long csa, const float *b, long rsb,
                   float *c, long rsc, long csc, int m, int n, int accumulate) {
  float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  float32x4_t c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  if (rsa == 1) { /* a packed panel: the 8 values of one k are contiguous */
    for (long k = 0; k < kc; k++) {
      const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
      const float *ak = a + k * csa;
      const float32x4_t x = vld1q_f32(ak), y = vld1q_f32(ak + 4);
      TILE_STEP(x, y);
      b += rsb;
    }
  } else { /* rows of A in place (the swapped path: csa = 1): 4 values of k per row and load */
    const float *a0 = a, *a1 = a + rsa, *a2 = a + 2 * rsa, *a3 = a + 3 * rsa;
    const float *a4 = a + 4 * rsa, *a5 = a + 5 * rsa, *a6 = a + 6 * rsa, *a7 = a + 7 * rsa;
    long k = 0;
    if (csa == 1) {
      for (; k + 4 <= kc; k += 4) {
        const float32x4_t r0 = vld1q_f32(a0 + k), r1 = vld1q_f32(a1 + k), r2 = vld1q_f32(a2 + k), r3 = vld1q_f32(a3 + k);
        const float32x4_t r4 = vld1q_f32(a4 + k), r5 = vld1q_f32(a5 + k), r6 = vld1q_f32(a6 + k), r7 = vld1q_f32(a7 + k);
#define ROWS_STEP(l) do { \
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4); \
        c00 = vfmaq_laneq_f32(c00, b0, r0, l); c01 = vfmaq_laneq_f32(c01, b1, r0, l); \
        c10 = vfmaq_laneq_f32(c10, b0, r1, l); c11 = vfmaq_laneq_f32(c11, b1, r1, l); \
        c20 = vfmaq_laneq_f32(c20, b0, r2, l); c21 = vfmaq_laneq_f32(c21, b1, r2, l); \
        c30 = vfmaq_laneq_f32(c30, b0, r3, l); c31 = vfmaq_laneq_f32(c31, b1, r3, l); \
        c40 = vfmaq_laneq_f32(c40, b0, r4, l); c41 = vfmaq_laneq_f32(c41, b1, r4, l); \
        c50 = vfmaq_laneq_f32(c50, b0, r5, l); c51 = vfmaq_laneq_f32(c51, b1, r5, l); \
        c60 = vfmaq_laneq_f32(c60, b0, r6, l); c61 = vfmaq_laneq_f32(c61, b1, r6, l); \
        c70 = vfmaq_laneq_f32(c70, b0, r7, l); c71 = vfmaq_laneq_f32(c71, b1, r7, l); \
        b += rsb; \
      } while (0)
        ROWS_STEP(0); ROWS_STEP(1); ROWS_STEP(2); ROWS_STEP(3);
#undef ROWS_STEP
      }
    }
    for (; k < kc; k++) { /* the last kc mod 4 (any csa): the same multiply-adds one k at a time */
      const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
      const long o = k * csa;
      float32x4_t x = vdupq_n_f32(a0[o]), y = vdupq_n_f32(a4[o]);
      x = vsetq_lane_f32(a1[o], x, 1); x = vsetq_lane_f32(a2[o], x, 2); x = vsetq_lane_f32(a3[o], x, 3);
      y = vsetq_lane_f32(a5[o], y, 1); y = vsetq_lane_f32(a6[o], y, 2); y = vsetq_lane_f32(a7[o], y, 3);
      TILE_STEP(x, y);
      b += rsb;
    }
  }
  if (m == MR && n == NR && csc == 1) {
#define ROW(i, lo, hi) do { float *p = c + (i) * rsc; \
      if (accumulate) { lo = vaddq_f32(lo, vld1q_f32(p)); hi = vaddq_f32(hi, vld1q_f32(p + 4)); } \
      vst1q_f32(p, lo); vst1q_f32(p + 4, hi); } while (0)
    ROW(0, c00, c01); ROW(1, c10, c11); ROW(2, c20, c21); ROW(3, c30, c31);
    ROW(4, c40, c41); ROW(5, c50, c51); ROW(6, c60, c61); ROW(7, c70, c71);
#undef ROW
    return;
  }
  float t[MR * NR];
  vst1q_f32(t + 0, c00); vst1q_f32(t + 4, c01); vst1q_f32(t + 8, c10); vst1q_f32(t + 12, c11);
  vst1q_f32(t + 16, c20); vst1q_f32(t + 20, c21); vst1q_f32(t + 24, c30); vst1q_f32(t + 28, c31);
  vst1q_f32(t + 32, c40); vst1q_f32(t + 36, c41); vst1q_f32(t + 40, c50); vst1q_f32(t + 44, c51);
  vst1q_f32(t + 48, c60); vst1q_f32(t + 52, c61); vst1q_f32(t + 56, c70); vst1q_f32(t + 60, c71);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float *p = c + i * rsc + j * csc;
      *p = accumulate ? *p + t[i * NR + j] : t[i * NR + j];
    }
}

#include "gemm_driver.h"
#endif
