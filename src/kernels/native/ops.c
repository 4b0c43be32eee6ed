/* The Node-API surface of the cell, head, row and optimizer kernels (cells.h), next to gemm
 * in addon.c, and the weight check's maximum. Each function takes the arguments of the
 * Kernels method of the same name (src/kernels/types.ts), listed in a table above it
 * (args.h), checks that every view is a Float32Array (Int32Array for targets) long enough
 * for the call, and runs the kernel in place on the views' memory on the calling thread
 * (addBias on a large window: on the pool, below). */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>

#include "args.h"
#include "ops.h"
#include "pool.h"
#include "step.h"

static const rnn_op RNN_FORWARD = {"rnnForward", {ARG_INT("relu"), ARG_INT("n"), ARG_INT("H"), ARG_F32("pre"), ARG_F32("h")}};

static napi_value js_rnn_forward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &RNN_FORWARD)) return NULL;
  const long n = a.v[1].i, H = a.v[2].i, m = n * H;
  if (m <= 0) return NULL;
  float *pre = rnn_view(&a, 3, m), *h = rnn_view(&a, 4, m);
  if (a.ok) rnn_addon_cells()->rnn_forward(a.v[0].i != 0, m, pre, h);
  return NULL;
}

static const rnn_op RNN_BACKWARD = {"rnnBackward", {ARG_INT("relu"), ARG_INT("n"), ARG_INT("H"), ARG_F32("h"), ARG_F32("dh"), ARG_F32("dPre")}};

static napi_value js_rnn_backward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &RNN_BACKWARD)) return NULL;
  const long n = a.v[1].i, H = a.v[2].i, m = n * H;
  if (m <= 0) return NULL;
  float *h = rnn_view(&a, 3, m), *dh = rnn_view(&a, 4, m), *dPre = rnn_view(&a, 5, m);
  if (a.ok) rnn_addon_cells()->rnn_backward(a.v[0].i != 0, m, h, dh, dPre);
  return NULL;
}

static const rnn_op LSTM_FORWARD = {"lstmForward", {ARG_INT("n"), ARG_INT("H"), ARG_F32("gates"), ARG_F32("cPrev"),
                                                    ARG_F32("c"), ARG_F32("h"), ARG_F32("tanhC")}};

static napi_value js_lstm_forward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &LSTM_FORWARD)) return NULL;
  const long n = a.v[0].i, H = a.v[1].i, m = n * H;
  if (m <= 0) return NULL;
  float *gates = rnn_view(&a, 2, 4 * m), *cPrev = rnn_view(&a, 3, m), *c = rnn_view(&a, 4, m), *h = rnn_view(&a, 5, m),
        *tanhC = rnn_view(&a, 6, m);
  if (a.ok) rnn_addon_cells()->lstm_forward(n, H, gates, cPrev, c, h, tanhC);
  return NULL;
}

static const rnn_op LSTM_BACKWARD = {"lstmBackward", {ARG_INT("n"), ARG_INT("H"), ARG_F32("gates"), ARG_F32("cPrev"),
                                                      ARG_F32("tanhC"), ARG_F32("dh"), ARG_F32("dc"), ARG_F32("dGates")}};

static napi_value js_lstm_backward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &LSTM_BACKWARD)) return NULL;
  const long n = a.v[0].i, H = a.v[1].i, m = n * H;
  if (m <= 0) return NULL;
  float *gates = rnn_view(&a, 2, 4 * m), *cPrev = rnn_view(&a, 3, m), *tanhC = rnn_view(&a, 4, m), *dh = rnn_view(&a, 5, m),
        *dc = rnn_view(&a, 6, m), *dGates = rnn_view(&a, 7, 4 * m);
  if (a.ok) rnn_addon_cells()->lstm_backward(n, H, gates, cPrev, tanhC, dh, dc, dGates);
  return NULL;
}

static const rnn_op GRU_RESET_FORWARD = {"gruResetForward", {ARG_INT("n"), ARG_INT("H"), ARG_F32("gates"), ARG_F32("hPrev"), ARG_F32("rh")}};

static napi_value js_gru_reset_forward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &GRU_RESET_FORWARD)) return NULL;
  const long n = a.v[0].i, H = a.v[1].i, m = n * H;
  if (m <= 0) return NULL;
  float *gates = rnn_view(&a, 2, 3 * m), *hPrev = rnn_view(&a, 3, m), *rh = rnn_view(&a, 4, m);
  if (a.ok) rnn_addon_cells()->gru_reset_forward(n, H, gates, hPrev, rh);
  return NULL;
}

/* the u and c̃ blocks must lie inside a row of G */
static int gru_offsets(rnn_args *a, long H, long G, long uOff, long cOff) {
  if (uOff < 0 || cOff < 0 || uOff + H > G || cOff + H > G)
    rnn_range_error(a, "%s: gate blocks at %ld and %ld (width %ld) do not fit a row of %ld", a->op->name, uOff, cOff, H, G);
  return a->ok;
}

static const rnn_op GRU_OUT_FORWARD = {"gruOutForward", {ARG_INT("n"), ARG_INT("H"), ARG_INT("G"), ARG_INT("uOffset"),
                                                         ARG_INT("cOffset"), ARG_BOOL("sigmoidU"), ARG_F32("gates"),
                                                         ARG_F32("hPrev"), ARG_F32("h")}};

static napi_value js_gru_out_forward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &GRU_OUT_FORWARD)) return NULL;
  const long n = a.v[0].i, H = a.v[1].i, G = a.v[2].i, uOff = a.v[3].i, cOff = a.v[4].i, m = n * H;
  if (m <= 0 || !gru_offsets(&a, H, G, uOff, cOff)) return NULL;
  float *gates = rnn_view(&a, 6, n * G), *hPrev = rnn_view(&a, 7, m), *h = rnn_view(&a, 8, m);
  if (a.ok) rnn_addon_cells()->gru_out_forward(n, H, G, uOff, cOff, (int)a.v[5].i, gates, hPrev, h);
  return NULL;
}

static const rnn_op GRU_OUT_BACKWARD = {"gruOutBackward", {ARG_INT("n"), ARG_INT("H"), ARG_INT("G"), ARG_INT("uOffset"),
                                                           ARG_INT("cOffset"), ARG_F32("gates"), ARG_F32("hPrev"),
                                                           ARG_F32("dh"), ARG_F32("dGates"), ARG_F32("dhPrev")}};

static napi_value js_gru_out_backward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &GRU_OUT_BACKWARD)) return NULL;
  const long n = a.v[0].i, H = a.v[1].i, G = a.v[2].i, uOff = a.v[3].i, cOff = a.v[4].i, m = n * H;
  if (m <= 0 || !gru_offsets(&a, H, G, uOff, cOff)) return NULL;
  float *gates = rnn_view(&a, 5, n * G), *hPrev = rnn_view(&a, 6, m), *dh = rnn_view(&a, 7, m),
        *dGates = rnn_view(&a, 8, n * G), *dhPrev = rnn_view(&a, 9, m);
  if (a.ok) rnn_addon_cells()->gru_out_backward(n, H, G, uOff, cOff, gates, hPrev, dh, dGates, dhPrev);
  return NULL;
}

static const rnn_op GRU_RESET_BACKWARD = {"gruResetBackward", {ARG_INT("n"), ARG_INT("H"), ARG_F32("gates"), ARG_F32("hPrev"),
                                                               ARG_F32("dRh"), ARG_F32("dGates"), ARG_F32("dhPrev")}};

static napi_value js_gru_reset_backward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &GRU_RESET_BACKWARD)) return NULL;
  const long n = a.v[0].i, H = a.v[1].i, m = n * H;
  if (m <= 0) return NULL;
  float *gates = rnn_view(&a, 2, 3 * m), *hPrev = rnn_view(&a, 3, m), *dRh = rnn_view(&a, 4, m),
        *dGates = rnn_view(&a, 5, 3 * m), *dhPrev = rnn_view(&a, 6, m);
  if (a.ok) rnn_addon_cells()->gru_reset_backward(n, H, gates, hPrev, dRh, dGates, dhPrev);
  return NULL;
}

static const rnn_op GRU_TORCH_FORWARD = {"gruTorchForward", {ARG_INT("n"), ARG_INT("H"), ARG_F32("gates"), ARG_F32("hw"),
                                                             ARG_F32("hPrev"), ARG_F32("h")}};

static napi_value js_gru_torch_forward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &GRU_TORCH_FORWARD)) return NULL;
  const long n = a.v[0].i, H = a.v[1].i, m = n * H;
  if (m <= 0) return NULL;
  float *gates = rnn_view(&a, 2, 3 * m), *hw = rnn_view(&a, 3, 3 * m), *hPrev = rnn_view(&a, 4, m), *h = rnn_view(&a, 5, m);
  if (a.ok) rnn_addon_cells()->gru_torch_forward(n, H, gates, hw, hPrev, h);
  return NULL;
}

static const rnn_op GRU_TORCH_BACKWARD = {"gruTorchBackward", {ARG_INT("n"), ARG_INT("H"), ARG_F32("gates"), ARG_F32("hw"),
                                                               ARG_F32("hPrev"), ARG_F32("dh"), ARG_F32("dGates"),
                                                               ARG_F32("dHw"), ARG_F32("dhPrev")}};

static napi_value js_gru_torch_backward(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &GRU_TORCH_BACKWARD)) return NULL;
  const long n = a.v[0].i, H = a.v[1].i, m = n * H;
  if (m <= 0) return NULL;
  float *gates = rnn_view(&a, 2, 3 * m), *hw = rnn_view(&a, 3, 3 * m), *hPrev = rnn_view(&a, 4, m), *dh = rnn_view(&a, 5, m),
        *dGates = rnn_view(&a, 6, 3 * m), *dHw = rnn_view(&a, 7, 3 * m), *dhPrev = rnn_view(&a, 8, m);
  if (a.ok) rnn_addon_cells()->gru_torch_backward(n, H, gates, hw, hPrev, dh, dGates, dHw, dhPrev);
  return NULL;
}

static const rnn_op SOFTMAX_XENT = {"softmaxXent", {ARG_INT("rows"), ARG_INT("V"), ARG_F32("logits"), ARG_I32("targets"),
                                                    ARG_F32_OR_NULL("dLogits"), ARG_NUMBER("scale")}};

/* softmaxXent(rows, V, logits, targets, dLogits | null, scale) → loss */
static napi_value js_softmax_xent(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &SOFTMAX_XENT)) return NULL;
  const long rows = a.v[0].i, V = a.v[1].i;
  napi_value out;
  if (rows <= 0 || V <= 0) {
    CHECK(napi_create_double(env, 0, &out));
    return out;
  }
  float *logits = rnn_view(&a, 2, rows * V);
  const int *targets = rnn_view(&a, 3, rows);
  float *dLogits = rnn_view(&a, 4, rows * V);
  if (!a.ok) return NULL;
  for (long r = 0; r < rows; r++)
    if (targets[r] < 0 || targets[r] >= V)
      return rnn_range_error(&a, "softmaxXent: target %d at row %ld is outside [0, %ld)", targets[r], r, V);
  const double loss = rnn_addon_cells()->softmax_xent(rows, V, logits, targets, dLogits, (float)a.v[5].d);
  CHECK(napi_create_double(env, loss, &out));
  return out;
}

/* addBias on a whole window (rows = T·B: 2,048 × 1,024 on the bench's M, 8 MiB, out of
 * L2) is a memory-bound pass that ran on the calling thread alone: from this many floats
 * its rows are split across the pool (each row the same additions: the same results for
 * any thread count). Measured on Zen 3, two calls on 2048x1024: 0.43–0.62 ms on one
 * thread, 0.25–0.32 ms on two. sumRows split by column blocks gained nothing there
 * (0.42–0.60 against 0.39–0.59 ms) and stays on the calling thread. */
#define ROW_SPLIT_FLOATS (1L << 18)

typedef struct {
  long rows, N, ldx;
  float *X, *bias;
  int parts;
} rows_job;

static void add_bias_part(void *ctx, int part, float *scratch) {
  const rows_job *j = (const rows_job *)ctx;
  const long r0 = j->rows * part / j->parts, r1 = j->rows * (part + 1) / j->parts;
  if (r1 > r0) rnn_addon_cells()->add_bias(r1 - r0, j->N, j->X + r0 * j->ldx, j->ldx, j->bias);
}

/* parts for a pass over rows × N floats: one per thread from ROW_SPLIT_FLOATS on, else 1 */
static int row_parts(long rows, long N) {
  const int threads = rnn_pool_threads(rnn_addon_pool());
  return threads > 1 && rows * N >= ROW_SPLIT_FLOATS ? threads : 1;
}

static const rnn_op ADD_BIAS = {"addBias", {ARG_INT("rows"), ARG_INT("N"), ARG_F32("X"), ARG_INT("ldx"), ARG_F32("bias")}};

static napi_value js_add_bias(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &ADD_BIAS)) return NULL;
  const long rows = a.v[0].i, N = a.v[1].i, ldx = a.v[3].i;
  if (rows <= 0 || N <= 0) return NULL;
  if (ldx < N) return rnn_range_error(&a, "native addBias: ldx < N");
  float *X = rnn_view(&a, 2, (rows - 1) * ldx + N), *bias = rnn_view(&a, 4, N);
  if (!a.ok) return NULL;
  rows_job j = {rows, N, ldx, X, bias, row_parts(rows, N)};
  if (j.parts > 1) rnn_pool_run(rnn_addon_pool(), j.parts, add_bias_part, &j);
  else rnn_addon_cells()->add_bias(rows, N, X, ldx, bias);
  return NULL;
}

static const rnn_op SUM_ROWS = {"sumRows", {ARG_INT("rows"), ARG_INT("N"), ARG_F32("dX"), ARG_INT("ldx"), ARG_F32("dbias")}};

static napi_value js_sum_rows(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &SUM_ROWS)) return NULL;
  const long rows = a.v[0].i, N = a.v[1].i, ldx = a.v[3].i;
  if (rows <= 0 || N <= 0) return NULL;
  if (ldx < N) return rnn_range_error(&a, "native sumRows: ldx < N");
  float *dX = rnn_view(&a, 2, (rows - 1) * ldx + N), *dbias = rnn_view(&a, 4, N);
  if (a.ok) rnn_addon_cells()->sum_rows(rows, N, dX, ldx, dbias);
  return NULL;
}

static const rnn_op ADAM = {"adam", {ARG_INT("n"), ARG_F32("p"), ARG_F32("g"), ARG_F32("m"), ARG_F32("v"), ARG_NUMBER("lr"),
                                     ARG_NUMBER("b1"), ARG_NUMBER("b2"), ARG_NUMBER("eps"), ARG_NUMBER("lrWd")}};

/* adam(n, p, g, m, v, lr, b1, b2, eps, lrWd) */
static napi_value js_adam(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &ADAM)) return NULL;
  const long n = a.v[0].i;
  const double lr = a.v[5].d, b1 = a.v[6].d, b2 = a.v[7].d, eps = a.v[8].d, lrWd = a.v[9].d;
  if (n <= 0) return NULL;
  float *p = rnn_view(&a, 1, n), *g = rnn_view(&a, 2, n), *m = rnn_view(&a, 3, n), *v = rnn_view(&a, 4, n);
  if (a.ok)
    rnn_addon_cells()->adam(n, p, g, m, v, (float)lr, (float)b1, (float)b2, (float)eps, (float)lrWd, (float)(1 - b1),
                            (float)(1 - b2));
  return NULL;
}

static const rnn_op MAX_MAGNITUDE_BITS = {"maxMagnitudeBits", {ARG_INT("n"), ARG_F32("x")}};

/* maxMagnitudeBits(n, x) → the largest (bits & 0x7fffffff) of x[0:n], 0 for n ≤ 0: with the
 * sign cleared a float's bits order as its magnitude does, +∞ is 0x7f800000 and every NaN
 * is above it (the weight check, src/kernels/magnitude.ts) */
static napi_value js_max_magnitude_bits(napi_env env, napi_callback_info info) {
  rnn_args a;
  if (!rnn_args_read(&a, env, info, &MAX_MAGNITUDE_BITS)) return NULL;
  const long n = a.v[0].i;
  uint32_t max = 0;
  if (n > 0) {
    const uint32_t *bits = (const uint32_t *)rnn_view(&a, 1, n);
    if (!a.ok) return NULL;
    for (long i = 0; i < n; i++) {
      const uint32_t b = bits[i] & 0x7fffffffu;
      max = b > max ? b : max;
    }
  }
  napi_value out;
  CHECK(napi_create_uint32(env, max, &out));
  return out;
}

napi_status rnn_ops_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"rnnForward", NULL, js_rnn_forward, NULL, NULL, NULL, napi_default, NULL},
    {"rnnBackward", NULL, js_rnn_backward, NULL, NULL, NULL, napi_default, NULL},
    {"lstmForward", NULL, js_lstm_forward, NULL, NULL, NULL, napi_default, NULL},
    {"lstmBackward", NULL, js_lstm_backward, NULL, NULL, NULL, napi_default, NULL},
    {"gruResetForward", NULL, js_gru_reset_forward, NULL, NULL, NULL, napi_default, NULL},
    {"gruOutForward", NULL, js_gru_out_forward, NULL, NULL, NULL, napi_default, NULL},
    {"gruOutBackward", NULL, js_gru_out_backward, NULL, NULL, NULL, napi_default, NULL},
    {"gruResetBackward", NULL, js_gru_reset_backward, NULL, NULL, NULL, napi_default, NULL},
    {"gruTorchForward", NULL, js_gru_torch_forward, NULL, NULL, NULL, napi_default, NULL},
    {"gruTorchBackward", NULL, js_gru_torch_backward, NULL, NULL, NULL, napi_default, NULL},
    {"softmaxXent", NULL, js_softmax_xent, NULL, NULL, NULL, napi_default, NULL},
    {"addBias", NULL, js_add_bias, NULL, NULL, NULL, napi_default, NULL},
    {"sumRows", NULL, js_sum_rows, NULL, NULL, NULL, napi_default, NULL},
    {"adam", NULL, js_adam, NULL, NULL, NULL, napi_default, NULL},
    {"maxMagnitudeBits", NULL, js_max_magnitude_bits, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
