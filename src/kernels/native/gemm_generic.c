/* Plain C for any CPU (the fallback when no vector path applies): a 4×8 tile the
 * compiler keeps in registers and vectorizes with the baseline instruction set. */
#define MR 4
#define NR 8
#define KC 256
#define MC 64
#define NC 1024
#define ISA_NAME "generic"
#define ISA_STRUCT rnn_gemm_generic
/* "vectors" of 4 floats in a struct: the dot path in plain C */
#define VW 4
typedef struct { float v[4]; } vec4;
#define VEC vec4
static inline vec4 VZERO(void) { vec4 z = {{0, 0, 0, 0}}; return z; }
static inline vec4 VLOAD(const float *p) { vec4 r = {{p[0], p[1], p[2], p[3]}}; return r; }
static inline vec4 VFMA(vec4 a, vec4 b, vec4 c) {
  for (int i = 0; i < 4; i++) c.v[i] += a.v[i] * b.v[i];
  return c;
}
static inline float VSUM(vec4 x) { return (x.v[0] + x.v[1]) + (x.v[2] + x.v[3]); }

static void kernel(long kc, const float *a, long rsa, long csa, const float *b, long rsb,
                   float *c, long rsc, long csc, int m, int n, int accumulate) {
  float t[MR][NR] = {{0}};
  for (long k = 0; k < kc; k++) {
    const float *ak = a + k * csa;
    for (int i = 0; i < MR; i++) {
      const float x = ak[i * rsa];
      for (int j = 0; j < NR; j++) t[i][j] += x * b[j];
    }
    b += rsb;
  }
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float *p = c + i * rsc + j * csc;
      *p = accumulate ? *p + t[i][j] : t[i][j];
    }
}

#include "gemm_driver.h"
