/* The batch-1 step of a character model (step.c): one Node-API call per generated
 * character runs every layer, the head and the tempered softmax. */
#ifndef RNN_STEP_H
#define RNN_STEP_H

#include <node_api.h>
#include "pool.h"

/* the addon's thread pool as configure() left it (addon.c); it may be replaced between calls */
rnn_pool *rnn_addon_pool(void);
/* adds stepCreate, stepAdvance and stepNext to the addon's exports */
napi_status rnn_step_define(napi_env env, napi_value exports);

#endif
