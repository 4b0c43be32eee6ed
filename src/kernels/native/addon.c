/* The Node-API surface of the native kernels (see src/kernels/native/index.ts):
 *
 *   gemm(transA, transB, M, N, K, A, lda, B, ldb, beta, C, ldc)   as Kernels.gemm; A, B, C
 *       are Float32Arrays (any backing store, the wasm arena's shared memory included),
 *       used in place through napi_get_typedarray_info
 *   configure({ threads, isa, splitFlops })   compute threads (including the caller), the
 *       instruction set ('auto' or one of supported()) and the size from which products
 *       are split across the threads; returns info()
 *   info()        { isa, threads, features: [...] }
 *   supported()   the instruction sets this CPU can run, best first
 *   rnnForward … adam   the pointwise cell, head, row and optimizer kernels (ops.c), on
 *       the instruction set of the products
 *   stepCreate, stepAdvance, stepNext   the batch-1 step of a whole model (step.c)
 *   lstmSweepForward, lstmSweepBackward   the time loop of one LSTM layer's window (sweep.c)
 *   crc32(bytes, previous)   zlib's CRC-32, where the CPU has PCLMULQDQ (crc.c)
 *
 * Products too small to gain from a second thread run on the calling thread
 * (SPLIT_FLOPS below; see bench/kernels.mjs for the measurement). */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cpu.h"
#include "crc.h"
#include "gemm.h"
#include "ops.h"
#include "pool.h"
#include "step.h"
#include "sweep.h"

/* A product is split across threads from this many flops (2·M·N·K) on (the default of
 * configure's splitFlops; bench/native.mjs measures where splitting pays; the figures are
 * below, at FINE_SPLIT_FLOPS). */
#define SPLIT_FLOPS (1L << 20)
/* Parts per thread of a split product (parts are claimed dynamically): one for products
 * below FINE_SPLIT_FLOPS, two from there on. Measured on Zen 3 (2 threads, median of 41
 * interleaved rounds, GFLOP/s for 1 / 2 / 4 parts): the S per-step products 32x128x512
 * and 32x512x128 (4.2 MFLOP) 99 / 84 and 104 / 98, the M ones 32x256x1024 and
 * 32x1024x256 (16.8 MFLOP) 86 / 98 and 96 / 118: small parts lose to the hand-offs,
 * large ones gain from the balance. Not split at all below SPLIT_FLOPS: at 1 MFLOP
 * (32x256x64, 32x64x256) two threads took 14 and 11 µs against 22 and 20 on one; at
 * 0.25–0.5 MFLOP (32x64x128, 8x256x64, batch-1 1x1024x256) splitting gained nothing. */
#define FINE_SPLIT_FLOPS (8L << 20)

typedef struct {
  const rnn_gemm_isa *isa;
  const rnn_cells_isa *cells; /* the pointwise kernels of the same instruction set */
  double split_flops;
  rnn_pool *pool;
  rnn_cpu_features cpu;
} addon_state;

static addon_state state;

static const rnn_gemm_isa *isa_list(int i) {
  /* best first; only those this CPU runs */
  const rnn_gemm_isa *all[4];
  int n = 0;
#if defined(__x86_64__) || defined(_M_X64)
  if (state.cpu.avx512f && state.cpu.avx2 && state.cpu.fma) all[n++] = &rnn_gemm_avx512;
  if (state.cpu.avx2 && state.cpu.fma) all[n++] = &rnn_gemm_avx2;
#endif
#if defined(__aarch64__)
  all[n++] = &rnn_gemm_neon;
#endif
  all[n++] = &rnn_gemm_generic;
  return i < n ? all[i] : NULL;
}

/* the cell kernels that go with a product instruction set (generic: plain C) */
static const rnn_cells_isa *cells_for(const rnn_gemm_isa *isa) {
#if defined(__x86_64__) || defined(_M_X64)
  if (isa == &rnn_gemm_avx512) return &rnn_cells_avx512;
  if (isa == &rnn_gemm_avx2) return &rnn_cells_avx2;
#endif
#if defined(__aarch64__)
  if (isa == &rnn_gemm_neon) return &rnn_cells_neon;
#endif
  (void)isa;
  return &rnn_cells_generic;
}

const rnn_cells_isa *rnn_addon_cells(void) { return state.cells; }
rnn_pool *rnn_addon_pool(void) { return state.pool; }
const rnn_gemm_isa *rnn_addon_gemm(void) { return state.isa; }

static size_t max_scratch(void) {
  size_t s = 0;
  for (int i = 0; isa_list(i); i++) if (isa_list(i)->scratch_floats > s) s = isa_list(i)->scratch_floats;
  return s;
}

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static const rnn_op GEMM = {"gemm", {ARG_BOOL("transA"), ARG_BOOL("transB"), ARG_INT("M"), ARG_INT("N"), ARG_INT("K"),
                                     ARG_F32("A"), ARG_INT("lda"), ARG_F32("B"), ARG_INT("ldb"), ARG_INT("beta"),
                                     ARG_F32("C"), ARG_INT("ldc")}};

static napi_value js_gemm(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &GEMM)) return NULL;
  const int ta = (int)a.v[0].i, tb = (int)a.v[1].i;
  const long M = a.v[2].i, N = a.v[3].i, K = a.v[4].i, lda = a.v[6].i, ldb = a.v[8].i, beta = a.v[9].i, ldc = a.v[11].i;
  if (M <= 0 || N <= 0) return NULL;
  if (K < 0) return rnn_range_error(&a, "native gemm: K < 0");
  if (beta != 0 && beta != 1) return rnn_range_error(&a, "native gemm: beta must be 0 or 1");
  if (ldc < N) return rnn_range_error(&a, "gemm: ldc %ld < N %ld", ldc, N);
  rnn_gemm_args g;
  g.transA = ta; g.transB = tb; g.M = M; g.N = N; g.K = K; g.lda = lda; g.ldb = ldb; g.beta = (int)beta; g.ldc = ldc;
  g.C = rnn_view(&a, 10, (M - 1) * ldc + N);
  g.A = NULL; g.B = NULL;
  if (a.ok && K > 0) {
    const long aCols = ta ? M : K, bCols = tb ? K : N;
    if (lda < aCols) return rnn_range_error(&a, "gemm: lda %ld < %ld", lda, aCols);
    if (ldb < bCols) return rnn_range_error(&a, "gemm: ldb %ld < %ld", ldb, bCols);
    g.A = rnn_view(&a, 5, ((ta ? K : M) - 1) * lda + aCols);
    g.B = rnn_view(&a, 7, ((tb ? N : K) - 1) * ldb + bCols);
  }
  if (!a.ok) return NULL;
  const rnn_gemm_isa *isa = state.isa;
  rnn_gemm_split j;
  j.g = &g;
  j.isa = isa;
  j.path = rnn_gemm_path(ta, tb, M);
  const int threads = rnn_pool_threads(state.pool);
  const double flops = 2.0 * (double)M * (double)N * (double)K;
  if (threads <= 1 || flops < state.split_flops) {
    isa->block(&g, 0, M, 0, N, j.path, rnn_pool_scratch(state.pool));
    return NULL;
  }
  /* split the side with more tiles, in whole tiles (dot products: along N only) */
  long unitM, unitN;
  rnn_gemm_units(isa, j.path, &unitM, &unitN);
  const int dot = j.path == RNN_PATH_DOT;
  const long tilesM = (M + unitM - 1) / unitM, tilesN = (N + unitN - 1) / unitN;
  j.byN = dot || tilesN >= tilesM;
  j.unit = j.byN ? unitN : unitM;
  j.total = j.byN ? N : M;
  const long tiles = j.byN ? tilesN : tilesM;
  long parts = (long)threads * (flops >= (double)FINE_SPLIT_FLOPS ? 2 : 1);
  if (parts > tiles) parts = tiles;
  j.parts = (int)parts;
  rnn_pool_run(state.pool, j.parts, rnn_gemm_run_part, &j);
  return NULL;
}

static napi_value make_info(napi_env env) {
  napi_value obj, s, arr, n;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_string_utf8(env, state.isa->name, NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, obj, "isa", s));
  CHECK(napi_create_int32(env, rnn_pool_threads(state.pool), &n));
  CHECK(napi_set_named_property(env, obj, "threads", n));
  CHECK(napi_create_double(env, state.split_flops, &n));
  CHECK(napi_set_named_property(env, obj, "splitFlops", n));
  CHECK(napi_create_array(env, &arr));
  const char *names[4];
  int k = 0;
  if (state.cpu.avx512f) names[k++] = "avx512f";
  if (state.cpu.avx2) names[k++] = "avx2";
  if (state.cpu.fma) names[k++] = "fma";
  if (state.cpu.neon) names[k++] = "neon";
  for (int i = 0; i < k; i++) {
    CHECK(napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_element(env, arr, (uint32_t)i, s));
  }
  CHECK(napi_set_named_property(env, obj, "features", arr));
  return obj;
}

static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  return make_info(env);
}

static napi_value js_supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, s;
  CHECK(napi_create_array(env, &arr));
  for (int i = 0; isa_list(i); i++) {
    CHECK(napi_create_string_utf8(env, isa_list(i)->name, NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_element(env, arr, (uint32_t)i, s));
  }
  return arr;
}

static napi_value js_configure(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts;
  CHECK(napi_get_cb_info(env, info, &argc, &opts, NULL, NULL));
  if (argc < 1) return make_info(env);
  napi_value v;
  bool has;
  CHECK(napi_has_named_property(env, opts, "isa", &has));
  if (has) {
    char name[32];
    size_t len;
    CHECK(napi_get_named_property(env, opts, "isa", &v));
    if (napi_get_value_string_utf8(env, v, name, sizeof name, &len) != napi_ok)
      return throw_range(env, "native kernels: isa must be a string");
    const rnn_gemm_isa *pick = NULL;
    if (strcmp(name, "auto") == 0) pick = isa_list(0);
    else for (int i = 0; isa_list(i); i++) if (strcmp(isa_list(i)->name, name) == 0) pick = isa_list(i);
    if (!pick) {
      char msg[96];
      snprintf(msg, sizeof msg, "native kernels: instruction set '%s' is not available on this CPU", name);
      return throw_range(env, msg);
    }
    state.isa = pick;
    state.cells = cells_for(pick);
  }
  CHECK(napi_has_named_property(env, opts, "splitFlops", &has));
  if (has) {
    double f;
    CHECK(napi_get_named_property(env, opts, "splitFlops", &v));
    if (napi_get_value_double(env, v, &f) != napi_ok || !(f >= 0))
      return throw_range(env, "native kernels: splitFlops must be a number ≥ 0");
    state.split_flops = f;
  }
  CHECK(napi_has_named_property(env, opts, "threads", &has));
  if (has) {
    int32_t t;
    CHECK(napi_get_named_property(env, opts, "threads", &v));
    if (napi_get_value_int32(env, v, &t) != napi_ok || t < 1 || t > 256)
      return throw_range(env, "native kernels: threads must be an integer in [1, 256]");
    if (t != rnn_pool_threads(state.pool)) {
      rnn_pool *p = rnn_pool_create(t, max_scratch());
      if (!p) { napi_throw_error(env, NULL, "native kernels: out of memory for the thread pool"); return NULL; }
      rnn_pool_destroy(state.pool);
      state.pool = p;
    }
  }
  return make_info(env);
}

static napi_value init(napi_env env, napi_value exports) {
  if (!state.pool) {
    state.cpu = rnn_cpu_detect();
    state.isa = isa_list(0);
    state.cells = cells_for(state.isa);
    state.split_flops = (double)SPLIT_FLOPS;
    state.pool = rnn_pool_create(1, max_scratch());
    if (!state.pool) { napi_throw_error(env, NULL, "native kernels: out of memory"); return NULL; }
  }
  napi_property_descriptor props[] = {
    {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_default, NULL},
    {"configure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
    {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
    {"supported", NULL, js_supported, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  CHECK(rnn_ops_define(env, exports));
  CHECK(rnn_step_define(env, exports));
  CHECK(rnn_sweep_define(env, exports));
  CHECK(rnn_crc_define(env, exports));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
