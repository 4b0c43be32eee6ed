/* The cell kernels (cells_impl.h) on arm64 NEON: 4 floats per q register, fused
 * multiply-adds in the exp/σ/tanh polynomial (as on AVX2), IEEE vector division and square
 * root; tails of 1–3 floats through lane loads and stores that touch nothing past the end.
 * NEON is part of the AArch64 base architecture, so nothing is checked at run time. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <stdint.h>

#define V float32x4_t
#define VN 4
/* the first n < 4 floats of p, the other lanes 0 */
static inline __attribute__((always_inline)) float32x4_t ld_part(const float *p, int n) {
  const float32x2_t z = vdup_n_f32(0.0f);
  if (n == 1) return vcombine_f32(vld1_lane_f32(p, z, 0), z);
  if (n == 2) return vcombine_f32(vld1_f32(p), z);
  return vcombine_f32(vld1_f32(p), vld1_lane_f32(p + 2, z, 0));
}
/* stores the first n < 4 lanes of v */
static inline __attribute__((always_inline)) void st_part(float *p, float32x4_t v, int n) {
  if (n == 1) { vst1q_lane_f32(p, v, 0); return; }
  vst1_f32(p, vget_low_f32(v));
  if (n == 3) vst1q_lane_f32(p + 2, v, 2);
}
#define V1(x) vdupq_n_f32(x)
#define VLD(p) vld1q_f32(p)
#define VST(p, v) vst1q_f32(p, v)
#define VLDN(p, n) ld_part(p, n)
#define VSTN(p, v, n) st_part(p, v, n)
#define VADD vaddq_f32
#define VSUB vsubq_f32
#define VMUL vmulq_f32
#define VDIV vdivq_f32
#define VSQRT vsqrtq_f32
#define VFMA(a, b, c) vfmaq_f32(c, a, b)
#define VFNMA(a, b, c) vfmsq_f32(c, a, b)
/* FMIN/FMAX return NaN when either operand is NaN, so a NaN x stays NaN (the constant k never is) */
#define VMIN(k, x) vminq_f32(k, x)
#define VMAX(k, x) vmaxq_f32(k, x)
#define U32(x) vreinterpretq_u32_f32(x)
#define F32(x) vreinterpretq_f32_u32(x)
#define VABS vabsq_f32
#define VSIGN(x) F32(vandq_u32(U32(x), vdupq_n_u32(0x80000000u)))
#define VOR(a, b) F32(vorrq_u32(U32(a), U32(b)))
#define VPOW2N(t) vreinterpretq_f32_s32(vshlq_n_s32( \
    vaddq_s32(vreinterpretq_s32_f32(t), vdupq_n_s32(127 - 0x4b400000)), 23))
#define VPOS(x, y) F32(vandq_u32(vcgtq_f32(x, vdupq_n_f32(0.0f)), U32(y)))
/* (l0 + l2) + (l1 + l3) in double */
static inline __attribute__((always_inline)) double hsum_d(float32x4_t v) {
  return vaddvq_f64(vaddq_f64(vcvt_f64_f32(vget_low_f32(v)), vcvt_high_f64_f32(v)));
}
#define VHSUM_D hsum_d
#define ISA_NAME "neon"
#define ISA_STRUCT rnn_cells_neon

#include "cells_impl.h"
#endif
