/* Which instruction sets this CPU and OS support, found at run time. */
#ifndef RNN_CPU_H
#define RNN_CPU_H

typedef struct {
  int avx2, fma, avx512f; /* x86-64 */
  int neon;               /* arm64 */
} rnn_cpu_features;

rnn_cpu_features rnn_cpu_detect(void);

#endif
