/* The cell kernels (cells_impl.h) in plain C, one float per "vector": for CPUs without the
 * x86 vector paths (arm64 included; the compiler may vectorise the loops itself). */
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float fbits_pow2n(float t) {
  uint32_t u;
  memcpy(&u, &t, 4);
  u = (u + (uint32_t)(127 - 0x4b400000)) << 23;
  memcpy(&t, &u, 4);
  return t;
}
static inline float fsign(float x) { return signbit(x) ? -0.0f : 0.0f; }
static inline float f_or(float a, float b) {
  uint32_t ua, ub;
  memcpy(&ua, &a, 4);
  memcpy(&ub, &b, 4);
  ua |= ub;
  memcpy(&a, &ua, 4);
  return a;
}

#define V float
#define VN 1
#define V1(x) ((float)(x))
#define VLD(p) (*(p))
#define VST(p, v) (*(p) = (v))
#define VLDN(p, n) (*(p))
#define VSTN(p, v, n) (*(p) = (v))
#define VADD(a, b) ((a) + (b))
#define VSUB(a, b) ((a) - (b))
#define VMUL(a, b) ((a) * (b))
#define VDIV(a, b) ((a) / (b))
#define VSQRT sqrtf
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VFNMA(a, b, c) ((c) - (a) * (b))
#define VMIN(k, x) ((k) < (x) ? (k) : (x))
#define VMAX(k, x) ((k) > (x) ? (k) : (x))
#define VABS fabsf
#define VSIGN fsign
#define VOR f_or
#define VPOW2N fbits_pow2n
#define VPOS(x, y) ((x) > 0 ? (y) : 0.0f)
#define VHSUM_D(v) ((double)(v))
#define ISA_NAME "generic"
#define ISA_STRUCT rnn_cells_generic

#include "cells_impl.h"
