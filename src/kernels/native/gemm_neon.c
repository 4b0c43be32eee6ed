/* arm64 NEON (always present on AArch64): an 8×8 tile of C in 16 q-register
 * accumulators (2 loads of B and 8 scalars of A per k feed 16 fused multiply-adds by
 * lane); 32 vector registers in all. */
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

static void kernel(long kc, const float *a, long rsa, long csa, const float *b, long rsb,
                   float *c, long rsc, long csc, int m, int n, int accumulate) {
  float32x4_t acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = vdupq_n_f32(0.0f);
  for (long k = 0; k < kc; k++) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    const float *ak = a + k * csa;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      const float x = ak[i * rsa];
      acc[i][0] = vfmaq_n_f32(acc[i][0], b0, x);
      acc[i][1] = vfmaq_n_f32(acc[i][1], b1, x);
    }
    b += rsb;
  }
  if (m == MR && n == NR && csc == 1) {
    for (int i = 0; i < MR; i++) {
      float *p = c + i * rsc;
      float32x4_t lo = acc[i][0], hi = acc[i][1];
      if (accumulate) { lo = vaddq_f32(lo, vld1q_f32(p)); hi = vaddq_f32(hi, vld1q_f32(p + 4)); }
      vst1q_f32(p, lo); vst1q_f32(p + 4, hi);
    }
    return;
  }
  float t[MR * NR];
  for (int i = 0; i < MR; i++) { vst1q_f32(t + i * NR, acc[i][0]); vst1q_f32(t + i * NR + 4, acc[i][1]); }
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float *p = c + i * rsc + j * csc;
      *p = accumulate ? *p + t[i * NR + j] : t[i * NR + j];
    }
}

#include "gemm_driver.h"
#endif
