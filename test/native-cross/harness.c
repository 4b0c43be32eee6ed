/* The native addon's C kernels without Node: every GEMM instruction set and every cell
 * kernel set this build holds and this CPU (or emulator) runs, against scalar references
 * written here in double precision and in a different loop order.
 *
 * Built and run by scripts/test-cross.mjs, natively and for arm64 under qemu-aarch64, from
 * the file list binding.gyp compiles for that architecture (less the Node-API files).
 *
 * GEMM: ragged shapes that cross every tile edge, KC, MC, NC and the swapped path's chunk
 * of each instruction set; all four transposes × beta 0/1; leading dimensions wider than the
 * rows; A, B and C at float offsets 0–3 from an aligned address and ending right before an
 * unreadable page (a read past the end faults); every element outside the product's
 * M×N block of C (ld padding, guard floats before and after) and all of A and B left as
 * they were; beta 0 never reads C (NaN there); K = 0; each of the three paths (packed,
 * swapped, dot) forced on every A·Bᵀ shape, besides the one the addon picks; the same bits
 * when the product is cut into 2–5 parts (along M and along N, as addon.c splits) run on a
 * pool of 2 and 3 threads.
 *
 * Cells: each kernel on shapes with every tail length of the vector width, buffers at
 * offsets 0–3 ending before an unreadable page, against double-precision references with
 * the bounds of test/kernels/native-cells.test.ts; σ and tanh against float64 over ±20,
 * the far tails, ±∞ and NaN; softmax cross-entropy up to V = 5003, aliased; Adam bit for bit
 * against a float loop without fused multiply-adds (what the WebAssembly kernel computes).
 *
 * Step (step_impl.h, the batch-1 step's kernels): a weight panel of every row count up to
 * step_rows times 1–3 input vectors, with and without the added term, against double sums;
 * the max with its finiteness flag (NaN and ±∞ at the start, middle and end); the tempered
 * exps and their double sum; every buffer ending before an unreadable page.
 *
 * Usage: harness [isa...]   (default: every instruction set this CPU runs).
 * Exit 0 when everything passed, 1 otherwise (each failure printed on stderr). */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if !defined(MAP_ANONYMOUS)
#define MAP_ANONYMOUS MAP_ANON
#endif

#include "../../src/kernels/native/cells.h"
#include "../../src/kernels/native/cpu.h"
#include "../../src/kernels/native/gemm.h"
#include "../../src/kernels/native/pool.h"

static int failures = 0;
#define FAIL(...) do { if (failures++ < 20) { fprintf(stderr, "FAIL "); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); } } while (0)

/* ---- random numbers (xorshift64*) */
static uint64_t rng_state = 88172645463325252ull;
static double urand(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static float uniform(double lo, double hi) { return (float)(lo + (hi - lo) * urand()); }
static long irand(long n) { return (long)(urand() * (double)n); }

/* ---- buffers that end right before a PROT_NONE page, starting `off` floats past a
 * 16-byte boundary; GUARD floats before the start and the (< 4) floats between the end
 * and the page hold a sentinel that must survive */
#define GUARD 8
static const uint32_t SENTINEL = 0x7fc0beefu;
typedef struct {
  float *p;
  long n, pad;
  void *map;
  size_t maplen;
} gbuf;

static gbuf galloc(long n, int off) {
  const long page = sysconf(_SC_PAGESIZE);
  const long pad = (((-(n + off)) % 4) + 4) % 4; /* start ≡ off (mod 4 floats) */
  const size_t bytes = (size_t)(n + pad + GUARD) * sizeof(float);
  const size_t data = (bytes + (size_t)page - 1) / (size_t)page * (size_t)page;
  gbuf b;
  b.map = mmap(NULL, data + (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b.map == MAP_FAILED) { perror("mmap"); exit(2); }
  if (mprotect((char *)b.map + data, (size_t)page, PROT_NONE) != 0) { perror("mprotect"); exit(2); }
  b.maplen = data + (size_t)page;
  float *end = (float *)((char *)b.map + data);
  b.p = end - pad - n;
  b.n = n;
  b.pad = pad;
  for (long i = -GUARD; i < 0; i++) memcpy(b.p + i, &SENTINEL, 4);
  for (long i = n; i < n + pad; i++) memcpy(b.p + i, &SENTINEL, 4);
  return b;
}
static int guards_ok(const gbuf *b) {
  for (long i = -GUARD; i < 0; i++) if (memcmp(b->p + i, &SENTINEL, 4)) return 0;
  for (long i = b->n; i < b->n + b->pad; i++) if (memcmp(b->p + i, &SENTINEL, 4)) return 0;
  return 1;
}
static void gfree(gbuf *b) { munmap(b->map, b->maplen); }

static int same_bits(const float *a, const float *b, long n) { return memcmp(a, b, (size_t)n * sizeof(float)) == 0; }

/* ======================================================================= GEMM */

static const rnn_gemm_isa *gemm_isas[8];
static int n_gemm_isas = 0;
static const rnn_cells_isa *cell_isas[8];
static int n_cell_isas = 0;

static rnn_pool *pool1, *pool2, *pool3;

static const char *path_name(int p) { return p == RNN_PATH_DOT ? "dot" : p == RNN_PATH_SWAPPED ? "swapped" : "packed"; }

static long gemm_calls = 0, gemm_split_calls = 0;

/* one product on every applicable path, unsplit and split; against the double reference */
static void check_gemm(const rnn_gemm_isa *isa, int ta, int tb, long M, long N, long K, int beta, int offA, int offB,
                       int offC) {
  const long lda = (ta ? M : K) + irand(3), ldb = (tb ? K : N) + irand(3), ldc = N + irand(3);
  const long nA = K > 0 ? ((ta ? K : M) - 1) * lda + (ta ? M : K) : 1;
  const long nB = K > 0 ? ((tb ? N : K) - 1) * ldb + (tb ? K : N) : 1;
  const long nC = (M - 1) * ldc + N;
  gbuf A = galloc(nA, offA), B = galloc(nB, offB), C = galloc(nC, offC);
  float *a0 = malloc(sizeof(float) * (size_t)nA), *b0 = malloc(sizeof(float) * (size_t)nB);
  float *c0 = malloc(sizeof(float) * (size_t)nC), *first = malloc(sizeof(float) * (size_t)nC);
  for (long i = 0; i < nA; i++) A.p[i] = a0[i] = uniform(-1, 1);
  for (long i = 0; i < nB; i++) B.p[i] = b0[i] = uniform(-1, 1);
  for (long i = 0; i < nC; i++) c0[i] = uniform(-1, 1);
  /* ld padding of C: values that must not change */
  for (long i = 0; i < M; i++) for (long j = N; j < ldc && i * ldc + j < nC; j++) c0[i * ldc + j] = 1000.0f + (float)j;

  /* reference: column by column, k descending, in double; and the bound of any order of
   * float sums of these terms: (K + 2)·2⁻²³·(Σ|a·b| + |beta·c|) */
  double *want = malloc(sizeof(double) * (size_t)(M * N)), *bound = malloc(sizeof(double) * (size_t)(M * N));
  for (long j = 0; j < N; j++)
    for (long i = 0; i < M; i++) {
      double s = 0, mag = 0;
      for (long k = K - 1; k >= 0; k--) {
        const double x = ta ? a0[k * lda + i] : a0[i * lda + k];
        const double y = tb ? b0[j * ldb + k] : b0[k * ldb + j];
        s += x * y;
        mag += fabs(x * y);
      }
      const double c = beta ? c0[i * ldc + j] : 0.0;
      want[i * N + j] = s + c;
      bound[i * N + j] = (double)(K + 2) * ldexp(1.0, -23) * (mag + fabs(c)) + 1e-30;
    }

  int paths[3], np = 0;
  paths[np++] = rnn_gemm_path(ta, tb, M); /* the one addon.c picks */
  if (!ta && tb) { /* force the other paths too (swapped needs M ≤ NC for its scratch) */
    for (int p = 0; p < 3; p++)
      if (p != paths[0] && (p != RNN_PATH_SWAPPED || M <= isa->nc)) paths[np++] = p;
  }
  rnn_gemm_args g = {ta, tb, M, N, K, A.p, lda, B.p, ldb, beta, C.p, ldc};
  for (int pi = 0; pi < np; pi++) {
    const int path = paths[pi];
    long unitM, unitN;
    rnn_gemm_units(isa, path, &unitM, &unitN);
    /* split 0: the whole block on the calling thread; 1–4: 2–5 parts along N (odd) or M
     * (even) on pools of 2 (1, 2) and 3 (3, 4) threads */
    for (int split = 0; split < 5; split++) {
      rnn_gemm_split job = {&g, isa, path, 0, 1, 1, M}; /* the whole: one part of M rows */
      rnn_pool *pool = pool1;
      if (split > 0) {
        job.byN = split & 1;
        job.unit = job.byN ? unitN : unitM;
        job.total = job.byN ? N : M;
        const long units = (job.total + job.unit - 1) / job.unit;
        job.parts = (int)(1 + split > units ? units : 1 + split);
        if (job.parts < 2) continue; /* nothing to split on this side */
        pool = split <= 2 ? pool2 : pool3;
        gemm_split_calls++;
      }
      memcpy(C.p, c0, sizeof(float) * (size_t)nC);
      if (!beta) for (long i = 0; i < M; i++) for (long j = 0; j < N; j++) C.p[i * ldc + j] = NAN; /* never read */
      gemm_calls++;
      rnn_pool_run(pool, job.parts, rnn_gemm_run_part, &job);
      char what[220];
      snprintf(what, sizeof what, "%s gemm %s%s %ldx%ldx%ld beta %d %s, lds %ld/%ld/%ld, offsets %d/%d/%d, %d part(s)%s",
               isa->name, ta ? "T" : "N", tb ? "T" : "N", M, N, K, beta, path_name(path), lda, ldb, ldc, offA, offB, offC,
               job.parts, split ? (job.byN ? " along N" : " along M") : "");
      if (!guards_ok(&A) || !guards_ok(&B) || !guards_ok(&C)) FAIL("%s: a guard float around A, B or C changed", what);
      if (!same_bits(A.p, a0, nA) || !same_bits(B.p, b0, nB)) FAIL("%s: A or B changed", what);
      if (split == 0) {
        memcpy(first, C.p, sizeof(float) * (size_t)nC);
        int bad = 0;
        for (long i = 0; i < M && !bad; i++)
          for (long j = 0; j < ldc && i * ldc + j < nC; j++) {
            const long at = i * ldc + j;
            if (j >= N) {
              if (!same_bits(C.p + at, c0 + at, 1)) { FAIL("%s: C[%ld] (ld padding) changed", what, at); bad = 1; break; }
              continue;
            }
            const double d = fabs((double)C.p[at] - want[i * N + j]);
            if (!(d <= bound[i * N + j])) {
              FAIL("%s: C[%ld][%ld] = %.9g, reference %.9g (bound %.3g)", what, i, j, C.p[at], want[i * N + j], bound[i * N + j]);
              bad = 1;
              break;
            }
          }
      } else if (!same_bits(first, C.p, nC)) {
        FAIL("%s: not bit-identical to the whole product on one thread", what);
      }
    }
  }
  free(want); free(bound); free(a0); free(b0); free(c0); free(first);
  gfree(&A); gfree(&B); gfree(&C);
}

static long call_no = 0;
static void gemm_all_flags(const rnn_gemm_isa *isa, long M, long N, long K) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int beta = 0; beta < 2; beta++) {
        const long c = call_no++;
        check_gemm(isa, ta, tb, M, N, K, beta, (int)(c % 4), (int)((c / 4 + 1) % 4), (int)((c / 16 + 2) % 4));
      }
}

static void test_gemm(const rnn_gemm_isa *isa) {
  const long mr = isa->mr, nr = isa->nr, kc = isa->kc, mc = isa->mc;
  /* fixed shapes: below, at and past one tile, two tiles, KC, MC, the swapped chunk
   * (16·MR columns) and NC; the addon's path limits (dot ≤ 4 rows, swapped and in-place B
   * ≤ 64 rows) from both sides; a few training shapes cut down */
  const long shapes[][3] = {
    {1, 1, 1}, {1, 7, 3}, {2, 5, 9}, {3, 9, 21}, {4, 5, 300}, {5, 1, 9},
    {mr - 1, nr - 1, 7}, {mr, nr, 8}, {mr + 1, nr + 1, 17}, {2 * mr, 2 * nr, kc}, {2 * mr + 3, 2 * nr - 3, kc + 1},
    {mr + 2, 3 * nr + 5, 2 * kc + 3}, {mc - 1, nr + 3, 5}, {mc, 2, 11}, {mc + 1, nr * 2 + 1, 33}, {2 * mc + 5, 9, 2},
    {13, 33, 257}, {33, 70, 40}, {64, 65, 129}, {65, 31, 64}, {100, 90, 120}, {2, 300, 520},
    {7, 16 * mr + 3, 19}, {9, 16 * mr * 2 + 1, 10}, {3, 1100, 7}, {40, 1030, 6}, {70, 1025, 3},
  };
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) gemm_all_flags(isa, shapes[s][0], shapes[s][1], shapes[s][2]);
  /* K = 0: beta 0 writes zeros, beta 1 leaves C */
  gemm_all_flags(isa, 5, 9, 0);
  gemm_all_flags(isa, 70, 3, 0);
  /* random ragged shapes */
  for (int r = 0; r < 40; r++) gemm_all_flags(isa, 1 + irand(80), 1 + irand(80), irand(300));
  printf("%s gemm: %ld products checked (%ld of them split over 2 and 3 threads)\n", isa->name, gemm_calls,
         gemm_split_calls);
  gemm_calls = gemm_split_calls = 0;
}

/* ======================================================================= cells */

static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* The buffers of one call: inputs drawn in [lo, hi), a float copy for the kernel at offset
 * 0–3 before an unreadable page, a double copy for the reference. */
#define MAXB 8
typedef struct {
  int nb;
  gbuf f[MAXB];
  double *d[MAXB];
  long n[MAXB];
} bufs;

static void bufs_make(bufs *b, int nb, const long *n, const double *lo, const double *hi, int seed_off) {
  b->nb = nb;
  for (int i = 0; i < nb; i++) {
    b->n[i] = n[i];
    b->f[i] = galloc(n[i], (seed_off + i) % 4);
    b->d[i] = malloc(sizeof(double) * (size_t)(n[i] > 0 ? n[i] : 1));
    for (long k = 0; k < n[i]; k++) {
      const float x = uniform(lo[i], hi[i]);
      b->f[i].p[k] = x;
      b->d[i][k] = x;
    }
  }
}

/* every buffer within abs + rel·|want| of the reference, guards intact; then freed */
static void bufs_check(bufs *b, double abs_tol, double rel_tol, const char *what) {
  for (int i = 0; i < b->nb; i++) {
    if (!guards_ok(&b->f[i])) FAIL("%s: a guard float around buffer %d changed", what, i);
    double worst = 0;
    long at = -1;
    for (long k = 0; k < b->n[i]; k++) {
      const double want = b->d[i][k], got = b->f[i].p[k];
      if (isnan(want) && isnan(got)) continue;
      const double d = fabs(got - want), r = d == 0 ? 0 : d / (abs_tol + rel_tol * fabs(want));
      if (!(r <= worst)) { worst = r; at = k; }
    }
    if (worst > 1)
      FAIL("%s buffer %d: element %ld is %.9g, the reference %.9g (%.2fx the tolerance)", what, i, at,
           (double)b->f[i].p[at], b->d[i][at], worst);
    gfree(&b->f[i]);
    free(b->d[i]);
  }
}

static long cell_calls = 0;
#define F(i) b.f[i].p
#define D(i) b.d[i]
#define TOL_ABS 3e-7
#define TOL_REL 2e-6

static void cells_shape(const rnn_cells_isa *c, long n, long H, int s) {
  const long m = n * H;
  char what[120];
  bufs b;
  /* vanilla RNN */
  for (int g = 0; g < 2; g++) {
    { const long sz[] = {m, m}; const double lo[] = {-12, -3}, hi[] = {12, 3};
      bufs_make(&b, 2, sz, lo, hi, s);
      c->rnn_forward(g, m, F(0), F(1));
      for (long i = 0; i < m; i++) D(1)[i] = g ? (D(0)[i] > 0 ? D(0)[i] : 0) : tanh(D(0)[i]);
      snprintf(what, sizeof what, "%s rnnForward %s n=%ld H=%ld", c->name, g ? "relu" : "tanh", n, H);
      bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
    { const long sz[] = {m, m, m}; const double lo[] = {-1, -3, -3}, hi[] = {1, 3, 3};
      bufs_make(&b, 3, sz, lo, hi, s + 1);
      c->rnn_backward(g, m, F(0), F(1), F(2));
      for (long i = 0; i < m; i++) D(2)[i] = g ? (D(0)[i] > 0 ? D(1)[i] : 0) : D(1)[i] * (1 - D(0)[i] * D(0)[i]);
      snprintf(what, sizeof what, "%s rnnBackward %s n=%ld H=%ld", c->name, g ? "relu" : "tanh", n, H);
      bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
  }
  /* LSTM [i f g o]: c = i·g + f·cPrev, h = o·tanh(c) */
  { const long sz[] = {4 * m, m, m, m, m}; const double lo[] = {-12, -3, -3, -3, -3}, hi[] = {12, 3, 3, 3, 3};
    bufs_make(&b, 5, sz, lo, hi, s + 2);
    c->lstm_forward(n, H, F(0), F(1), F(2), F(3), F(4));
    for (long r = 0; r < n; r++)
      for (long j = 0; j < H; j++) {
        double *gt = D(0) + r * 4 * H;
        const long q = r * H + j;
        /* the gates as the kernel stores them (floats), then the state from those */
        const float i = (float)sig(gt[j]), f = (float)sig(gt[H + j]), g = (float)tanh(gt[2 * H + j]), o = (float)sig(gt[3 * H + j]);
        gt[j] = i; gt[H + j] = f; gt[2 * H + j] = g; gt[3 * H + j] = o;
        const double ct = (double)i * g + (double)f * D(1)[q];
        D(2)[q] = ct; D(4)[q] = tanh(ct); D(3)[q] = o * tanh(ct);
      }
    snprintf(what, sizeof what, "%s lstmForward n=%ld H=%ld", c->name, n, H);
    bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
  { const long sz[] = {4 * m, m, m, m, m, 4 * m}; const double lo[] = {0, -3, -1, -3, -3, -3}, hi[] = {1, 3, 1, 3, 3, 3};
    bufs_make(&b, 6, sz, lo, hi, s + 3);
    c->lstm_backward(n, H, F(0), F(1), F(2), F(3), F(4), F(5));
    for (long r = 0; r < n; r++)
      for (long j = 0; j < H; j++) {
        const double *gt = D(0) + r * 4 * H;
        double *dg = D(5) + r * 4 * H;
        const long q = r * H + j;
        const double i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j], t = D(2)[q], dh = D(3)[q];
        const double dcell = D(4)[q] + dh * o * (1 - t * t);
        dg[j] = dcell * g * i * (1 - i);
        dg[H + j] = dcell * D(1)[q] * f * (1 - f);
        dg[2 * H + j] = dcell * i * (1 - g * g);
        dg[3 * H + j] = dh * t * o * (1 - o);
        D(4)[q] = dcell * f;
      }
    snprintf(what, sizeof what, "%s lstmBackward n=%ld H=%ld", c->name, n, H);
    bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
  /* classic GRU [r u c] */
  { const long sz[] = {3 * m, m, m}; const double lo[] = {-12, -3, -3}, hi[] = {12, 3, 3};
    bufs_make(&b, 3, sz, lo, hi, s + 4);
    c->gru_reset_forward(n, H, F(0), F(1), F(2));
    for (long r = 0; r < n; r++)
      for (long j = 0; j < H; j++) {
        double *gt = D(0) + r * 3 * H;
        const float rr = (float)sig(gt[j]);
        gt[j] = rr;
        gt[H + j] = sig(gt[H + j]);
        D(2)[r * H + j] = (double)rr * D(1)[r * H + j];
      }
    snprintf(what, sizeof what, "%s gruResetForward n=%ld H=%ld", c->name, n, H);
    bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
  for (int layout = 0; layout < 2; layout++)
    for (int su = 0; su < 2; su++) {
      /* classic: G = 3H, u at H, c̃ at 2H; minimal: G = 2H, u at 0, c̃ at H */
      const long G = layout ? 2 * H : 3 * H, uo = layout ? 0 : H, co = layout ? H : 2 * H;
      const long sz[] = {n * G, m, m}; const double lo[] = {-8, -3, -3}, hi[] = {8, 3, 3};
      bufs_make(&b, 3, sz, lo, hi, s + 5 + layout);
      if (!su) /* u holds σ values already */
        for (long r = 0; r < n; r++) for (long j = 0; j < H; j++) D(0)[r * G + uo + j] = F(0)[r * G + uo + j] = uniform(0, 1);
      c->gru_out_forward(n, H, G, uo, co, su, F(0), F(1), F(2));
      for (long r = 0; r < n; r++)
        for (long j = 0; j < H; j++) {
          double *gt = D(0) + r * G;
          float u = (float)gt[uo + j];
          if (su) { u = (float)sig(gt[uo + j]); gt[uo + j] = u; }
          const float cc = (float)tanh(gt[co + j]);
          gt[co + j] = cc;
          D(2)[r * H + j] = (double)u * cc + (1.0 - u) * D(1)[r * H + j];
        }
      snprintf(what, sizeof what, "%s gruOutForward %s σu=%d n=%ld H=%ld", c->name, layout ? "minimal" : "classic", su, n, H);
      bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++;
    }
  { const long G = 3 * H, sz[] = {3 * m, m, m, 3 * m, m}; const double lo[] = {0, -3, -3, -3, -3}, hi[] = {1, 3, 3, 3, 3};
    bufs_make(&b, 5, sz, lo, hi, s + 7);
    c->gru_out_backward(n, H, G, H, 2 * H, F(0), F(1), F(2), F(3), F(4));
    for (long r = 0; r < n; r++)
      for (long j = 0; j < H; j++) {
        const double u = D(0)[r * G + H + j], cc = D(0)[r * G + 2 * H + j], dh = D(2)[r * H + j];
        D(3)[r * G + H + j] = dh * (cc - D(1)[r * H + j]) * u * (1 - u);
        D(3)[r * G + 2 * H + j] = dh * u * (1 - cc * cc);
        D(4)[r * H + j] += dh * (1 - u);
      }
    snprintf(what, sizeof what, "%s gruOutBackward n=%ld H=%ld", c->name, n, H);
    bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
  { const long G = 3 * H, sz[] = {3 * m, m, m, 3 * m, m}; const double lo[] = {0, -3, -3, -3, -3}, hi[] = {1, 3, 3, 3, 3};
    bufs_make(&b, 5, sz, lo, hi, s + 8);
    c->gru_reset_backward(n, H, F(0), F(1), F(2), F(3), F(4));
    for (long r = 0; r < n; r++)
      for (long j = 0; j < H; j++) {
        const double rr = D(0)[r * G + j], d = D(2)[r * H + j];
        D(3)[r * G + j] = d * D(1)[r * H + j] * rr * (1 - rr);
        D(4)[r * H + j] += d * rr;
      }
    snprintf(what, sizeof what, "%s gruResetBackward n=%ld H=%ld", c->name, n, H);
    bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
  /* PyTorch's GRU [r z n], hw = W_hh·h + b_hh */
  { const long sz[] = {3 * m, 3 * m, m, m}; const double lo[] = {-8, -3, -3, -3}, hi[] = {8, 3, 3, 3};
    bufs_make(&b, 4, sz, lo, hi, s + 9);
    c->gru_torch_forward(n, H, F(0), F(1), F(2), F(3));
    for (long r = 0; r < n; r++)
      for (long j = 0; j < H; j++) {
        double *gt = D(0) + r * 3 * H;
        const double *hw = D(1) + r * 3 * H;
        const float rr = (float)sig(gt[j] + hw[j]), z = (float)sig(gt[H + j] + hw[H + j]);
        const float nn = (float)tanh(gt[2 * H + j] + (double)rr * hw[2 * H + j]);
        gt[j] = rr; gt[H + j] = z; gt[2 * H + j] = nn;
        D(3)[r * H + j] = (1.0 - z) * nn + (double)z * D(2)[r * H + j];
      }
    snprintf(what, sizeof what, "%s gruTorchForward n=%ld H=%ld", c->name, n, H);
    bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
  { const long sz[] = {3 * m, 3 * m, m, m, 3 * m, 3 * m, m};
    const double lo[] = {0, -3, -3, -3, -3, -3, -3}, hi[] = {1, 3, 3, 3, 3, 3, 3};
    bufs_make(&b, 7, sz, lo, hi, s + 10);
    c->gru_torch_backward(n, H, F(0), F(1), F(2), F(3), F(4), F(5), F(6));
    for (long r = 0; r < n; r++)
      for (long j = 0; j < H; j++) {
        const long o = r * 3 * H;
        const double rr = D(0)[o + j], z = D(0)[o + H + j], nn = D(0)[o + 2 * H + j], dh = D(3)[r * H + j];
        const double dn = dh * (1 - z) * (1 - nn * nn), dz = dh * (D(2)[r * H + j] - nn) * z * (1 - z);
        const double dr = dn * D(1)[o + 2 * H + j] * rr * (1 - rr);
        D(4)[o + j] = dr; D(4)[o + H + j] = dz; D(4)[o + 2 * H + j] = dn;
        D(5)[o + j] = dr; D(5)[o + H + j] = dz; D(5)[o + 2 * H + j] = dn * rr;
        D(6)[r * H + j] += dh * z;
      }
    snprintf(what, sizeof what, "%s gruTorchBackward n=%ld H=%ld", c->name, n, H);
    bufs_check(&b, TOL_ABS, TOL_REL, what); cell_calls++; }
}

/* σ and tanh against float64: within 2e-7 absolute and 6e-7 relative (the WebAssembly
 * backend's bounds), over ±20, the far tails, tiny values, ±∞; NaN stays NaN */
static void cells_accuracy(const rnn_cells_isa *c) {
  static const double fixed[] = {0, 1e-30, 1e-8, 1e-4, 0.3465, 0.3466, 9, 9.01, 20, 30, 40, 87, 88, 89, 100, 1e4, 3e38, INFINITY};
  const long nf = sizeof fixed / sizeof fixed[0], ngrid = 100001, ntiny = 5001;
  const long half = nf + ngrid + ntiny, n = 2 * half;
  float *x = malloc(sizeof(float) * (size_t)n), *h = malloc(sizeof(float) * (size_t)n);
  float *gates = calloc((size_t)(3 * n), sizeof(float)), *hp = calloc((size_t)n, sizeof(float)), *rh = malloc(sizeof(float) * (size_t)n);
  long k = 0;
  for (long i = 0; i < nf; i++) x[k++] = (float)fixed[i];
  for (long i = 0; i < ngrid; i++) x[k++] = (float)(-20 + 40.0 * (double)i / 100000.0);
  for (long i = 0; i < ntiny; i++) x[k++] = (float)(1e-6 * pow(1.004, (double)i));
  for (long i = 0; i < half; i++) x[half + i] = -x[i];
  c->rnn_forward(0, n, x, h);
  memcpy(gates, x, sizeof(float) * (size_t)n);
  c->gru_reset_forward(1, n, gates, hp, rh);
  for (int which = 0; which < 2; which++) {
    const float *got = which ? gates : h;
    double worst = 0, worst_rel = 0;
    long at = 0;
    for (long i = 0; i < n; i++) {
      const float want = (float)(which ? sig(x[i]) : tanh(x[i]));
      const double e = fabs((double)got[i] - want);
      if (!(e <= worst)) { worst = e; at = i; }
      if (fabs(want) > 1e-30 && e / fabs(want) > worst_rel) worst_rel = e / fabs(want);
    }
    if (!(worst < 2e-7) || !(worst_rel < 6e-7))
      FAIL("%s %s: worst error %.3g absolute (at x = %.9g), %.3g relative", c->name, which ? "sigmoid" : "tanh", worst, x[at], worst_rel);
    printf("%s %s: worst error %.2e absolute, %.2e relative over %ld points\n", c->name, which ? "sigmoid" : "tanh", worst, worst_rel, n);
  }
  /* NaN in, NaN out, the neighbours unharmed; on every lane position */
  for (int pos = 0; pos < 9; pos++) {
    float in[9], out[9], g3[27] = {0}, z9[9] = {0}, r9[9];
    for (int i = 0; i < 9; i++) in[i] = i == pos ? NAN : 1.0f;
    c->rnn_forward(0, 9, in, out);
    memcpy(g3, in, sizeof in);
    c->gru_reset_forward(1, 9, g3, z9, r9);
    for (int i = 0; i < 9; i++) {
      const int ok = i == pos ? isnan(out[i]) && isnan(g3[i]) : fabs(out[i] - tanh(1.0)) < 2e-7 && fabs(g3[i] - sig(1.0)) < 2e-7;
      if (!ok) FAIL("%s: NaN at %d of 9: element %d is tanh %g, sigmoid %g", c->name, pos, i, out[i], g3[i]);
    }
  }
  free(x); free(h); free(gates); free(hp); free(rh);
}

static void cells_rows(const rnn_cells_isa *c) {
  char what[120];
  bufs b;
  const long rl[][3] = {{1, 1, 1}, {7, 13, 16}, {33, 65, 70}, {3, 5, 7}, {2, 6, 6}, {4, 7, 9}};
  for (size_t t = 0; t < sizeof rl / sizeof rl[0]; t++) {
    const long rows = rl[t][0], N = rl[t][1], ldx = rl[t][2];
    { const long sz[] = {rows * ldx, N}; const double lo[] = {-3, -3}, hi[] = {3, 3};
      bufs_make(&b, 2, sz, lo, hi, (int)t);
      c->add_bias(rows, N, F(0), ldx, F(1));
      for (long r = 0; r < rows; r++) for (long j = 0; j < N; j++) D(0)[r * ldx + j] = (float)(D(0)[r * ldx + j] + D(1)[j]);
      snprintf(what, sizeof what, "%s addBias %ldx%ld ld %ld", c->name, rows, N, ldx);
      bufs_check(&b, 1e-7, 1e-7, what); cell_calls++; }
    { const long sz[] = {rows * ldx, N}; const double lo[] = {-3, -3}, hi[] = {3, 3};
      bufs_make(&b, 2, sz, lo, hi, (int)t + 1);
      c->sum_rows(rows, N, F(0), ldx, F(1));
      for (long j = 0; j < N; j++) for (long r = rows - 1; r >= 0; r--) D(1)[j] += D(0)[r * ldx + j];
      snprintf(what, sizeof what, "%s sumRows %ldx%ld ld %ld", c->name, rows, N, ldx);
      bufs_check(&b, 1e-6 * (double)rows, 1e-6, what); cell_calls++; }
  }
  /* softmax cross-entropy: loss, gradient (scaled), gradient written over the logits */
  const long sv[][2] = {{1, 1}, {3, 7}, {2, 3}, {5, 6}, {20, 65}, {4, 1000}, {2, 5003}};
  for (size_t t = 0; t < sizeof sv / sizeof sv[0]; t++) {
    const long rows = sv[t][0], V = sv[t][1];
    int *targets = malloc(sizeof(int) * (size_t)rows);
    for (long r = 0; r < rows; r++) targets[r] = (int)irand(V);
    for (int mode = 0; mode < 3; mode++) { /* 0: loss only, 1: gradient, 2: aliased */
      const double range = mode == 2 ? 30 : 8, scale = mode == 1 ? 1.0 / (double)rows : mode == 2 ? 0.5 : 1;
      const long sz[] = {rows * V, rows * V}; const double lo[] = {-range, -3}, hi[] = {range, 3};
      bufs_make(&b, mode == 1 ? 2 : 1, sz, lo, hi, (int)t + mode);
      float *dl = mode == 0 ? NULL : mode == 1 ? F(1) : F(0);
      const double got = c->softmax_xent(rows, V, F(0), targets, dl, (float)scale);
      double want = 0;
      for (long r = 0; r < rows; r++) {
        double *x = D(0) + r * V, mx = -INFINITY, sum = 0;
        for (long j = V - 1; j >= 0; j--) mx = x[j] > mx ? x[j] : mx;
        for (long j = V - 1; j >= 0; j--) sum += exp(x[j] - mx);
        const double lz = mx + log(sum);
        want += lz - x[targets[r]];
        if (mode) {
          double *d = mode == 1 ? D(1) + r * V : x;
          for (long j = 0; j < V; j++) d[j] = scale * exp(x[j] - lz) - (j == targets[r] ? scale : 0);
        }
      }
      snprintf(what, sizeof what, "%s softmaxXent %ldx%ld %s", c->name, rows, V, mode == 0 ? "loss" : mode == 1 ? "gradient" : "aliased");
      if (!(fabs(got - want) <= 1e-5 + 1e-6 * fabs(want))) FAIL("%s: loss %.9g, reference %.9g", what, got, want);
      bufs_check(&b, mode == 1 ? 1e-7 / (double)rows : mode == 2 ? 1e-7 : 0, mode == 0 ? 0 : 2e-6, what);
      cell_calls++;
    }
    free(targets);
  }
  /* Adam: bit for bit the float steps of the WebAssembly kernel (no fused multiply-adds;
   * this file is compiled with -ffp-contract=off) */
  const long an[] = {1, 3, 4, 5, 17, 1000, 4099};
  for (size_t t = 0; t < sizeof an / sizeof an[0]; t++) {
    const long n = an[t];
    const long sz[] = {n, n, n, n}; const double lo[] = {-1, -1, -1, 0}, hi[] = {1, 1, 1, 1};
    bufs_make(&b, 4, sz, lo, hi, (int)t);
    float *p = malloc(sizeof(float) * (size_t)n * 4);
    for (int i = 0; i < 4; i++) for (long k = 0; k < n; k++) p[i * n + k] = F(i)[k];
    const double lr = 2e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 1e-5;
    const float flr = (float)lr, fb1 = (float)b1, fb2 = (float)b2, feps = (float)eps, fwd = (float)wd;
    const float c1 = (float)(1 - b1), c2 = (float)(1 - b2);
    for (int step = 0; step < 3; step++) {
      c->adam(n, F(0), F(1), F(2), F(3), flr, fb1, fb2, feps, fwd, c1, c2);
      for (long k = 0; k < n; k++) {
        float *pp = p + k, *g = p + n + k, *m = p + 2 * n + k, *v = p + 3 * n + k;
        const float mi = fb1 * *m + c1 * *g;
        const float gg = *g * *g;
        const float vi = fb2 * *v + c2 * gg;
        *m = mi;
        *v = vi;
        const float num = flr * mi, den = sqrtf(vi) + feps;
        *pp = *pp - (fwd * *pp + num / den);
      }
    }
    for (int i = 0; i < 4; i++) {
      if (!same_bits(F(i), p + i * n, n)) FAIL("%s adam n=%ld: buffer %d differs from the float steps", c->name, n, i);
      for (long k = 0; k < n; k++) D(i)[k] = p[i * n + k];
    }
    snprintf(what, sizeof what, "%s adam n=%ld", c->name, n);
    bufs_check(&b, 0, 0, what);
    free(p);
    cell_calls++;
  }
}

/* ======================================================================= step */

/* step_panel: out[0:rows] = init (+ add) + Σ_parts Σ_k w·x, the weights k-major in
 * rows of step_rows (zero past `rows`), against a double sum within the bound of any
 * order of float sums; init, add, each x and out exactly as long as the call may touch,
 * each ending before an unreadable page; the inputs unchanged */
static void step_panel_case(const rnn_cells_isa *c, long rows, int nparts, const long *K, int with_add, int s) {
  const long R = c->step_rows;
  long ktot = 0;
  for (int p = 0; p < nparts; p++) ktot += K[p];
  gbuf init = galloc(rows, s % 4), add = galloc(rows, (s + 1) % 4), out = galloc(rows, (s + 2) % 4);
  gbuf w = galloc(ktot > 0 ? ktot * R : 1, (s + 3) % 4);
  gbuf x[3];
  const float *xs[3];
  for (int p = 0; p < nparts; p++) {
    x[p] = galloc(K[p] > 0 ? K[p] : 1, (s + p) % 4);
    for (long k = 0; k < K[p]; k++) x[p].p[k] = uniform(-1, 1);
    xs[p] = x[p].p;
  }
  for (long r = 0; r < rows; r++) { init.p[r] = uniform(-2, 2); add.p[r] = uniform(-2, 2); out.p[r] = NAN; }
  for (long i = 0; i < ktot * R; i++) w.p[i] = i % R < rows ? uniform(-1, 1) : 0.0f;
  double *want = malloc(sizeof(double) * (size_t)rows), *mag = malloc(sizeof(double) * (size_t)rows);
  float *keep = malloc(sizeof(float) * (size_t)(2 * rows + ktot * R + 1));
  memcpy(keep, init.p, sizeof(float) * (size_t)rows);
  memcpy(keep + rows, add.p, sizeof(float) * (size_t)rows);
  memcpy(keep + 2 * rows, w.p, sizeof(float) * (size_t)(ktot * R));
  for (long r = 0; r < rows; r++) {
    want[r] = (double)init.p[r] + (with_add ? (double)add.p[r] : 0.0);
    mag[r] = fabs((double)init.p[r]) + (with_add ? fabs((double)add.p[r]) : 0.0);
  }
  long koff = 0;
  for (int p = 0; p < nparts; p++) {
    for (long k = K[p] - 1; k >= 0; k--) /* k descending: another order than the kernel's */
      for (long r = 0; r < rows; r++) {
        const double t = (double)w.p[(koff + k) * R + r] * (double)x[p].p[k];
        want[r] += t;
        mag[r] += fabs(t);
      }
    koff += K[p];
  }
  c->step_panel(rows, init.p, with_add ? add.p : NULL, nparts, K, xs, w.p, out.p);
  char what[160];
  snprintf(what, sizeof what, "%s step_panel rows=%ld parts=%d K=%ld%s%s", c->name, rows, nparts, ktot,
           nparts > 1 ? " (split)" : "", with_add ? " +add" : "");
  for (long r = 0; r < rows; r++) {
    const double bound = (double)(ktot + 2) * ldexp(1.0, -23) * mag[r] + 1e-30;
    if (!(fabs((double)out.p[r] - want[r]) <= bound)) {
      FAIL("%s: row %ld is %.9g, the reference %.9g (bound %.3g)", what, r, (double)out.p[r], want[r], bound);
      break;
    }
  }
  if (!guards_ok(&init) || !guards_ok(&add) || !guards_ok(&out) || !guards_ok(&w)) FAIL("%s: a guard float changed", what);
  if (!same_bits(keep, init.p, rows) || !same_bits(keep + rows, add.p, rows) || !same_bits(keep + 2 * rows, w.p, ktot * R))
    FAIL("%s: an input changed", what);
  for (int p = 0; p < nparts; p++) {
    if (!guards_ok(&x[p])) FAIL("%s: a guard float around x[%d] changed", what, p);
    gfree(&x[p]);
  }
  gfree(&init); gfree(&add); gfree(&out); gfree(&w);
  free(want); free(mag); free(keep);
  cell_calls++;
}

/* step_max (the max and whether every value is finite) and step_exp (the tempered exps
 * and their sum in double) on n floats ending before an unreadable page */
static void step_softmax_case(const rnn_cells_isa *c, long n, int s) {
  char what[120];
  gbuf x = galloc(n > 0 ? n : 1, s % 4), out = galloc(n > 0 ? n : 1, (s + 1) % 4);
  float mx = -INFINITY;
  for (long j = 0; j < n; j++) {
    x.p[j] = uniform(-30, 8);
    if (x.p[j] > mx) mx = x.p[j];
  }
  int finite = -1;
  const float got = c->step_max(n, x.p, &finite);
  snprintf(what, sizeof what, "%s step_max n=%ld", c->name, n);
  if (!same_bits(&got, &mx, 1) || finite != 1) FAIL("%s: %.9g (finite %d), want %.9g (finite 1)", what, (double)got, finite, (double)mx);
  const float temps[] = {1.25f, 0.5f, 3.0f};
  for (int t = 0; t < 3; t++) {
    const float invT = temps[t];
    for (long j = 0; j < n; j++) out.p[j] = NAN;
    const double sum = c->step_exp(n, x.p, mx, invT, out.p);
    snprintf(what, sizeof what, "%s step_exp n=%ld invT=%g", c->name, n, (double)invT);
    double want_sum = 0, own_sum = 0;
    long bad = -1;
    for (long j = 0; j < n; j++) {
      const float arg = (float)((float)(x.p[j] - mx) * invT); /* the kernel's float argument */
      const double want = exp((double)arg);
      want_sum += want;
      own_sum += (double)out.p[j];
      if (bad < 0 && !(fabs((double)out.p[j] - want) <= TOL_ABS * 1e-3 + TOL_REL * want)) bad = j;
    }
    if (bad >= 0) {
      const float arg = (float)((float)(x.p[bad] - mx) * invT);
      FAIL("%s: element %ld is %.9g, the reference %.9g", what, bad, (double)out.p[bad], exp((double)arg));
    }
    if (!(fabs(sum - own_sum) <= 1e-12 * own_sum + 1e-300)) FAIL("%s: sum %.17g, the sum of its exps %.17g", what, sum, own_sum);
    if (!(fabs(sum - want_sum) <= TOL_REL * want_sum)) FAIL("%s: sum %.9g, reference %.9g", what, sum, want_sum);
  }
  /* a NaN or ±∞ anywhere clears the flag */
  const float bads[] = {NAN, INFINITY, -INFINITY};
  const long at[] = {0, n / 2, n - 1};
  for (int b = 0; b < 3 && n > 0; b++)
    for (int a = 0; a < 3; a++) {
      const float saved = x.p[at[a]];
      x.p[at[a]] = bads[b];
      finite = -1;
      (void)c->step_max(n, x.p, &finite);
      if (finite != 0) FAIL("%s step_max n=%ld: %g at %ld reads as finite", c->name, n, (double)bads[b], at[a]);
      x.p[at[a]] = saved;
    }
  if (!guards_ok(&x) || !guards_ok(&out)) FAIL("%s step_max/step_exp n=%ld: a guard float changed", c->name, n);
  gfree(&x); gfree(&out);
  cell_calls += 4;
}

static void test_step(const rnn_cells_isa *c) {
  const long R = c->step_rows, VN = R / 8;
  const long rows[] = {1, 2, 3, VN - 1, VN, VN + 1, 3 * VN + 2, R / 2 + 1, R - 1, R};
  const long K1[][1] = {{0}, {1}, {7}, {64}};
  const long K2[][2] = {{5, 3}, {0, 4}, {33, 1}};
  const long K3[] = {3, 0, 9};
  int s = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    if (rows[i] < 1 || rows[i] > R) continue;
    for (int with_add = 0; with_add < 2; with_add++) {
      for (size_t k = 0; k < sizeof K1 / sizeof K1[0]; k++) step_panel_case(c, rows[i], 1, K1[k], with_add, s++);
      for (size_t k = 0; k < sizeof K2 / sizeof K2[0]; k++) step_panel_case(c, rows[i], 2, K2[k], with_add, s++);
      step_panel_case(c, rows[i], 3, K3, with_add, s++);
    }
  }
  const long ns[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 65, 1024, 5003};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) step_softmax_case(c, ns[i], (int)i);
  printf("%s step: %ld kernel calls checked\n", c->name, cell_calls);
  cell_calls = 0;
}

static void test_cells(const rnn_cells_isa *c) {
  /* one and two rows; H with every tail length of 1, 4, 8 and 16 lanes; a training block */
  const long shapes[][2] = {{1, 1}, {1, 2}, {1, 3}, {2, 4}, {3, 5}, {2, 6}, {2, 7}, {3, 13}, {5, 37}, {2, 23}, {4, 17},
                            {1, 31}, {2, 30}, {32, 64}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) cells_shape(c, shapes[s][0], shapes[s][1], (int)s);
  cells_rows(c);
  cells_accuracy(c);
  printf("%s cells: %ld kernel calls checked\n", c->name, cell_calls);
  cell_calls = 0;
  test_step(c);
}

/* ======================================================================= main */

static int wanted(int argc, char **argv, const char *name) {
  if (argc < 2) return 1;
  for (int i = 1; i < argc; i++) if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  const rnn_cpu_features cpu = rnn_cpu_detect();
  /* what this CPU runs, best first (addon.c's isa_list); RNN_CROSS_FORCE_AVX512=1 adds
   * AVX-512 for an emulator whose CPUID the detection does not see */
  int avx512 = cpu.avx512f && cpu.avx2 && cpu.fma;
  const char *force = getenv("RNN_CROSS_FORCE_AVX512");
  if (force && strcmp(force, "1") == 0) avx512 = 1;
#if defined(__x86_64__) || defined(_M_X64)
  if (avx512 && wanted(argc, argv, "avx512")) { gemm_isas[n_gemm_isas++] = &rnn_gemm_avx512; cell_isas[n_cell_isas++] = &rnn_cells_avx512; }
  if (cpu.avx2 && cpu.fma && wanted(argc, argv, "avx2")) { gemm_isas[n_gemm_isas++] = &rnn_gemm_avx2; cell_isas[n_cell_isas++] = &rnn_cells_avx2; }
  if (!avx512) printf("avx512: not run (this CPU has no AVX-512F)\n");
#else
  (void)avx512;
#endif
#if defined(__aarch64__)
  if (!cpu.neon) FAIL("cpu.c does not report NEON on arm64");
  if (wanted(argc, argv, "neon")) { gemm_isas[n_gemm_isas++] = &rnn_gemm_neon; cell_isas[n_cell_isas++] = &rnn_cells_neon; }
#endif
  if (wanted(argc, argv, "generic")) { gemm_isas[n_gemm_isas++] = &rnn_gemm_generic; cell_isas[n_cell_isas++] = &rnn_cells_generic; }
  if (n_gemm_isas == 0) { fprintf(stderr, "harness: none of the instruction sets asked for runs here\n"); return 2; }
  size_t scratch = 0;
  for (int i = 0; i < n_gemm_isas; i++) if (gemm_isas[i]->scratch_floats > scratch) scratch = gemm_isas[i]->scratch_floats;
  pool1 = rnn_pool_create(1, scratch);
  pool2 = rnn_pool_create(2, scratch);
  pool3 = rnn_pool_create(3, scratch);
  if (!pool1 || !pool2 || !pool3 || rnn_pool_threads(pool2) != 2 || rnn_pool_threads(pool3) != 3) {
    fprintf(stderr, "harness: could not start the thread pools\n");
    return 2;
  }
  for (int i = 0; i < n_gemm_isas; i++) test_gemm(gemm_isas[i]);
  for (int i = 0; i < n_cell_isas; i++) test_cells(cell_isas[i]);
  rnn_pool_destroy(pool1);
  rnn_pool_destroy(pool2);
  rnn_pool_destroy(pool3);
  if (failures) {
    fprintf(stderr, "%d check(s) failed%s\n", failures, failures > 20 ? " (the first 20 shown)" : "");
    return 1;
  }
  printf("all passed\n");
  return 0;
}
