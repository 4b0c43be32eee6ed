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
 * The hidden units are cut into about two blocks per thread, each a whole number of
 * column strips of the backward product and of vectors (64 units for H = 256 on two
 * threads with AVX2); a block's four gate columns j, H+j, 2H+j, 3H+j, its part of h_t,
 * c_t, dC and ∂L/∂h_{t-1} go together. Each step is a phase of one part per block:
 *   forward, step t: the block's gate columns of h_{t-1}·W_hhᵀ (its rows of W_hh read in
 *     place: gemm_driver.h's swept(), the swapped path's sums, on hᵀ packed once per step
 *     for everyone), its pointwise step, then its columns of h_t into the packed hᵀ of
 *     the next step (two buffers, alternating);
 *   backward, phase k of T + 1: the block's columns of ∂L/∂h_{s-1} += dGates_s·W_hh
 *     (s = T − k; block() on the packed path, W_hh read in place), then the pointwise
 *     backward of step s − 1 for its units, which needs just those columns.
 * A phase starts when the one before is complete (every thread needs all of h_{t-1}, or
 * all of dGates_s). Each thread of the pool owns a run of blocks, claims its own first,
 * in order, so its rows of W_hh stay in its cache from step to step, then what is left of
 * the others' (from their far end), then waits. The threads stay in the call for the
 * whole window: no hand-off per step. A thread that is descheduled (a shared 2-vCPU
 * machine) or a worker slow to wake never holds the others up unless it is inside a
 * part: the running threads take its blocks.
 *
 * Results: every element is computed by the same operations as the per-step path of
 * lstm.ts on this backend (gemm's swapped path for B > RNN_DOT_MAX_M, its packed path for
 * dh, the cells' kernels element by element), whichever thread runs its block, so they
 * are bit-identical to it and to each other for any thread count. With B ≤ RNN_DOT_MAX_M
 * the per-step forward product takes the dot-product path, whose sums differ: the sweep
 * declines (returns false) and the caller runs the per-step loop.
 *
 * The wait at the end of a phase spins for a while (a step is ~0.1 ms on the bench's
 * models) and then sleeps on a condition variable. The spin has no PAUSE: on the 2-vCPU
 * KVM guest this was written on, a first version's barrier cost 87–137 µs a step with
 * PAUSE in its spin and 4–98 µs without (later, noisier runs did not separate the two). */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* a compiler barrier only: no PAUSE / YIELD in the spin (see above) */
#define CPU_RELAX() __asm__ __volatile__("" ::: "memory")

#include "args.h"
#include "cells.h"
#include "gemm.h"
#include "ops.h"
#include "pool.h"
#include "step.h"
#include "sweep.h"

/* How long a thread spins for the end of a step before it sleeps (ns). */
#define WAIT_SPIN_NS 100000L

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* ---- one sweep: phases (the steps) of blocks of hidden units */
typedef struct sweep_job sweep_job;
struct sweep_job {
  const rnn_gemm_isa *isa;
  const rnn_cells_isa *cells;
  long B, T, H, G;
  int threads;
  long bsize, blocks; /* hidden units per block, blocks */
  long phases;
  void (*part)(sweep_job *j, long b0, long b1, long phase, float *scratch); /* blocks [b0, b1) */
  const float *Whh;
  float *gates, *Hs, *Cs, *TC;
  float *dHs, *dC, *dGates;
  float *packed[2]; /* hᵀ in the swapped path's strips (forward) */
  long Mp;          /* B rounded up to the tile's strip width */
  /* stamp[b]: the last phase block b was claimed in (−1 before the first) */
  atomic_long *stamp;
  atomic_long completed; /* parts finished, all phases */
  atomic_int sleepers;
  pthread_mutex_t lock;
  pthread_cond_t wake;
};

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

static void block_units(const sweep_job *j, long b0, long b1, long *lo, long *hi) {
  *lo = b0 * j->bsize;
  *hi = b1 * j->bsize < j->H ? b1 * j->bsize : j->H;
}

/* forward, phase t: the blocks' gate columns of h_{t-1}·W_hhᵀ, its pointwise step, its h_t into the next packed hᵀ */
static void forward_blocks(sweep_job *j, long b0, long b1, long t, float *scratch) {
  const long B = j->B, H = j->H, G = j->G, n = B * H;
  long lo, hi;
  block_units(j, b0, b1, &lo, &hi);
  float *gates = j->gates + t * B * G;
  for (int q = 0; q < 4; q++)
    j->isa->swept(j->Whh, H, G, H, j->packed[t & 1], B, gates, G, q * H + lo, q * H + hi, scratch);
  j->cells->lstm_forward_cols(B, H, lo, hi, gates, j->Cs + t * n, j->Cs + (t + 1) * n, j->Hs + (t + 1) * n,
                              j->TC + t * n);
  if (t + 1 < j->T) pack_cols(j, j->Hs + (t + 1) * n, j->packed[(t + 1) & 1], lo, hi);
}

/* backward, phase k (of T + 1): the blocks' columns of ∂L/∂h_{s-1} += dGates_s·W_hh for
 * s = T − k (k ≥ 1: dGates_s is whole since phase k − 1), then the pointwise backward of
 * step t = T − 1 − k for its units (k < T), which reads those columns */
static void backward_blocks(sweep_job *j, long b0, long b1, long k, float *scratch) {
  const long B = j->B, H = j->H, G = j->G, n = B * H;
  long lo, hi;
  block_units(j, b0, b1, &lo, &hi);
  if (k >= 1) {
    const long s = j->T - k;
    const rnn_gemm_args g = {0, 0, B, H, G, j->dGates + s * B * G, G, j->Whh, H, 1, j->dHs + s * n, H};
    j->isa->block(&g, 0, B, lo, hi, RNN_PATH_PACKED, scratch);
  }
  if (k < j->T) {
    const long t = j->T - 1 - k;
    j->cells->lstm_backward_cols(B, H, lo, hi, j->gates + t * B * G, j->Cs + t * n, j->TC + t * n,
                                 j->dHs + (t + 1) * n, j->dC, j->dGates + t * B * G);
  }
}

/* waits until every block of phase k is done: spins, then sleeps */
static void wait_phase(sweep_job *j, long k) {
  const long need = (k + 1) * j->blocks;
  if (atomic_load(&j->completed) >= need) return;
  const long until = now_ns() + WAIT_SPIN_NS;
  int spins = 0;
  while (atomic_load(&j->completed) < need) {
    CPU_RELAX();
    if ((++spins & 127) == 0 && now_ns() > until) {
      /* sleepers is raised before completed is read again under the lock, and the last
       * finisher of a phase raises completed before it reads sleepers: one sees the other */
      pthread_mutex_lock(&j->lock);
      atomic_fetch_add(&j->sleepers, 1);
      while (atomic_load(&j->completed) < need) pthread_cond_wait(&j->wake, &j->lock);
      atomic_fetch_sub(&j->sleepers, 1);
      pthread_mutex_unlock(&j->lock);
      return;
    }
  }
}

/* claims block b for phase k (it was last claimed in phase k − 1) */
static int claim(sweep_job *j, long b, long k) {
  long expect = k - 1;
  return atomic_load(&j->stamp[b]) == expect && atomic_compare_exchange_strong(&j->stamp[b], &expect, k);
}

static void finished(sweep_job *j, long blocks, long k) {
  if (atomic_fetch_add(&j->completed, blocks) + blocks == (k + 1) * j->blocks && atomic_load(&j->sleepers) > 0) {
    pthread_mutex_lock(&j->lock);
    pthread_cond_broadcast(&j->wake);
    pthread_mutex_unlock(&j->lock);
  }
}

/* One thread's run through the phases: in each, it claims its own blocks first, in order
 * and a few at a time (up to half of its run: one product call over consecutive blocks
 * reuses its operands from cache; the rest stays for another thread to take if this one
 * is held up), then what is left of the others' (one by one from their far end), and
 * waits for the rest. A thread that is late (descheduled, or a worker that has not woken)
 * only means the others do its blocks; one that joins after the end returns at once. */
static void run_phases(void *ctx, int p, float *scratch) {
  sweep_job *j = (sweep_job *)ctx;
  const long nb = j->blocks, P = j->threads;
  const long lo = nb * p / P, hi = nb * (p + 1) / P, chunk = (hi - lo + 1) / 2 > 0 ? (hi - lo + 1) / 2 : 1;
  for (long k = atomic_load(&j->completed) / nb; k < j->phases;) {
    for (long b = lo; b < hi; b++) {
      if (!claim(j, b, k)) continue;
      long e = b + 1;
      while (e < hi && e - b < chunk && claim(j, e, k)) e++;
      j->part(j, b, e, k, scratch);
      finished(j, e - b, k);
      b = e - 1;
    }
    for (long q = 1; q < P; q++) {
      const long owner = (p + q) % P, olo = nb * owner / P, ohi = nb * (owner + 1) / P;
      for (long b = ohi - 1; b >= olo; b--) {
        if (!claim(j, b, k)) continue;
        j->part(j, b, b + 1, k, scratch);
        finished(j, 1, k);
      }
    }
    wait_phase(j, k);
    const long done = atomic_load(&j->completed) / nb;
    k = done > k + 1 ? done : k + 1;
  }
}

/* the buffers kept between calls (calls come from the one JavaScript thread): packed hᵀ, stamps */
static float *packed_buf;
static size_t packed_floats;
static atomic_long *stamp_buf;
static long stamp_count;

static int job_init(sweep_job *j, long B, long T, long H, size_t packed) {
  j->isa = rnn_addon_gemm();
  j->cells = rnn_addon_cells();
  j->B = B; j->T = T; j->H = H; j->G = 4 * H;
  j->threads = rnn_pool_threads(rnn_addon_pool());
  /* blocks of whole strips of columns (backward) and whole vectors, max(NR, 16) units,
   * about two per thread: H / (2 · threads) rounded up to that. The forward's rows need
   * not be whole register tiles: a part's last tile of each gate reads the rows after it
   * in place and stores only its own (gemm_driver.h, swept), MR − 1 rows wasted at most
   * (2 of 66 for 64 units on AVX2). The earlier lcm(MR, max(NR, 16)) = 48 units cut
   * H = 256 into 5⅓ blocks: 144 units on one thread, 112 on the other, each step. */
  const long w = j->isa->nr > 16 ? j->isa->nr : 16, per = (H + 2 * j->threads - 1) / (2 * j->threads);
  j->bsize = (per + w - 1) / w * w;
  j->blocks = (H + j->bsize - 1) / j->bsize;
  j->Mp = (B + j->isa->nr - 1) / j->isa->nr * j->isa->nr;
  if (packed > packed_floats) {
    void *p = NULL;
    if (posix_memalign(&p, 64, packed * sizeof(float)) != 0) return 0;
    free(packed_buf);
    packed_buf = (float *)p;
    packed_floats = packed;
  }
  if (j->blocks > stamp_count) {
    atomic_long *s = (atomic_long *)malloc((size_t)j->blocks * sizeof(atomic_long));
    if (!s) return 0;
    free(stamp_buf);
    stamp_buf = s;
    stamp_count = j->blocks;
  }
  j->stamp = stamp_buf;
  for (long b = 0; b < j->blocks; b++) atomic_init(&j->stamp[b], -1);
  atomic_init(&j->completed, 0);
  atomic_init(&j->sleepers, 0);
  pthread_mutex_init(&j->lock, NULL);
  pthread_cond_init(&j->wake, NULL);
  return 1;
}

static void job_run(sweep_job *j) {
  rnn_pool_run(rnn_addon_pool(), j->threads, run_phases, j);
  pthread_mutex_destroy(&j->lock);
  pthread_cond_destroy(&j->wake);
}

/* ---- Node-API */
static const rnn_op FORWARD = {"lstmSweepForward", {ARG_INT("B"), ARG_INT("T"), ARG_INT("H"), ARG_F32("gates"),
                                                    ARG_F32("Whh"), ARG_F32("Hs"), ARG_F32("Cs"), ARG_F32("TC")}};
static const rnn_op BACKWARD = {"lstmSweepBackward", {ARG_INT("B"), ARG_INT("T"), ARG_INT("H"), ARG_F32("gates"),
                                                      ARG_F32("Whh"), ARG_F32("Cs"), ARG_F32("TC"), ARG_F32("dHs"),
                                                      ARG_F32("dC"), ARG_F32("dGates")}};

static napi_value boolean(napi_env env, bool v) {
  napi_value r;
  CHECK(napi_get_boolean(env, v, &r));
  return r;
}

/* B, T, H of a call; 0 when the sweep declines (thrown when a size is negative) */
static int sizes(rnn_args *a, long *B, long *T, long *H) {
  *B = (long)a->v[0].i; *T = (long)a->v[1].i; *H = (long)a->v[2].i;
  if (*B < 0 || *T < 0 || *H < 0) {
    rnn_range_error(a, "native %s: B, T and H must be ≥ 0", a->op->name);
    return 0;
  }
  return *B > RNN_DOT_MAX_M;
}

static napi_value js_forward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &FORWARD)) return NULL;
  long B, T, H;
  if (!sizes(&a, &B, &T, &H)) return a.ok ? boolean(env, false) : NULL;
  if (T == 0 || H == 0) return boolean(env, true);
  const long n = B * H;
  float *gates = rnn_view(&a, 3, T * 4 * n), *Whh = rnn_view(&a, 4, 4 * H * H), *Hs = rnn_view(&a, 5, (T + 1) * n),
        *Cs = rnn_view(&a, 6, (T + 1) * n), *TC = rnn_view(&a, 7, T * n);
  if (!a.ok) return NULL;
  sweep_job j;
  const long nr = rnn_addon_gemm()->nr, Mp = (B + nr - 1) / nr * nr;
  const size_t each = (size_t)(H * Mp);
  if (!job_init(&j, B, T, H, 2 * each)) {
    napi_throw_error(env, NULL, "native lstmSweepForward: out of memory");
    return NULL;
  }
  j.packed[0] = packed_buf;
  j.packed[1] = packed_buf + each;
  if (Mp > B) memset(packed_buf, 0, 2 * each * sizeof(float)); /* the strips' rows past B */
  j.Whh = Whh; j.gates = gates; j.Hs = Hs; j.Cs = Cs; j.TC = TC;
  j.phases = T;
  j.part = forward_blocks;
  pack_cols(&j, Hs, j.packed[0], 0, H);
  job_run(&j);
  return boolean(env, true);
}

static napi_value js_backward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &BACKWARD)) return NULL;
  long B, T, H;
  if (!sizes(&a, &B, &T, &H)) return a.ok ? boolean(env, false) : NULL;
  if (T == 0 || H == 0) return boolean(env, true);
  const long n = B * H;
  float *gates = rnn_view(&a, 3, T * 4 * n), *Whh = rnn_view(&a, 4, 4 * H * H), *Cs = rnn_view(&a, 5, (T + 1) * n),
        *TC = rnn_view(&a, 6, T * n), *dHs = rnn_view(&a, 7, (T + 1) * n), *dC = rnn_view(&a, 8, n),
        *dGates = rnn_view(&a, 9, T * 4 * n);
  if (!a.ok) return NULL;
  sweep_job j;
  if (!job_init(&j, B, T, H, 0)) {
    napi_throw_error(env, NULL, "native lstmSweepBackward: out of memory");
    return NULL;
  }
  j.Whh = Whh; j.gates = gates; j.Cs = Cs; j.TC = TC;
  j.dHs = dHs; j.dC = dC; j.dGates = dGates;
  j.phases = T + 1;
  j.part = backward_blocks;
  job_run(&j);
  return boolean(env, true);
}

napi_status rnn_sweep_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"lstmSweepForward", NULL, js_forward, NULL, NULL, NULL, napi_default, NULL},
    {"lstmSweepBackward", NULL, js_backward, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
