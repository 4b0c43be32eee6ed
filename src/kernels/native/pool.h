/* A small pool of compute threads for splitting one call into parts.
 *
 * rnn_pool_run(pool, parts, fn, ctx) runs fn(ctx, part, scratch) for every part in
 * [0, parts) and returns when all have finished. The calling thread takes parts too:
 * parts are claimed one at a time from a shared counter, so a worker that is slow to
 * wake only means the caller does more of them. Which thread ran a part never changes
 * its result (each part owns its block of the output), so the output is the same for
 * any interleaving. Idle workers spin for a short while after a job (the gap between
 * the per-step products of a time loop) and then sleep on a condition variable. */
#ifndef RNN_POOL_H
#define RNN_POOL_H

#include <stddef.h>

typedef void (*rnn_part_fn)(void *ctx, int part, float *scratch);
typedef struct rnn_pool rnn_pool;

/* threads: compute threads including the caller (1 = no workers); scratch_floats per thread */
rnn_pool *rnn_pool_create(int threads, size_t scratch_floats);
void rnn_pool_destroy(rnn_pool *p);
int rnn_pool_threads(const rnn_pool *p);
/* the caller's own scratch buffer (for calls that are not split) */
float *rnn_pool_scratch(rnn_pool *p);
void rnn_pool_run(rnn_pool *p, int parts, rnn_part_fn fn, void *ctx);

#endif
