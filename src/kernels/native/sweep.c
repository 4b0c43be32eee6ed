/* The LSTM layer sweep: the time loop of one window of one LSTM layer (src/nn/lstm.ts) in
 * one Node-API call, forward or backward, on the addon's pool.
 *
 *   lstmSweepForward(B, T, H, gates, Whh, Hs, Cs, TC) → true, or false when it declines
 *       for t = 0 … T−1:  gates_t += h_{t-1}·W_hhᵀ;  the LSTM pointwise step (cells_impl.h)
 *       writes the activated gates_t, c_t (Cs slot t+1), h_t (Hs slot t+1), tanh(c_t) (TC slot t)
 *   lstmSweepBackward(B, T, H, gates, Whh, Cs, TC, dHs, dC, dGates) → true, or false
 *       for t = T−1 … 0:  the pointwise backward (dC in: ∂L/∂c_t, out: ∂L/∂c_{t-1}) writes
 *       dGates_t;  dHs slot t (∂L/∂h_{t-1}) += dGates_t·W_hh
 * on the buffers of layer.ts (time-major, slot 0 of Hs/Cs the carried-in state), gates and
 * dGates [T,B,4H], W_hh [4H,H], gates [i f g o].
 *
 * Each thread of the pool owns a block of hidden units [j0, j1) for the whole window, so
 * its four gate columns j, H+j, 2H+j, 3H+j and its part of h_t, c_t, dC and ∂L/∂h_{t-1}:
 *   forward, per step: its gate columns of h_{t-1}·W_hhᵀ (its rows of W_hh read in place:
 *     gemm_driver.h's swept(), the swapped path's sums), the pointwise step of its units,
 *     then its columns of h_t copied into the packed hᵀ the next step reads (two buffers,
 *     alternating) — one barrier per step;
 *   backward, per step: the pointwise backward of its units (its columns of ∂L/∂h_t are
 *     its own from the step before), a barrier (every thread needs all of dGates_t), then
 *     its columns of dGates_t·W_hh (block() on the packed path, W_hh read in place).
 * The threads stay in the call for the whole window: no hand-off per step, and each keeps
 * its quarter-blocks of W_hh in its own cache.
 *
 * Results: every element is computed by the same operations as the per-step path of
 * lstm.ts on this backend (gemm's swapped path for B > RNN_DOT_MAX_M, its packed path for
 * dh, the cells' kernels element by element), so they are bit-identical to it and to each
 * other for any thread count. With B ≤ RNN_DOT_MAX_M the per-step forward product takes
 * the dot-product path, whose sums differ: the sweep declines (returns false) and the
 * caller runs the per-step loop.
 *
 * The barrier spins for a while (a step is ~0.1 ms on the bench's models) and then sleeps
 * on a condition variable, so a thread descheduled on a shared machine does not leave the
 * other spinning through its time slice. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

#include "cells.h"
#include "gemm.h"
#include "ops.h"
#include "pool.h"
#include "step.h"
#include "sweep.h"

/* How long a thread spins at a barrier before it sleeps (ns). */
#define BARRIER_SPIN_NS 100000L

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* ---- a barrier for the pool's threads: spin, then sleep */
typedef struct {
  int n;
  atomic_int count;
  atomic_uint generation;
  atomic_int sleepers;
  pthread_mutex_t lock;
  pthread_cond_t wake;
} barrier;

static void barrier_init(barrier *b, int n) {
  b->n = n;
  atomic_init(&b->count, 0);
  atomic_init(&b->generation, 0);
  atomic_init(&b->sleepers, 0);
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->wake, NULL);
}

static void barrier_destroy(barrier *b) {
  pthread_mutex_destroy(&b->lock);
  pthread_cond_destroy(&b->wake);
}

static void barrier_wait(barrier *b) {
  if (b->n <= 1) return;
  const unsigned g = atomic_load(&b->generation);
  if (atomic_fetch_add(&b->count, 1) == b->n - 1) {
    /* the last to arrive opens it (count first: a thread let through may reach the next barrier at once) */
    atomic_store(&b->count, 0);
    atomic_store(&b->generation, g + 1);
    if (atomic_load(&b->sleepers) > 0) {
      pthread_mutex_lock(&b->lock);
      pthread_cond_broadcast(&b->wake);
      pthread_mutex_unlock(&b->lock);
    }
    return;
  }
  const long until = now_ns() + BARRIER_SPIN_NS;
  int spins = 0;
  while (atomic_load(&b->generation) == g) {
    CPU_RELAX();
    if ((++spins & 127) == 0 && now_ns() > until) {
      /* sleepers is raised before generation is read again under the lock, and the opener
       * bumps generation before it reads sleepers: one of the two sees the other */
      pthread_mutex_lock(&b->lock);
      atomic_fetch_add(&b->sleepers, 1);
      while (atomic_load(&b->generation) == g) pthread_cond_wait(&b->wake, &b->lock);
      atomic_fetch_sub(&b->sleepers, 1);
      pthread_mutex_unlock(&b->lock);
      return;
    }
  }
}

/* ---- one sweep */
typedef struct {
  const rnn_gemm_isa *isa;
  const rnn_cells_isa *cells;
  long B, T, H, G;
  int threads;
  long align; /* units per block boundary */
  const float *Whh;
  float *gates, *Hs, *Cs, *TC;
  float *dHs, *dC, *dGates;
  float *packed[2]; /* hᵀ in the swapped path's strips (forward) */
  long Mp;          /* B rounded up to the tile's strip width */
  barrier bar;
} sweep_job;

/* the hidden units of thread p: whole blocks of `align` units, as even as they go */
static void units(const sweep_job *j, int p, long *lo, long *hi) {
  const long blocks = (j->H + j->align - 1) / j->align;
  *lo = blocks * p / j->threads * j->align;
  *hi = blocks * (p + 1) / j->threads * j->align;
  if (*lo > j->H) *lo = j->H;
  if (*hi > j->H) *hi = j->H;
}

/* columns [lo, hi) of h [B,H] into the packed hᵀ (layout: gemm_driver.h, swept) */
static void pack_cols(const sweep_job *j, const float *h, float *packed, long lo, long hi) {
  const long NR = j->isa->nr, KC = j->isa->kc, H = j->H;
  for (long k = lo; k < hi;) {
    const long k0 = k / KC * KC, kc = H - k0 < KC ? H - k0 : KC, end = hi < k0 + kc ? hi : k0 + kc;
    float *blk = packed + k0 * j->Mp;
    for (long b = 0; b < j->B; b++) {
      float *dst = blk + (b / NR) * kc * NR + b % NR;
      const float *src = h + b * H;
      for (long kk = k; kk < end; kk++) dst[(kk - k0) * NR] = src[kk];
    }
    k = end;
  }
}

static void forward_part(void *ctx, int p, float *scratch) {
  sweep_job *j = (sweep_job *)ctx;
  const long B = j->B, H = j->H, G = j->G, n = B * H;
  long lo, hi;
  units(j, p, &lo, &hi);
  pack_cols(j, j->Hs, j->packed[0], lo, hi);
  barrier_wait(&j->bar);
  for (long t = 0; t < j->T; t++) {
    float *gates = j->gates + t * B * G;
    if (hi > lo) {
      for (int q = 0; q < 4; q++)
        j->isa->swept(j->Whh, H, H, j->packed[t & 1], B, gates, G, q * H + lo, q * H + hi, scratch);
      j->cells->lstm_forward_cols(B, H, lo, hi, gates, j->Cs + t * n, j->Cs + (t + 1) * n, j->Hs + (t + 1) * n,
                                  j->TC + t * n);
    }
    if (t + 1 < j->T) {
      pack_cols(j, j->Hs + (t + 1) * n, j->packed[(t + 1) & 1], lo, hi);
      barrier_wait(&j->bar);
    }
  }
}

static void backward_part(void *ctx, int p, float *scratch) {
  sweep_job *j = (sweep_job *)ctx;
  const long B = j->B, H = j->H, G = j->G, n = B * H;
  long lo, hi;
  units(j, p, &lo, &hi);
  for (long t = j->T - 1; t >= 0; t--) {
    float *dGates = j->dGates + t * B * G;
    if (hi > lo)
      j->cells->lstm_backward_cols(B, H, lo, hi, j->gates + t * B * G, j->Cs + t * n, j->TC + t * n,
                                   j->dHs + (t + 1) * n, j->dC, dGates);
    barrier_wait(&j->bar);
    if (hi > lo) {
      /* ∂L/∂h_{t-1}[:, lo:hi] += dGates_t · W_hh[:, lo:hi] */
      const rnn_gemm_args g = {0, 0, B, H, G, dGates, G, j->Whh, H, 1, j->dHs + t * n, H};
      j->isa->block(&g, 0, B, lo, hi, RNN_PATH_PACKED, scratch);
    }
  }
}

/* the packed hᵀ buffers, kept between calls (calls come from the one JavaScript thread) */
static float *packed_buf;
static size_t packed_floats;

static int ensure_packed(size_t floats) {
  if (floats <= packed_floats) return 1;
  void *p = NULL;
  if (posix_memalign(&p, 64, floats * sizeof(float)) != 0) return 0;
  free(packed_buf);
  packed_buf = (float *)p;
  packed_floats = floats;
  return 1;
}

static void job_init(sweep_job *j, long B, long T, long H) {
  j->isa = rnn_addon_gemm();
  j->cells = rnn_addon_cells();
  j->B = B; j->T = T; j->H = H; j->G = 4 * H;
  j->threads = rnn_pool_threads(rnn_addon_pool());
  j->align = j->isa->nr > 16 ? j->isa->nr : 16;
  j->Mp = (B + j->isa->nr - 1) / j->isa->nr * j->isa->nr;
  barrier_init(&j->bar, j->threads);
}

/* ---- Node-API: arguments */
#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "native kernels: Node-API call failed: " #call); return NULL; } } while (0)

typedef struct {
  napi_env env;
  const char *op;
  napi_value argv[10];
  int ok;
} sweep_args;

static long get_long(sweep_args *a, int i, const char *what) {
  int64_t x = 0;
  if (a->ok && (napi_get_value_int64(a->env, a->argv[i], &x) != napi_ok || x < 0)) {
    char msg[96];
    snprintf(msg, sizeof msg, "native %s: %s must be a number ≥ 0", a->op, what);
    napi_throw_type_error(a->env, NULL, msg);
    a->ok = 0;
  }
  return (long)x;
}

static float *get_floats(sweep_args *a, int i, long need, const char *what) {
  if (!a->ok) return NULL;
  bool is = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  char msg[160];
  if (napi_is_typedarray(a->env, a->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(a->env, a->argv[i], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float32_array) {
    snprintf(msg, sizeof msg, "native %s: %s must be a Float32Array", a->op, what);
    napi_throw_type_error(a->env, NULL, msg);
    a->ok = 0;
    return NULL;
  }
  if ((long)length < need) {
    snprintf(msg, sizeof msg, "native %s: %s has %zu elements, the call needs %ld", a->op, what, length, need);
    napi_throw_range_error(a->env, NULL, msg);
    a->ok = 0;
    return NULL;
  }
  return (float *)data;
}

static int get_args(sweep_args *a, napi_env env, napi_callback_info info, const char *op, size_t need) {
  size_t argc = 10;
  a->env = env;
  a->op = op;
  a->ok = 0;
  if (napi_get_cb_info(env, info, &argc, a->argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "native kernels: Node-API call failed");
    return 0;
  }
  if (argc < need) {
    char msg[96];
    snprintf(msg, sizeof msg, "native %s: %zu arguments expected", op, need);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  a->ok = 1;
  return 1;
}

static napi_value boolean(napi_env env, bool v) {
  napi_value r;
  CHECK(napi_get_boolean(env, v, &r));
  return r;
}

static napi_value js_forward(napi_env env, napi_callback_info info) {
  sweep_args a;
  if (!get_args(&a, env, info, "lstmSweepForward", 8)) return NULL;
  const long B = get_long(&a, 0, "B"), T = get_long(&a, 1, "T"), H = get_long(&a, 2, "H");
  if (!a.ok) return NULL;
  if (B <= RNN_DOT_MAX_M) return boolean(env, false);
  if (T == 0 || H == 0) return boolean(env, true);
  const long n = B * H;
  float *gates = get_floats(&a, 3, T * 4 * n, "gates");
  const float *Whh = get_floats(&a, 4, 4 * H * H, "Whh");
  float *Hs = get_floats(&a, 5, (T + 1) * n, "Hs"), *Cs = get_floats(&a, 6, (T + 1) * n, "Cs");
  float *TC = get_floats(&a, 7, T * n, "TC");
  if (!a.ok) return NULL;
  sweep_job j;
  job_init(&j, B, T, H);
  const size_t each = (size_t)(H * j.Mp);
  if (!ensure_packed(2 * each)) {
    barrier_destroy(&j.bar);
    napi_throw_error(env, NULL, "native lstmSweepForward: out of memory");
    return NULL;
  }
  j.packed[0] = packed_buf;
  j.packed[1] = packed_buf + each;
  if (j.Mp > B) memset(packed_buf, 0, 2 * each * sizeof(float)); /* the strips' rows past B */
  j.Whh = Whh; j.gates = gates; j.Hs = Hs; j.Cs = Cs; j.TC = TC;
  rnn_pool_run(rnn_addon_pool(), j.threads, forward_part, &j);
  barrier_destroy(&j.bar);
  return boolean(env, true);
}

static napi_value js_backward(napi_env env, napi_callback_info info) {
  sweep_args a;
  if (!get_args(&a, env, info, "lstmSweepBackward", 10)) return NULL;
  const long B = get_long(&a, 0, "B"), T = get_long(&a, 1, "T"), H = get_long(&a, 2, "H");
  if (!a.ok) return NULL;
  if (B <= RNN_DOT_MAX_M) return boolean(env, false);
  if (T == 0 || H == 0) return boolean(env, true);
  const long n = B * H;
  const float *gates = get_floats(&a, 3, T * 4 * n, "gates"), *Whh = get_floats(&a, 4, 4 * H * H, "Whh");
  const float *Cs = get_floats(&a, 5, (T + 1) * n, "Cs"), *TC = get_floats(&a, 6, T * n, "TC");
  float *dHs = get_floats(&a, 7, (T + 1) * n, "dHs"), *dC = get_floats(&a, 8, n, "dC");
  float *dGates = get_floats(&a, 9, T * 4 * n, "dGates");
  if (!a.ok) return NULL;
  sweep_job j;
  job_init(&j, B, T, H);
  j.Whh = Whh; j.gates = (float *)gates; j.Cs = (float *)Cs; j.TC = (float *)TC;
  j.dHs = dHs; j.dC = dC; j.dGates = dGates;
  rnn_pool_run(rnn_addon_pool(), j.threads, backward_part, &j);
  barrier_destroy(&j.bar);
  return boolean(env, true);
}

napi_status rnn_sweep_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"lstmSweepForward", NULL, js_forward, NULL, NULL, NULL, napi_default, NULL},
    {"lstmSweepBackward", NULL, js_backward, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
