#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long an idle worker spins on the job counter before it sleeps (ns). */
#define WORKER_SPIN_NS 200000L
/* How long the caller spins for the last parts of its job before it sleeps (ns). A part
 * that a worker claimed and was then descheduled in (more runnable threads than cores: a
 * test suite's processes side by side on two vCPUs) would otherwise have the caller spin
 * for whole time slices beside it. */
#define CALLER_SPIN_NS 100000L

typedef struct {
  rnn_pool *pool;
  pthread_t thread;
  float *scratch;
} worker;

struct rnn_pool {
  int threads;
  worker *workers; /* threads − 1 of them */
  float *main_scratch;
  /* the job: written by the caller before it bumps `generation` */
  rnn_part_fn fn;
  void *ctx;
  /* the claim word: job number << 32 | parts << 16 | next unclaimed part. A worker that
   * wakes late for an old job cannot claim a part of a newer one by mistake. */
  atomic_ullong next;
  atomic_int done;       /* parts finished */
  atomic_uint generation; /* bumped once per job */
  atomic_int quit;
  atomic_int sleepers;
  atomic_int waiting;    /* the caller sleeps for the job's last parts */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t finished;
};

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static float *alloc_scratch(size_t floats) {
  void *p = NULL;
  if (posix_memalign(&p, 64, floats * sizeof(float) + 64) != 0) return NULL;
  return (float *)p;
}

/* claims and runs parts of job `job` until none is left */
static void run_parts(rnn_pool *p, unsigned job, float *scratch) {
  unsigned long long cur = atomic_load(&p->next);
  for (;;) {
    if ((unsigned)(cur >> 32) != job) return;
    const unsigned parts = (unsigned)(cur >> 16) & 0xffffu, part = (unsigned)cur & 0xffffu;
    if (part >= parts) return;
    if (!atomic_compare_exchange_weak(&p->next, &cur, cur + 1)) continue;
    p->fn(p->ctx, (int)part, scratch); /* fn and ctx were written before the claim word */
    /* done is raised before waiting is read, and the caller raises waiting before it reads
     * done again under the lock: one sees the other */
    if (atomic_fetch_add(&p->done, 1) + 1 == (int)parts && atomic_load(&p->waiting)) {
      pthread_mutex_lock(&p->lock);
      pthread_cond_broadcast(&p->finished);
      pthread_mutex_unlock(&p->lock);
    }
    cur = atomic_load(&p->next);
  }
}

static void *worker_main(void *arg) {
  worker *w = (worker *)arg;
  rnn_pool *p = w->pool;
  /* the generation the pool was created with, not the one this thread first sees: a job
   * posted before the thread started is still its to join */
  unsigned seen = 0;
  for (;;) {
    const long until = now_ns() + WORKER_SPIN_NS;
    unsigned g;
    int spins = 0;
    while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->quit)) {
      CPU_RELAX();
      if ((++spins & 255) == 0 && now_ns() > until) {
        pthread_mutex_lock(&p->lock);
        atomic_fetch_add(&p->sleepers, 1);
        while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->quit)) pthread_cond_wait(&p->wake, &p->lock);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->lock);
        break;
      }
    }
    if (atomic_load(&p->quit)) return NULL;
    seen = g;
    run_parts(p, g, w->scratch);
  }
}

rnn_pool *rnn_pool_create(int threads, size_t scratch_floats) {
  if (threads < 1) threads = 1;
  rnn_pool *p = (rnn_pool *)calloc(1, sizeof(rnn_pool));
  if (!p) return NULL;
  p->threads = 1;
  p->main_scratch = alloc_scratch(scratch_floats);
  if (!p->main_scratch) { free(p); return NULL; }
  atomic_init(&p->next, 0);
  atomic_init(&p->done, 0);
  atomic_init(&p->generation, 0);
  atomic_init(&p->quit, 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->waiting, 0);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->finished, NULL);
  if (threads > 1) {
    p->workers = (worker *)calloc((size_t)(threads - 1), sizeof(worker));
    if (!p->workers) return p;
    for (int i = 0; i < threads - 1; i++) {
      worker *w = &p->workers[i];
      w->pool = p;
      w->scratch = alloc_scratch(scratch_floats);
      if (!w->scratch || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        free(w->scratch);
        break; /* run with the workers that started */
      }
      p->threads++;
    }
  }
  return p;
}

void rnn_pool_destroy(rnn_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->quit, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < p->threads - 1; i++) {
    pthread_join(p->workers[i].thread, NULL);
    free(p->workers[i].scratch);
  }
  free(p->workers);
  free(p->main_scratch);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->finished);
  free(p);
}

int rnn_pool_threads(const rnn_pool *p) { return p->threads; }

float *rnn_pool_scratch(rnn_pool *p) { return p->main_scratch; }

void rnn_pool_run(rnn_pool *p, int parts, rnn_part_fn fn, void *ctx) {
  if (p->threads <= 1 || parts <= 1) {
    for (int i = 0; i < parts; i++) fn(ctx, i, p->main_scratch);
    return;
  }
  p->fn = fn;
  p->ctx = ctx;
  if (parts > 0xffff) parts = 0xffff;
  const unsigned job = atomic_load(&p->generation) + 1;
  atomic_store(&p->done, 0);
  atomic_store(&p->next, ((unsigned long long)job << 32) | ((unsigned long long)parts << 16));
  atomic_store(&p->generation, job);
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
  }
  run_parts(p, job, p->main_scratch);
  if (atomic_load(&p->done) >= parts) return;
  const long until = now_ns() + CALLER_SPIN_NS;
  int spins = 0;
  while (atomic_load(&p->done) < parts) {
    CPU_RELAX();
    if ((++spins & 255) == 0 && now_ns() > until) {
      pthread_mutex_lock(&p->lock);
      atomic_store(&p->waiting, 1);
      while (atomic_load(&p->done) < parts) pthread_cond_wait(&p->finished, &p->lock);
      atomic_store(&p->waiting, 0);
      pthread_mutex_unlock(&p->lock);
      return;
    }
  }
}
