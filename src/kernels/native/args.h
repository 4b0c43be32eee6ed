/* The arguments of the addon's Node-API functions, read from one table per function
 * (addon.c, ops.c, step.c). A function lists its arguments once, in order:
 *
 *   static const rnn_op LSTM_FORWARD = {"lstmForward", {ARG_INT("n"), ARG_INT("H"),
 *       ARG_F32("gates"), ARG_F32("cPrev"), ...}};
 *
 * rnn_args_read checks the count and reads the numbers, booleans and handles in order
 * (into a.v[k]); the typed arrays are checked afterwards, by rnn_view, against the length
 * the call needs, which the function computes from the numbers (so a call whose sizes
 * make it empty returns before any view is looked at). The first failure throws, sets
 * a.ok = 0 and makes every later rnn_view return NULL, so a function takes its views in a
 * row and tests a.ok once. The messages:
 *
 *   RangeError  native <op>: <count> arguments expected
 *   TypeError   native <op>: argument <k> must be a number        (ARG_INT, ARG_NUMBER)
 *   TypeError   native <op>: argument <k> must be a boolean       (ARG_BOOL)
 *   TypeError   native <op>: not a <name>                          (ARG_HANDLE)
 *   TypeError   native <op>: <name> must be a Float32Array | an Int32Array
 *   RangeError  native <op>: <name> has <length> elements, the call needs <need>
 *
 * and rnn_range_error throws a RangeError worded by the function (offsets, leading
 * dimensions, ids). */
#ifndef RNN_ARGS_H
#define RNN_ARGS_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8 /* type tags */
#endif
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define RNN_MAX_ARGS 12

typedef enum {
  RNN_ARG_END = 0,
  RNN_ARG_INT,         /* a number, as an integer (napi_get_value_int64) */
  RNN_ARG_NUMBER,      /* a number, as a double */
  RNN_ARG_BOOL,        /* true or false, as 1 or 0 */
  RNN_ARG_F32,         /* a Float32Array */
  RNN_ARG_F32_OR_NULL, /* a Float32Array, or null / undefined (rnn_view gives NULL) */
  RNN_ARG_I32,         /* an Int32Array */
  RNN_ARG_HANDLE,      /* an object this addon wrapped and tagged with `tag` */
} rnn_arg_kind;

typedef struct {
  rnn_arg_kind kind;
  const char *name;         /* the view's or handle's name in messages */
  const napi_type_tag *tag; /* RNN_ARG_HANDLE */
} rnn_arg;

#define ARG_INT(name) {RNN_ARG_INT, name, NULL}
#define ARG_NUMBER(name) {RNN_ARG_NUMBER, name, NULL}
#define ARG_BOOL(name) {RNN_ARG_BOOL, name, NULL}
#define ARG_F32(name) {RNN_ARG_F32, name, NULL}
#define ARG_F32_OR_NULL(name) {RNN_ARG_F32_OR_NULL, name, NULL}
#define ARG_I32(name) {RNN_ARG_I32, name, NULL}
#define ARG_HANDLE(name, tag) {RNN_ARG_HANDLE, name, tag}

typedef struct {
  const char *name;              /* the JavaScript name */
  rnn_arg arg[RNN_MAX_ARGS + 1]; /* up to the first RNN_ARG_END */
} rnn_op;

typedef union {
  int64_t i; /* RNN_ARG_INT, RNN_ARG_BOOL */
  double d;  /* RNN_ARG_NUMBER */
  void *p;   /* RNN_ARG_HANDLE: the wrapped pointer */
} rnn_value;

typedef struct {
  napi_env env;
  const rnn_op *op;
  size_t argc;
  napi_value argv[RNN_MAX_ARGS];
  rnn_value v[RNN_MAX_ARGS];
  size_t length[RNN_MAX_ARGS]; /* a view's element count, once rnn_view checked it */
  int ok;
} rnn_args;

/* Reads the call's arguments as `op` lists them; returns a->ok. */
int rnn_args_read(rnn_args *a, napi_env env, napi_callback_info info, const rnn_op *op);

/* The data of view argument k (an index into op->arg), which must have at least `need`
 * elements; NULL after a failure (thrown) or for null / undefined where allowed. */
void *rnn_view(rnn_args *a, size_t k, long need);

/* Throws a RangeError with the formatted message and sets a->ok = 0; returns NULL. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
napi_value rnn_range_error(rnn_args *a, const char *fmt, ...);

/* 1 when v is a typed array of `type` (its data and element count in *data, *length). */
int rnn_typed_array(napi_env env, napi_value v, napi_typedarray_type type, void **data, size_t *length);

/* Returns NULL from a Node-API function after throwing, when a Node-API call fails. */
#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "native kernels: Node-API call failed: " #call); return NULL; } } while (0)

#endif
