/* The LSTM layer sweep (sweep.c): one Node-API call runs the whole time loop of one
 * window of one LSTM layer, forward or backward, each thread of the pool owning a block of
 * hidden units for the whole window. */
#ifndef RNN_SWEEP_H
#define RNN_SWEEP_H

#include <node_api.h>
#include "gemm.h"

/* the product instruction set configure() chose (addon.c) */
const rnn_gemm_isa *rnn_addon_gemm(void);
/* adds lstmSweepForward and lstmSweepBackward to the addon's exports */
napi_status rnn_sweep_define(napi_env env, napi_value exports);

#endif
