#include "cpu.h"

rnn_cpu_features rnn_cpu_detect(void) {
  rnn_cpu_features f = {0, 0, 0, 0};
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  /* __builtin_cpu_supports checks CPUID and that the OS saves the ymm / zmm state (XCR0) */
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") != 0;
  f.fma = __builtin_cpu_supports("fma") != 0;
  f.avx512f = __builtin_cpu_supports("avx512f") != 0;
#endif
#if defined(__aarch64__)
  f.neon = 1; /* part of the AArch64 base architecture */
#endif
  return f;
}
