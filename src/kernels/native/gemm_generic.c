/* Plain C for any CPU (the fallback when no vector path applies): a 4×8 tile the
 * compiler keeps in registers and vectorizes with the baseline instruction set. */
#define MR 4
#define NR 8
#define KC 256
#define MC 64
#define NC 1024
#define ISA_NAME "generic"
#define ISA_STRUCT rnn_gemm_generic

static void kernel(long kc, const float *a, long rsa, long csa, const float *b,
                   float *c, long rsc, long csc, int m, int n, int accumulate) {
  float t[MR][NR] = {{0}};
  for (long k = 0; k < kc; k++) {
    const float *ak = a + k * csa;
    for (int i = 0; i < MR; i++) {
      const float x = ak[i * rsa];
      for (int j = 0; j < NR; j++) t[i][j] += x * b[j];
    }
    b += NR;
  }
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float *p = c + i * rsc + j * csc;
      *p = accumulate ? *p + t[i][j] : t[i][j];
    }
}

#include "gemm_driver.h"
