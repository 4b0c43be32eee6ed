/* CRC-32 (zlib's) by carry-less multiplication (crc.c). */
#ifndef RNN_CRC_H
#define RNN_CRC_H

#include <node_api.h>

/* adds crc32(bytes, previous) to the addon's exports where this CPU has PCLMULQDQ */
napi_status rnn_crc_define(napi_env env, napi_value exports);

#endif
