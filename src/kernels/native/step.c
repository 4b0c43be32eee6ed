/* The batch-1 step of a character model: one call per generated character runs every
 * layer's recurrent product and pointwise update, the head product and the tempered
 * softmax (the draw itself stays in TypeScript, src/sample/pick.ts). The equations are
 * the cell files' (src/nn/rnn.ts, lstm.ts, gru.ts); the Kernels.stepper contract is in
 * src/kernels/types.ts.
 *
 * At batch 1 every weight is used once per character, so a step is bound by reading the
 * weights. At creation they are copied once into panels for streaming (step_impl.h:
 * STEP_ROWS rows stored k-major), grouped per layer into segments: a run of output rows
 * whose products share their inputs. A segment's input is one or more parts, each a
 * vector and the matching columns of the weights, so [W_ih | W_hh]·[x ; h] is one pass
 * over one panel and the pre-activation is never stored twice. Output rows per cell
 * (H hidden units, x = the layer's input, h and c = the carried state):
 *
 *   rnn, rnn-relu  [a]              a = b + W_ih·x + W_hh·h
 *   lstm           [i f g o]        one segment, parts x, h
 *   lstm-peep      [i f] [g] [o]    parts x, h (and c through W_ch for i, f and o)
 *   gru-min        [u c]            parts x, h
 *   gru            [r u] [c]        phase 1: r, u from x, h; c from x alone
 *                                   phase 2: c += W_hc·(r ⊙ h) (needs all of r first)
 *   gru-torch      [r z n_x 0 0 n_h]  r, z from x, h; n_x from x; n_h from h; the zeros
 *                                   let gruTorchForward read the h side as [0 0 n_h]
 * after which the cells' own pointwise kernels (cells_impl.h) update the state in place.
 * Layer 0's input is an embedding row, so its x side is a lookup: the row
 * b + W_ih·embed[id] is computed on the first use of each id and kept.
 *
 * Threads: a layer's products split by panels across the addon's pool when they read at
 * least split_bytes of weights (measured: below it the hand-off costs more than the
 * second core gains); the pointwise updates run on the calling thread. Every output row
 * is computed by the same panel kernel whoever runs it, and the softmax sum is formed
 * from fixed chunks in order, so results do not depend on the thread count. */
#define NAPI_VERSION 8
#if defined(__linux__)
#define _DEFAULT_SOURCE /* madvise */
#endif
#include <node_api.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "args.h"
#include "cells.h"
#include "ops.h"
#include "step.h"

/* Weights read by one layer's (or the head's) products, from which they are split across
 * the threads. Measured on Zen 3, 2 threads, chars/s, split / not split (medians of 9
 * interleaved rounds, a busy machine: ±15% between runs): 1x128 LSTM (256 KiB per step)
 * 218k / 161k and 195k / 143k in two runs; 1x96 (147 KiB) 293k / 257k and 204k / 316k;
 * 1x64 (64 KiB) 371–419k / 516k. Split from 192 KiB. */
#define STEP_SPLIT_BYTES (192L << 10)
/* The softmax's exps are split from this vocabulary size on (in chunks of STEP_EXP_CHUNK):
 * off by default. V = 5003: 13.9k / 13.4k and 10.1k / 9.5k chars/s split / not split, within
 * the noise; the exps take ~5 µs of a ~75 µs character. */
#define STEP_SPLIT_EXP (1L << 30)
#define STEP_EXP_CHUNK 1024

enum { CELL_RNN, CELL_RNN_RELU, CELL_LSTM, CELL_LSTM_PEEP, CELL_GRU, CELL_GRU_MIN, CELL_GRU_TORCH };
static const char *const CELL_NAMES[] = {"rnn", "rnn-relu", "lstm", "lstm-peep", "gru", "gru-min", "gru-torch"};
static const int CELL_GATES[] = {1, 1, 4, 4, 3, 2, 3};

/* the vector a part reads: the layer's input, its carried h or c, r ⊙ h (classic GRU) */
enum { SRC_X, SRC_H, SRC_C, SRC_RH, SRC_COUNT };
/* where a segment's rows start from: its bias, the rows themselves (phase 2 of the classic
 * GRU), or layer 0's lookup row */
enum { INIT_BIAS, INIT_OUT, INIT_LOOKUP };

#define MAX_PARTS 3
#define MAX_SEGS 3

typedef struct {
  long rows, out;       /* output rows [out, out + rows) */
  int init;
  float *bias;          /* INIT_BIAS: rows floats */
  int tag;              /* adds the tagged net's layer-0 term to these rows */
  int nparts;
  int src[MAX_PARTS];
  long K[MAX_PARTS];
  long ktotal;
  long panels;
  float *w;             /* panels × ktotal × step_rows */
} step_seg;

typedef struct {
  int nseg;
  step_seg seg[MAX_SEGS];
  long panels;
  double bytes;         /* weight bytes one pass reads */
} step_phase;

typedef struct {
  int nphase;
  step_phase phase[2];
  float *h, *c;         /* the carried state: the caller's views, updated in place */
  float *out;           /* output rows */
  float *rh, *tanhC;    /* scratch */
} step_layer;

typedef struct {
  const rnn_cells_isa *isa;
  int cell;
  long L, V, E, H, outRows0;
  step_layer *layer;
  step_phase lookup;    /* layer 0's x side: segments with the x part alone */
  float *embed;         /* copy of the embedding [V, E] */
  float *cache;         /* [V, outRows0]: lookup rows, filled on first use */
  unsigned char *cached;
  float *tagBias;       /* the caller's view [G] (tagged nets), or NULL */
  step_phase head;
  float *logits, *probs; /* the caller's views [V] */
  double *chunkSums;
  double splitBytes;
  long splitExp;
  void **allocs;
  int nallocs, capAllocs;
} step_plan;

/* one weight block a part reads: rows row0.. of W (row-major, ld) and columns col0..col0+K */
typedef struct {
  int src;
  const float *W;
  long ld, row0, col0, K;
} part_desc;

/* Large blocks the pack fills are populated in one call first (Linux 5.14+; elsewhere, or
 * when it fails, the pages fault in one by one as the pack writes them). Measured on the
 * 2x256 LSTM's 3.4 MB: creating the step took 3.1 → 2.6 ms in a fresh process (medians of
 * 15 starts). */
#define POPULATE_BYTES (64u << 10)
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

static void populate(void *p, size_t bytes) {
#if defined(__linux__)
  const uintptr_t page = 4096, lo = (uintptr_t)p & ~(page - 1);
  if (bytes >= POPULATE_BYTES) (void)madvise((void *)lo, (uintptr_t)p + bytes - lo, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)bytes;
#endif
}

/* floats of plan memory, 64-byte aligned; zeroed unless the caller writes all of it */
static void *plan_alloc_raw(step_plan *s, size_t floats, int zero) {
  if (s->nallocs == s->capAllocs) {
    const int cap = s->capAllocs ? 2 * s->capAllocs : 32;
    void **a = (void **)realloc(s->allocs, sizeof(void *) * (size_t)cap);
    if (!a) return NULL;
    s->allocs = a;
    s->capAllocs = cap;
  }
  void *p = NULL;
  if (posix_memalign(&p, 64, floats * sizeof(float) + 64) != 0) return NULL;
  if (zero) memset(p, 0, floats * sizeof(float) + 64);
  else populate(p, floats * sizeof(float) + 64);
  s->allocs[s->nallocs++] = p;
  return p;
}

static void *plan_alloc(step_plan *s, size_t floats) { return plan_alloc_raw(s, floats, 1); }

/* Columns packed per pass over a panel's rows. The pack reads each row PACK_COLS floats at a
 * time and writes them down the panel's k-major columns. Walking one column down all the
 * rows instead (one float per row, ld floats apart) missed L1 on every read: rows 1 KiB
 * apart fall in 4 of its 64 sets. Creating the 2x256 LSTM's step (3.4 MB of panels) in a
 * fresh process took 4.1 ms that way, 3.3 ms this way (medians of 15 starts). */
#define PACK_COLS 16

/* panel rows [0, R) of part d, rows past `rows` zero, into dst (d->K × R floats, k-major) */
static void pack_part(const part_desc *d, long row0, long rows, long R, float *dst) {
  for (long k0 = 0; k0 < d->K; k0 += PACK_COLS) {
    const long kn = d->K - k0 < PACK_COLS ? d->K - k0 : PACK_COLS;
    float *col = dst + k0 * R;
    for (long r = 0; r < R; r++) {
      if (r < rows) {
        const float *src = d->W + (d->row0 + row0 + r) * d->ld + d->col0 + k0;
        for (long k = 0; k < kn; k++) col[k * R + r] = src[k];
      } else {
        for (long k = 0; k < kn; k++) col[k * R + r] = 0.0f;
      }
    }
  }
}

static void plan_free(step_plan *s) {
  if (!s) return;
  for (int i = 0; i < s->nallocs; i++) free(s->allocs[i]);
  free(s->allocs);
  free(s->cache);
  free(s->cached);
  free(s->layer);
  free(s);
}

/* Adds a segment of `rows` output rows at `out` to a phase, its bias b1 + b2 (rows brow0..,
 * either may be NULL) and its parts packed into panels. Returns 0 when out of memory. */
static int add_seg(step_plan *s, step_phase *ph, long rows, long out, int init, const float *b1, const float *b2,
                   long brow0, int tag, int nparts, const part_desc *pd) {
  const long R = s->isa->step_rows;
  step_seg *g = &ph->seg[ph->nseg++];
  memset(g, 0, sizeof *g);
  g->rows = rows;
  g->out = out;
  g->init = init;
  g->tag = tag;
  g->nparts = nparts;
  g->panels = (rows + R - 1) / R;
  for (int p = 0; p < nparts; p++) {
    g->src[p] = pd[p].src;
    g->K[p] = pd[p].K;
    g->ktotal += pd[p].K;
  }
  if (init == INIT_BIAS) {
    g->bias = (float *)plan_alloc(s, (size_t)rows);
    if (!g->bias) return 0;
    for (long r = 0; r < rows; r++) {
      float b = 0.0f;
      if (b1) b = b1[brow0 + r];
      if (b2) b += b2[brow0 + r];
      g->bias[r] = b;
    }
  }
  /* the pack writes every float of the panels */
  g->w = (float *)plan_alloc_raw(s, (size_t)(g->panels * g->ktotal * R), 0);
  if (!g->w) return 0;
  float *dst = g->w;
  for (long p = 0; p < g->panels; p++) {
    const long here = rows - p * R < R ? rows - p * R : R;
    for (int q = 0; q < nparts; q++) {
      pack_part(&pd[q], p * R, here, R, dst);
      dst += pd[q].K * R;
    }
  }
  ph->panels += g->panels;
  ph->bytes += (double)g->panels * (double)g->ktotal * (double)R * sizeof(float);
  return 1;
}

/* A segment of layer l. In layer 0 the x part (always first) moves into the lookup: the
 * lookup gets the x part with the bias, the step the other parts starting from the lookup row. */
static int layer_seg(step_plan *s, long l, step_phase *ph, long rows, long out, int init, const float *b1,
                     const float *b2, long brow0, int nparts, const part_desc *pd) {
  if (l == 0 && nparts > 0 && pd[0].src == SRC_X) {
    if (!add_seg(s, &s->lookup, rows, out, INIT_BIAS, b1, b2, brow0, 0, 1, pd)) return 0;
    return add_seg(s, ph, rows, out, INIT_LOOKUP, NULL, NULL, 0, 1, nparts - 1, pd + 1);
  }
  return add_seg(s, ph, rows, out, init, b1, b2, brow0, 0, nparts, pd);
}

typedef struct {
  const float *Wih, *Whh, *bih, *bhh, *Wch;
} layer_weights;

/* the segments and output rows of layer l (see the table at the top) */
static int build_layer(step_plan *s, long l, const layer_weights *w, long In) {
  const long H = s->H;
  step_layer *ly = &s->layer[l];
  step_phase *a = &ly->phase[0], *b = &ly->phase[1];
#define X(r0) {SRC_X, w->Wih, In, (r0), 0, In}
#define HH(r0) {SRC_H, w->Whh, H, (r0), 0, H}
  switch (s->cell) {
  case CELL_RNN:
  case CELL_RNN_RELU:
  case CELL_LSTM:
  case CELL_GRU_MIN: {
    const part_desc pd[] = {X(0), HH(0)};
    ly->nphase = 1;
    return layer_seg(s, l, a, CELL_GATES[s->cell] * H, 0, INIT_BIAS, w->bih, w->bhh, 0, 2, pd);
  }
  case CELL_LSTM_PEEP: {
    const part_desc ifg[] = {X(0), HH(0), {SRC_C, w->Wch, H, 0, 0, H}};
    const part_desc g[] = {X(2 * H), HH(2 * H)};
    const part_desc o[] = {X(3 * H), HH(3 * H), {SRC_C, w->Wch, H, 2 * H, 0, H}};
    ly->nphase = 1;
    return layer_seg(s, l, a, 2 * H, 0, INIT_BIAS, w->bih, w->bhh, 0, 3, ifg) &&
           layer_seg(s, l, a, H, 2 * H, INIT_BIAS, w->bih, w->bhh, 2 * H, 2, g) &&
           layer_seg(s, l, a, H, 3 * H, INIT_BIAS, w->bih, w->bhh, 3 * H, 3, o);
  }
  case CELL_GRU: {
    const part_desc ru[] = {X(0), HH(0)};
    const part_desc cx[] = {X(2 * H)};
    const part_desc ch[] = {{SRC_RH, w->Whh, H, 2 * H, 0, H}};
    ly->nphase = 2;
    return layer_seg(s, l, a, 2 * H, 0, INIT_BIAS, w->bih, w->bhh, 0, 2, ru) &&
           layer_seg(s, l, a, H, 2 * H, INIT_BIAS, w->bih, w->bhh, 2 * H, 1, cx) &&
           add_seg(s, b, H, 2 * H, INIT_OUT, NULL, NULL, 0, 0, 1, ch);
  }
  case CELL_GRU_TORCH: {
    const part_desc rz[] = {X(0), HH(0)};
    const part_desc nx[] = {X(2 * H)};
    const part_desc nh[] = {HH(2 * H)};
    ly->nphase = 1;
    return layer_seg(s, l, a, 2 * H, 0, INIT_BIAS, w->bih, w->bhh, 0, 2, rz) &&
           layer_seg(s, l, a, H, 2 * H, INIT_BIAS, w->bih, NULL, 2 * H, 1, nx) &&
           add_seg(s, a, H, 5 * H, INIT_BIAS, w->bhh, NULL, 2 * H, 0, 1, nh);
  }
  }
#undef X
#undef HH
  return 0;
}

static long out_rows(int cell, long H) { return cell == CELL_GRU_TORCH ? 6 * H : CELL_GATES[cell] * H; }

/* ---- running a phase: panels [lo, hi) of it */

typedef struct {
  const step_plan *s;
  const step_phase *ph;
  const float *src[SRC_COUNT];
  float *out;
  const float *lookupRow;
  const float *tag;
  int parts;
} phase_job;

static void run_panels(const phase_job *j, long lo, long hi) {
  const rnn_cells_isa *isa = j->s->isa;
  const long R = isa->step_rows;
  long first = 0;
  for (int si = 0; si < j->ph->nseg; si++) {
    const step_seg *g = &j->ph->seg[si];
    const long a = lo > first ? lo - first : 0, b = hi - first < g->panels ? hi - first : g->panels;
    const float *x[MAX_PARTS];
    for (int p = 0; p < g->nparts; p++) x[p] = j->src[g->src[p]];
    for (long p = a; p < b; p++) {
      const long row = g->out + p * R;
      const long rows = g->rows - p * R < R ? g->rows - p * R : R;
      const float *init = g->init == INIT_BIAS ? g->bias + p * R : g->init == INIT_OUT ? j->out + row : j->lookupRow + row;
      const float *add = g->tag && j->tag ? j->tag + row : NULL;
      isa->step_panel(rows, init, add, g->nparts, g->K, x, g->w + p * g->ktotal * R, j->out + row);
    }
    first += g->panels;
    if (first >= hi) break;
  }
}

static void phase_part(void *ctx, int part, float *scratch) {
  (void)scratch;
  const phase_job *j = (const phase_job *)ctx;
  const long n = j->ph->panels;
  run_panels(j, n * part / j->parts, n * (part + 1) / j->parts);
}

static void run_phase(const step_plan *s, phase_job *j) {
  rnn_pool *pool = rnn_addon_pool();
  const int threads = rnn_pool_threads(pool);
  if (threads > 1 && j->ph->bytes >= s->splitBytes && j->ph->panels > 1) {
    j->parts = threads < j->ph->panels ? threads : (int)j->ph->panels;
    rnn_pool_run(pool, j->parts, phase_part, j);
  } else {
    run_panels(j, 0, j->ph->panels);
  }
}

/* layer 0's lookup row for id, computed on its first use */
static const float *lookup_row(step_plan *s, long id) {
  float *row = s->cache + id * s->outRows0;
  if (!s->cached[id]) {
    phase_job j = {s, &s->lookup, {s->embed + id * s->E, NULL, NULL, NULL}, row, NULL, NULL, 1};
    run_phase(s, &j);
    s->cached[id] = 1;
  }
  return row;
}

/* feeds one id through every layer */
static void run_layers(step_plan *s, long id) {
  const rnn_cells_isa *isa = s->isa;
  const long H = s->H;
  for (long l = 0; l < s->L; l++) {
    step_layer *ly = &s->layer[l];
    phase_job j = {s, &ly->phase[0], {l > 0 ? s->layer[l - 1].h : NULL, ly->h, ly->c, ly->rh}, ly->out,
                   l == 0 ? lookup_row(s, id) : NULL, l == 0 ? s->tagBias : NULL, 1};
    run_phase(s, &j);
    float *o = ly->out;
    switch (s->cell) {
    case CELL_RNN:
    case CELL_RNN_RELU: isa->rnn_forward(s->cell == CELL_RNN_RELU, H, o, ly->h); break;
    case CELL_LSTM:
    case CELL_LSTM_PEEP: isa->lstm_forward(1, H, o, ly->c, ly->c, ly->h, ly->tanhC); break;
    case CELL_GRU_MIN: isa->gru_out_forward(1, H, 2 * H, 0, H, 1, o, ly->h, ly->h); break;
    case CELL_GRU:
      isa->gru_reset_forward(1, H, o, ly->h, ly->rh);
      j.ph = &ly->phase[1];
      run_phase(s, &j);
      isa->gru_out_forward(1, H, 3 * H, H, 2 * H, 0, o, ly->h, ly->h);
      break;
    case CELL_GRU_TORCH: isa->gru_torch_forward(1, H, o, o + 3 * H, ly->h, ly->h); break;
    }
  }
}

typedef struct {
  const step_plan *s;
  float mx, invT;
} exp_job;

static void exp_chunk(void *ctx, int part, float *scratch) {
  (void)scratch;
  const exp_job *j = (const exp_job *)ctx;
  const step_plan *s = j->s;
  const long lo = (long)part * STEP_EXP_CHUNK, n = s->V - lo < STEP_EXP_CHUNK ? s->V - lo : STEP_EXP_CHUNK;
  s->chunkSums[part] = s->isa->step_exp(n, s->logits + lo, j->mx, j->invT, s->probs + lo);
}

/* the head and, with invT > 0, the tempered exps; returns their sum (0 without), NaN when
 * a logit is not finite */
static double run_head(step_plan *s, double invT) {
  const step_layer *top = &s->layer[s->L - 1];
  phase_job j = {s, &s->head, {top->h, NULL, NULL, NULL}, s->logits, NULL, NULL, 1};
  run_phase(s, &j);
  int finite = 1;
  const float mx = s->isa->step_max(s->V, s->logits, &finite);
  if (!finite) return NAN;
  if (!(invT > 0)) return 0;
  exp_job e = {s, mx, (float)invT};
  const int chunks = (int)((s->V + STEP_EXP_CHUNK - 1) / STEP_EXP_CHUNK);
  rnn_pool *pool = rnn_addon_pool();
  if (chunks > 1 && s->V >= s->splitExp && rnn_pool_threads(pool) > 1) rnn_pool_run(pool, chunks, exp_chunk, &e);
  else for (int c = 0; c < chunks; c++) exp_chunk(&e, c, NULL);
  double sum = 0;
  for (int c = 0; c < chunks; c++) sum += s->chunkSums[c];
  return sum;
}

/* ---- Node-API */

static const napi_type_tag STEP_TAG = {0x5b1e2c7a9d3f4e61ULL, 0xa2c4e6f8b1d3f5a7ULL};

static int fail(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return 0;
}

static int prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has ||
      napi_get_named_property(env, obj, name, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "native step: the net has no %s", name);
    return fail(env, msg);
  }
  return 1;
}

static int prop_long(napi_env env, napi_value obj, const char *name, long *out) {
  napi_value v;
  int64_t x;
  if (!prop(env, obj, name, &v)) return 0;
  if (napi_get_value_int64(env, v, &x) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "native step: %s must be a number", name);
    return fail(env, msg);
  }
  *out = (long)x;
  return 1;
}

/* a Float32Array property with at least `need` elements; null/undefined allowed when optional */
static int prop_floats(napi_env env, napi_value obj, const char *name, long need, int optional, float **out) {
  napi_value v;
  napi_valuetype t;
  *out = NULL;
  if (!prop(env, obj, name, &v)) return 0;
  if (napi_typeof(env, v, &t) != napi_ok) return fail(env, "native step: Node-API call failed");
  if (optional && (t == napi_null || t == napi_undefined)) return 1;
  size_t length = 0;
  void *data = NULL;
  char msg[128];
  if (!rnn_typed_array(env, v, napi_float32_array, &data, &length)) {
    snprintf(msg, sizeof msg, "native step: %s must be a Float32Array", name);
    return fail(env, msg);
  }
  if ((long)length < need) {
    snprintf(msg, sizeof msg, "native step: %s has %zu elements, the net needs %ld", name, length, need);
    return fail(env, msg);
  }
  *out = (float *)data;
  return 1;
}

static void finalize_plan(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  plan_free((step_plan *)data);
}

/* stepCreate(net) → handle. net: { cell, vocab, embed, hidden, embedTable, headW, headB,
 * logits, probs, tagBias | null, layers: [{ Wih, Whh, bih, bhh, Wch | null, h, c | null }],
 * splitBytes?, splitExp? } (views of the model's parameters and of the caller's state). */
static napi_value js_step_create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value net;
  CHECK(napi_get_cb_info(env, info, &argc, &net, NULL, NULL));
  if (argc < 1) return fail(env, "native stepCreate: the net is missing"), NULL;
  char cellName[16] = "";
  napi_value v;
  size_t len;
  if (!prop(env, net, "cell", &v)) return NULL;
  if (napi_get_value_string_utf8(env, v, cellName, sizeof cellName, &len) != napi_ok)
    return fail(env, "native step: cell must be a string"), NULL;
  int cell = -1;
  for (int i = 0; i < (int)(sizeof CELL_NAMES / sizeof CELL_NAMES[0]); i++)
    if (strcmp(CELL_NAMES[i], cellName) == 0) cell = i;
  if (cell < 0) return fail(env, "native step: unknown cell"), NULL;
  long V, E, H, L;
  if (!prop_long(env, net, "vocab", &V) || !prop_long(env, net, "embed", &E) || !prop_long(env, net, "hidden", &H))
    return NULL;
  napi_value layers;
  uint32_t nl = 0;
  bool isArray = false;
  if (!prop(env, net, "layers", &layers)) return NULL;
  if (napi_is_array(env, layers, &isArray) != napi_ok || !isArray || napi_get_array_length(env, layers, &nl) != napi_ok)
    return fail(env, "native step: layers must be an array"), NULL;
  L = (long)nl;
  if (V < 1 || E < 1 || H < 1 || L < 1) return fail(env, "native step: vocab, embed, hidden and layers must be ≥ 1"), NULL;
  const long G = CELL_GATES[cell] * H;

  step_plan *s = (step_plan *)calloc(1, sizeof *s);
  if (!s) return napi_throw_error(env, NULL, "native step: out of memory"), NULL;
  s->isa = rnn_addon_cells();
  s->cell = cell;
  s->V = V; s->E = E; s->H = H; s->L = L;
  s->outRows0 = out_rows(cell, H);
  s->splitBytes = (double)STEP_SPLIT_BYTES;
  s->splitExp = STEP_SPLIT_EXP;
  long opt;
  bool has = false;
  if (napi_has_named_property(env, net, "splitBytes", &has) == napi_ok && has) {
    if (!prop_long(env, net, "splitBytes", &opt)) goto fail;
    s->splitBytes = (double)opt;
  }
  if (napi_has_named_property(env, net, "splitExp", &has) == napi_ok && has) {
    if (!prop_long(env, net, "splitExp", &opt)) goto fail;
    s->splitExp = opt;
  }
  s->layer = (step_layer *)calloc((size_t)L, sizeof *s->layer);
  s->cache = (float *)calloc((size_t)(V * s->outRows0), sizeof(float));
  s->cached = (unsigned char *)calloc((size_t)V, 1);
  s->chunkSums = (double *)plan_alloc(s, 2 * (size_t)((V + STEP_EXP_CHUNK - 1) / STEP_EXP_CHUNK));
  if (!s->layer || !s->cache || !s->cached || !s->chunkSums) goto oom;

  float *embed, *headW, *headB;
  if (!prop_floats(env, net, "embedTable", V * E, 0, &embed) || !prop_floats(env, net, "headW", V * H, 0, &headW) ||
      !prop_floats(env, net, "headB", V, 0, &headB) || !prop_floats(env, net, "logits", V, 0, &s->logits) ||
      !prop_floats(env, net, "probs", V, 0, &s->probs) || !prop_floats(env, net, "tagBias", G, 1, &s->tagBias))
    goto fail;
  s->embed = (float *)plan_alloc(s, (size_t)(V * E));
  if (!s->embed) goto oom;
  memcpy(s->embed, embed, sizeof(float) * (size_t)(V * E));

  for (long l = 0; l < L; l++) {
    napi_value lv;
    if (napi_get_element(env, layers, (uint32_t)l, &lv) != napi_ok) goto fail;
    const long In = l == 0 ? E : H;
    layer_weights w;
    float *Wih, *Whh, *bih, *bhh, *Wch;
    step_layer *ly = &s->layer[l];
    const int lstm = cell == CELL_LSTM || cell == CELL_LSTM_PEEP;
    if (!prop_floats(env, lv, "Wih", G * In, 0, &Wih) || !prop_floats(env, lv, "Whh", G * H, 0, &Whh) ||
        !prop_floats(env, lv, "bih", G, 0, &bih) || !prop_floats(env, lv, "bhh", G, 0, &bhh) ||
        !prop_floats(env, lv, "Wch", 3 * H * H, cell != CELL_LSTM_PEEP, &Wch) ||
        !prop_floats(env, lv, "h", H, 0, &ly->h) || !prop_floats(env, lv, "c", H, !lstm, &ly->c))
      goto fail;
    w.Wih = Wih; w.Whh = Whh; w.bih = bih; w.bhh = bhh; w.Wch = Wch;
    ly->out = (float *)plan_alloc(s, (size_t)out_rows(cell, H));
    ly->rh = (float *)plan_alloc(s, (size_t)H);
    ly->tanhC = (float *)plan_alloc(s, (size_t)H);
    if (!ly->out || !ly->rh || !ly->tanhC || !build_layer(s, l, &w, In)) goto oom;
  }
  {
    const part_desc head[] = {{SRC_X, headW, H, 0, 0, H}};
    if (!add_seg(s, &s->head, V, 0, INIT_BIAS, headB, NULL, 0, 0, 1, head)) goto oom;
  }

  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &STEP_TAG) != napi_ok ||
      napi_wrap(env, obj, s, finalize_plan, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "native step: Node-API call failed");
    goto fail;
  }
  return obj;
oom:
  napi_throw_error(env, NULL, "native step: out of memory for the step's weights");
fail:
  plan_free(s);
  return NULL;
}

static int valid_id(napi_env env, const step_plan *s, int64_t id) {
  if (id >= 0 && id < s->V) return 1;
  char msg[96];
  snprintf(msg, sizeof msg, "native step: id %lld is outside [0, %ld)", (long long)id, s->V);
  return fail(env, msg);
}

static const rnn_op STEP_ADVANCE = {"stepAdvance", {ARG_HANDLE("step handle", &STEP_TAG), ARG_I32("ids"), ARG_INT("from"), ARG_INT("to")}};

/* stepAdvance(handle, ids, from, to): feeds ids[from, to) through the layers (no head) */
static napi_value js_step_advance(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &STEP_ADVANCE)) return NULL;
  step_plan *s = a.v[0].p;
  const int32_t *ids = rnn_view(&a, 1, 0);
  const int64_t from = a.v[2].i, to = a.v[3].i;
  if (!ids) return NULL;
  if (from < 0 || to < from || to > (int64_t)a.length[1]) return rnn_range_error(&a, "native stepAdvance: [from, to) is outside ids");
  for (int64_t i = from; i < to; i++) if (!valid_id(env, s, ids[i])) return NULL;
  for (int64_t i = from; i < to; i++) run_layers(s, ids[i]);
  return NULL;
}

static const rnn_op STEP_NEXT = {"stepNext", {ARG_HANDLE("step handle", &STEP_TAG), ARG_INT("id"), ARG_NUMBER("invTemp")}};

/* stepNext(handle, id, invTemp) → Σ exps (0 when invTemp is 0; NaN for a non-finite logit) */
static napi_value js_step_next(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &STEP_NEXT)) return NULL;
  step_plan *s = a.v[0].p;
  if (!valid_id(env, s, a.v[1].i)) return NULL;
  run_layers(s, (long)a.v[1].i);
  napi_value out;
  CHECK(napi_create_double(env, run_head(s, a.v[2].d), &out));
  return out;
}

napi_status rnn_step_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"stepCreate", NULL, js_step_create, NULL, NULL, NULL, napi_default, NULL},
    {"stepAdvance", NULL, js_step_advance, NULL, NULL, NULL, napi_default, NULL},
    {"stepNext", NULL, js_step_next, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
