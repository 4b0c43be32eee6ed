/* The cell, head, row and optimizer kernels' Node-API functions (ops.c). */
#ifndef RNN_OPS_H
#define RNN_OPS_H

#include <node_api.h>
#include "cells.h"

/* the cell kernels of the instruction set configure() chose (addon.c) */
const rnn_cells_isa *rnn_addon_cells(void);
/* adds rnnForward … adam to the addon's exports */
napi_status rnn_ops_define(napi_env env, napi_value exports);

#endif
