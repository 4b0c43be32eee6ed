/* The table-driven argument reader of the addon's Node-API functions (args.h). */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "args.h"

static void vfail(rnn_args *a, int range, const char *fmt, va_list ap) {
  char msg[192];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (range) napi_throw_range_error(a->env, NULL, msg);
  else napi_throw_type_error(a->env, NULL, msg);
  a->ok = 0;
}

/* throws a TypeError, or with `range` a RangeError; leaves a->ok = 0 */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void fail(rnn_args *a, int range, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(a, range, fmt, ap);
  va_end(ap);
}

int rnn_typed_array(napi_env env, napi_value v, napi_typedarray_type type, void **data, size_t *length) {
  bool is = false;
  napi_typedarray_type t;
  return napi_is_typedarray(env, v, &is) == napi_ok && is &&
         napi_get_typedarray_info(env, v, &t, length, data, NULL, NULL) == napi_ok && t == type;
}

int rnn_args_read(rnn_args *a, napi_env env, napi_callback_info info, const rnn_op *op) {
  size_t need = 0;
  while (need < RNN_MAX_ARGS && op->arg[need].kind != RNN_ARG_END) need++;
  a->env = env;
  a->op = op;
  a->argc = RNN_MAX_ARGS;
  a->ok = 1;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "native kernels: Node-API call failed: napi_get_cb_info");
    return a->ok = 0;
  }
  if (a->argc < need) {
    fail(a, 1, "native %s: %zu arguments expected", op->name, need);
    return 0;
  }
  for (size_t k = 0; k < need; k++) {
    const rnn_arg *arg = &op->arg[k];
    napi_value v = a->argv[k];
    switch (arg->kind) {
    case RNN_ARG_INT:
      if (napi_get_value_int64(env, v, &a->v[k].i) != napi_ok) fail(a, 0, "native %s: argument %zu must be a number", op->name, k + 1);
      break;
    case RNN_ARG_NUMBER:
      if (napi_get_value_double(env, v, &a->v[k].d) != napi_ok) fail(a, 0, "native %s: argument %zu must be a number", op->name, k + 1);
      break;
    case RNN_ARG_BOOL: {
      bool b = false;
      if (napi_get_value_bool(env, v, &b) != napi_ok) fail(a, 0, "native %s: argument %zu must be a boolean", op->name, k + 1);
      a->v[k].i = b;
      break;
    }
    case RNN_ARG_HANDLE: {
      bool tagged = false;
      if (napi_check_object_type_tag(env, v, arg->tag, &tagged) != napi_ok || !tagged || napi_unwrap(env, v, &a->v[k].p) != napi_ok)
        fail(a, 0, "native %s: not a %s", op->name, arg->name);
      break;
    }
    default: /* views: rnn_view, once the call knows their lengths */
      break;
    }
    if (!a->ok) return 0;
  }
  return 1;
}

void *rnn_view(rnn_args *a, size_t k, long need) {
  if (!a->ok) return NULL;
  const rnn_arg *arg = &a->op->arg[k];
  if (arg->kind == RNN_ARG_F32_OR_NULL) {
    napi_valuetype t;
    if (napi_typeof(a->env, a->argv[k], &t) == napi_ok && (t == napi_null || t == napi_undefined)) return NULL;
  }
  const int ints = arg->kind == RNN_ARG_I32;
  void *data = NULL;
  size_t length = 0;
  if (!rnn_typed_array(a->env, a->argv[k], ints ? napi_int32_array : napi_float32_array, &data, &length)) {
    fail(a, 0, "native %s: %s must be %s", a->op->name, arg->name, ints ? "an Int32Array" : "a Float32Array");
    return NULL;
  }
  if ((long)length < need) {
    fail(a, 1, "native %s: %s has %zu elements, the call needs %ld", a->op->name, arg->name, length, need);
    return NULL;
  }
  a->length[k] = length;
  if (!data) { /* an empty view (need is 0): a pointer nothing reads */
    static float none;
    return &none;
  }
  return data;
}

napi_value rnn_range_error(rnn_args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(a, 1, fmt, ap);
  va_end(ap);
  return NULL;
}
