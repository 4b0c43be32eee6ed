/* Single-core FMA peak probe (bench/kernels.mjs compiles and runs it): independent
 * chains of vector fused multiply-adds, enough of them to cover the FMA latency on
 * every pipe, for each instruction set this CPU runs. Prints one JSON line per ISA:
 * {"isa":"avx2","gflops":...}. The values stay finite (x·1 + 0-ish), so nothing is
 * optimised away: the result is summed and printed. */
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#if defined(__x86_64__)
#include <immintrin.h>
#define CHAINS 12
__attribute__((target("avx2,fma"))) static double run_avx2(long iters, float *sink) {
  __m256 acc[CHAINS];
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
  double t0 = now();
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  }
  double dt = now() - t0;
  __m256 s = acc[0];
  for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, acc[i]);
  *sink += s[0];
  return (double)iters * CHAINS * 8 * 2 / dt / 1e9;
}
__attribute__((target("avx512f"))) static double run_avx512(long iters, float *sink) {
  __m512 acc[CHAINS];
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
  double t0 = now();
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  }
  double dt = now() - t0;
  __m512 s = acc[0];
  for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
  *sink += _mm512_reduce_add_ps(s);
  return (double)iters * CHAINS * 16 * 2 / dt / 1e9;
}
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#define CHAINS 16
static double run_neon(long iters, float *sink) {
  float32x4_t acc[CHAINS];
  const float32x4_t m = vdupq_n_f32(0.999999f), a = vdupq_n_f32(1e-7f);
  for (int i = 0; i < CHAINS; i++) acc[i] = vdupq_n_f32((float)i);
  double t0 = now();
  for (long it = 0; it < iters; it++)
    for (int i = 0; i < CHAINS; i++) acc[i] = vfmaq_f32(a, acc[i], m);
  double dt = now() - t0;
  float32x4_t s = acc[0];
  for (int i = 1; i < CHAINS; i++) s = vaddq_f32(s, acc[i]);
  *sink += vgetq_lane_f32(s, 0);
  return (double)iters * CHAINS * 4 * 2 / dt / 1e9;
}
#endif

/* best of 5 runs of about 0.1 s each */
static double best(double (*run)(long, float *), float *sink) {
  double b = 0;
  for (int r = 0; r < 5; r++) {
    double g = run(20000000, sink);
    if (g > b) b = g;
  }
  return b;
}

int main(void) {
  float sink = 0;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) printf("{\"isa\":\"avx512\",\"gflops\":%.1f}\n", best(run_avx512, &sink));
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) printf("{\"isa\":\"avx2\",\"gflops\":%.1f}\n", best(run_avx2, &sink));
#endif
#if defined(__aarch64__)
  printf("{\"isa\":\"neon\",\"gflops\":%.1f}\n", best(run_neon, &sink));
#endif
  fprintf(stderr, "(checksum %g)\n", (double)sink);
  return 0;
}
