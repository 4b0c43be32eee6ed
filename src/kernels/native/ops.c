/* The Node-API surface of the cell, head, row and optimizer kernels (cells.h), next to gemm
 * in addon.c. Each function takes the arguments of the Kernels method of the same name
 * (src/kernels/types.ts), checks that every view is a Float32Array (Int32Array for ids and
 * targets) long enough for the call, and runs the kernel in place on the views' memory on
 * the calling thread. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "native kernels: Node-API call failed: " #call); return NULL; } } while (0)

/* The arguments of one call: numbers read first, then views checked against the lengths
 * the numbers imply. Any failure throws and leaves ok = 0. */
typedef struct {
  napi_env env;
  const char *op;
  napi_value argv[12];
  size_t argc;
  int ok;
} call_args;

static int args_get(call_args *a, napi_env env, napi_callback_info info, const char *op, size_t need) {
  a->env = env;
  a->op = op;
  a->argc = 12;
  a->ok = 0;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "native kernels: Node-API call failed");
    return 0;
  }
  if (a->argc < need) {
    char msg[96];
    snprintf(msg, sizeof msg, "native %s: %zu arguments expected", op, need);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  a->ok = 1;
  return 1;
}

static long arg_long(call_args *a, size_t i) {
  int64_t x = 0;
  if (a->ok && napi_get_value_int64(a->env, a->argv[i], &x) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "native %s: argument %zu must be a number", a->op, i + 1);
    napi_throw_type_error(a->env, NULL, msg);
    a->ok = 0;
  }
  return (long)x;
}

static double arg_double(call_args *a, size_t i) {
  double x = 0;
  if (a->ok && napi_get_value_double(a->env, a->argv[i], &x) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "native %s: argument %zu must be a number", a->op, i + 1);
    napi_throw_type_error(a->env, NULL, msg);
    a->ok = 0;
  }
  return x;
}

static int arg_bool(call_args *a, size_t i) {
  bool x = false;
  if (a->ok && napi_get_value_bool(a->env, a->argv[i], &x) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "native %s: argument %zu must be a boolean", a->op, i + 1);
    napi_throw_type_error(a->env, NULL, msg);
    a->ok = 0;
  }
  return x;
}

/* the data of a typed array of `type` with at least `need` elements */
static void *arg_view(call_args *a, size_t i, napi_typedarray_type want, long need, const char *what) {
  if (!a->ok) return NULL;
  char msg[160];
  bool is = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  const char *kind = want == napi_int32_array ? "an Int32Array" : "a Float32Array";
  if (napi_is_typedarray(a->env, a->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(a->env, a->argv[i], &type, &length, &data, NULL, NULL) != napi_ok || type != want) {
    snprintf(msg, sizeof msg, "native %s: %s must be %s", a->op, what, kind);
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
  return data;
}
#define FV(i, need, what) ((float *)arg_view(&a, i, napi_float32_array, need, what))
#define IV(i, need, what) ((int *)arg_view(&a, i, napi_int32_array, need, what))

static napi_value js_rnn_forward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "rnnForward", 5)) return NULL;
  const int relu = arg_long(&a, 0) != 0;
  const long n = arg_long(&a, 1), H = arg_long(&a, 2), m = n * H;
  if (!a.ok || m <= 0) return NULL;
  float *pre = FV(3, m, "pre"), *h = FV(4, m, "h");
  if (a.ok) rnn_addon_cells()->rnn_forward(relu, m, pre, h);
  return NULL;
}

static napi_value js_rnn_backward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "rnnBackward", 6)) return NULL;
  const int relu = arg_long(&a, 0) != 0;
  const long n = arg_long(&a, 1), H = arg_long(&a, 2), m = n * H;
  if (!a.ok || m <= 0) return NULL;
  float *h = FV(3, m, "h"), *dh = FV(4, m, "dh"), *dPre = FV(5, m, "dPre");
  if (a.ok) rnn_addon_cells()->rnn_backward(relu, m, h, dh, dPre);
  return NULL;
}

static napi_value js_lstm_forward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "lstmForward", 7)) return NULL;
  const long n = arg_long(&a, 0), H = arg_long(&a, 1), m = n * H;
  if (!a.ok || m <= 0) return NULL;
  float *gates = FV(2, 4 * m, "gates"), *cPrev = FV(3, m, "cPrev"), *c = FV(4, m, "c"), *h = FV(5, m, "h"),
        *tanhC = FV(6, m, "tanhC");
  if (a.ok) rnn_addon_cells()->lstm_forward(n, H, gates, cPrev, c, h, tanhC);
  return NULL;
}

static napi_value js_lstm_backward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "lstmBackward", 8)) return NULL;
  const long n = arg_long(&a, 0), H = arg_long(&a, 1), m = n * H;
  if (!a.ok || m <= 0) return NULL;
  float *gates = FV(2, 4 * m, "gates"), *cPrev = FV(3, m, "cPrev"), *tanhC = FV(4, m, "tanhC"), *dh = FV(5, m, "dh"),
        *dc = FV(6, m, "dc"), *dGates = FV(7, 4 * m, "dGates");
  if (a.ok) rnn_addon_cells()->lstm_backward(n, H, gates, cPrev, tanhC, dh, dc, dGates);
  return NULL;
}

static napi_value js_gru_reset_forward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "gruResetForward", 5)) return NULL;
  const long n = arg_long(&a, 0), H = arg_long(&a, 1), m = n * H;
  if (!a.ok || m <= 0) return NULL;
  float *gates = FV(2, 3 * m, "gates"), *hPrev = FV(3, m, "hPrev"), *rh = FV(4, m, "rh");
  if (a.ok) rnn_addon_cells()->gru_reset_forward(n, H, gates, hPrev, rh);
  return NULL;
}

/* the u and c̃ blocks must lie inside a row of G */
static int gru_offsets(call_args *a, long H, long G, long uOff, long cOff) {
  if (!a->ok) return 0;
  if (uOff < 0 || cOff < 0 || uOff + H > G || cOff + H > G) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: gate blocks at %ld and %ld (width %ld) do not fit a row of %ld", a->op, uOff, cOff, H, G);
    napi_throw_range_error(a->env, NULL, msg);
    a->ok = 0;
  }
  return a->ok;
}

static napi_value js_gru_out_forward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "gruOutForward", 9)) return NULL;
  const long n = arg_long(&a, 0), H = arg_long(&a, 1), G = arg_long(&a, 2), uOff = arg_long(&a, 3),
             cOff = arg_long(&a, 4), m = n * H;
  const int sigmoidU = arg_bool(&a, 5);
  if (!a.ok || m <= 0 || !gru_offsets(&a, H, G, uOff, cOff)) return NULL;
  float *gates = FV(6, n * G, "gates"), *hPrev = FV(7, m, "hPrev"), *h = FV(8, m, "h");
  if (a.ok) rnn_addon_cells()->gru_out_forward(n, H, G, uOff, cOff, sigmoidU, gates, hPrev, h);
  return NULL;
}

static napi_value js_gru_out_backward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "gruOutBackward", 10)) return NULL;
  const long n = arg_long(&a, 0), H = arg_long(&a, 1), G = arg_long(&a, 2), uOff = arg_long(&a, 3),
             cOff = arg_long(&a, 4), m = n * H;
  if (!a.ok || m <= 0 || !gru_offsets(&a, H, G, uOff, cOff)) return NULL;
  float *gates = FV(5, n * G, "gates"), *hPrev = FV(6, m, "hPrev"), *dh = FV(7, m, "dh"),
        *dGates = FV(8, n * G, "dGates"), *dhPrev = FV(9, m, "dhPrev");
  if (a.ok) rnn_addon_cells()->gru_out_backward(n, H, G, uOff, cOff, gates, hPrev, dh, dGates, dhPrev);
  return NULL;
}

static napi_value js_gru_reset_backward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "gruResetBackward", 7)) return NULL;
  const long n = arg_long(&a, 0), H = arg_long(&a, 1), m = n * H;
  if (!a.ok || m <= 0) return NULL;
  float *gates = FV(2, 3 * m, "gates"), *hPrev = FV(3, m, "hPrev"), *dRh = FV(4, m, "dRh"),
        *dGates = FV(5, 3 * m, "dGates"), *dhPrev = FV(6, m, "dhPrev");
  if (a.ok) rnn_addon_cells()->gru_reset_backward(n, H, gates, hPrev, dRh, dGates, dhPrev);
  return NULL;
}

static napi_value js_gru_torch_forward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "gruTorchForward", 6)) return NULL;
  const long n = arg_long(&a, 0), H = arg_long(&a, 1), m = n * H;
  if (!a.ok || m <= 0) return NULL;
  float *gates = FV(2, 3 * m, "gates"), *hw = FV(3, 3 * m, "hw"), *hPrev = FV(4, m, "hPrev"), *h = FV(5, m, "h");
  if (a.ok) rnn_addon_cells()->gru_torch_forward(n, H, gates, hw, hPrev, h);
  return NULL;
}

static napi_value js_gru_torch_backward(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "gruTorchBackward", 9)) return NULL;
  const long n = arg_long(&a, 0), H = arg_long(&a, 1), m = n * H;
  if (!a.ok || m <= 0) return NULL;
  float *gates = FV(2, 3 * m, "gates"), *hw = FV(3, 3 * m, "hw"), *hPrev = FV(4, m, "hPrev"), *dh = FV(5, m, "dh"),
        *dGates = FV(6, 3 * m, "dGates"), *dHw = FV(7, 3 * m, "dHw"), *dhPrev = FV(8, m, "dhPrev");
  if (a.ok) rnn_addon_cells()->gru_torch_backward(n, H, gates, hw, hPrev, dh, dGates, dHw, dhPrev);
  return NULL;
}

/* softmaxXent(rows, V, logits, targets, dLogits | null, scale) → loss */
static napi_value js_softmax_xent(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "softmaxXent", 6)) return NULL;
  const long rows = arg_long(&a, 0), V = arg_long(&a, 1);
  const double scale = arg_double(&a, 5);
  napi_value out;
  if (!a.ok) return NULL;
  if (rows <= 0 || V <= 0) {
    CHECK(napi_create_double(env, 0, &out));
    return out;
  }
  float *logits = FV(2, rows * V, "logits");
  const int *targets = IV(3, rows, "targets");
  napi_valuetype dt;
  CHECK(napi_typeof(env, a.argv[4], &dt));
  float *dLogits = dt == napi_null || dt == napi_undefined ? NULL : FV(4, rows * V, "dLogits");
  if (!a.ok) return NULL;
  for (long r = 0; r < rows; r++) {
    if (targets[r] < 0 || targets[r] >= V) {
      char msg[120];
      snprintf(msg, sizeof msg, "softmaxXent: target %d at row %ld is outside [0, %ld)", targets[r], r, V);
      napi_throw_range_error(env, NULL, msg);
      return NULL;
    }
  }
  const double loss = rnn_addon_cells()->softmax_xent(rows, V, logits, targets, dLogits, (float)scale);
  CHECK(napi_create_double(env, loss, &out));
  return out;
}

static napi_value js_add_bias(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "addBias", 5)) return NULL;
  const long rows = arg_long(&a, 0), N = arg_long(&a, 1), ldx = arg_long(&a, 3);
  if (!a.ok || rows <= 0 || N <= 0) return NULL;
  if (ldx < N) return napi_throw_range_error(env, NULL, "native addBias: ldx < N"), NULL;
  float *X = FV(2, (rows - 1) * ldx + N, "X"), *bias = FV(4, N, "bias");
  if (a.ok) rnn_addon_cells()->add_bias(rows, N, X, ldx, bias);
  return NULL;
}

static napi_value js_sum_rows(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "sumRows", 5)) return NULL;
  const long rows = arg_long(&a, 0), N = arg_long(&a, 1), ldx = arg_long(&a, 3);
  if (!a.ok || rows <= 0 || N <= 0) return NULL;
  if (ldx < N) return napi_throw_range_error(env, NULL, "native sumRows: ldx < N"), NULL;
  float *dX = FV(2, (rows - 1) * ldx + N, "dX"), *dbias = FV(4, N, "dbias");
  if (a.ok) rnn_addon_cells()->sum_rows(rows, N, dX, ldx, dbias);
  return NULL;
}

/* adam(n, p, g, m, v, lr, b1, b2, eps, lrWd) */
static napi_value js_adam(napi_env env, napi_callback_info info) {
  call_args a;
  if (!args_get(&a, env, info, "adam", 10)) return NULL;
  const long n = arg_long(&a, 0);
  const double lr = arg_double(&a, 5), b1 = arg_double(&a, 6), b2 = arg_double(&a, 7), eps = arg_double(&a, 8),
               lrWd = arg_double(&a, 9);
  if (!a.ok || n <= 0) return NULL;
  float *p = FV(1, n, "p"), *g = FV(2, n, "g"), *m = FV(3, n, "m"), *v = FV(4, n, "v");
  if (a.ok)
    rnn_addon_cells()->adam(n, p, g, m, v, (float)lr, (float)b1, (float)b2, (float)eps, (float)lrWd, (float)(1 - b1),
                            (float)(1 - b2));
  return NULL;
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
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
