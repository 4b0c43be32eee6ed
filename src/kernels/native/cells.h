/* The pointwise kernels of one time step of every cell, the softmax cross-entropy head and
 * the row and optimizer loops around them, on the CPU's vector width. Semantics are those of
 * src/kernels/reference.ts (its comments and the cell files give the equations).
 *
 * cells_impl.h holds the kernels once, written on a small set of vector macros;
 * cells_avx512.c, cells_avx2.c, cells_neon.c (arm64) and cells_generic.c (one float per
 * "vector": any CPU) compile it for their width. The vector exp, σ and tanh are the same polynomial
 * as the WebAssembly backend's (src/kernels/wasm/assembly/vmath.ts), with fused multiply-adds
 * where the instruction set has them. Every element is computed by the same operations
 * whatever its position, tails included (masked loads), and nothing is split across threads,
 * so results depend only on the instruction set. */
#ifndef RNN_CELLS_H
#define RNN_CELLS_H

typedef struct {
  const char *name;
  /* g: 0 tanh, 1 relu */
  void (*rnn_forward)(int g, long m, const float *pre, float *h);
  void (*rnn_backward)(int g, long m, const float *h, const float *dh, float *dPre);
  void (*lstm_forward)(long n, long H, float *gates, const float *cPrev, float *c, float *h, float *tanhC);
  void (*lstm_backward)(long n, long H, const float *gates, const float *cPrev, const float *tanhC, const float *dh,
                        float *dc, float *dGates);
  void (*gru_reset_forward)(long n, long H, float *gates, const float *hPrev, float *rh);
  void (*gru_out_forward)(long n, long H, long G, long uOff, long cOff, int sigmoidU, float *gates, const float *hPrev,
                          float *h);
  void (*gru_out_backward)(long n, long H, long G, long uOff, long cOff, const float *gates, const float *hPrev,
                           const float *dh, float *dGates, float *dhPrev);
  void (*gru_reset_backward)(long n, long H, const float *gates, const float *hPrev, const float *dRh, float *dGates,
                             float *dhPrev);
  void (*gru_torch_forward)(long n, long H, float *gates, const float *hw, const float *hPrev, float *h);
  void (*gru_torch_backward)(long n, long H, const float *gates, const float *hw, const float *hPrev, const float *dh,
                             float *dGates, float *dHw, float *dhPrev);
  /* Σ_r −log softmax(logits_r)[t_r] (targets checked by the caller); dLogits may be NULL or alias logits */
  double (*softmax_xent)(long rows, long vocab, const float *logits, const int *targets, float *dLogits, float scale);
  void (*add_bias)(long rows, long N, float *X, long ldx, const float *bias);
  void (*sum_rows)(long rows, long N, const float *dX, long ldx, float *dbias);
  /* c1 = 1 − b1, c2 = 1 − b2 rounded once by the caller (as the WebAssembly kernel) */
  void (*adam)(long n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps, float lrWd,
               float c1, float c2);
  /* the batch-1 step's kernels (step_impl.h, used by step.c): rows per panel, one panel
   * times its input parts, the max (and finiteness) of logits, the tempered exps */
  long step_rows;
  void (*step_panel)(long rows, const float *init, const float *add, int nparts, const long *K, const float *const *x,
                     const float *w, float *out);
  float (*step_max)(long n, const float *x, int *finite);
  double (*step_exp)(long n, const float *x, float mx, float invT, float *out);
  /* lstm_forward / lstm_backward on hidden units [j0, j1) of each row only (the layer
   * sweep, sweep.c): the same operations on every element as the whole-row kernels */
  void (*lstm_forward_cols)(long n, long H, long j0, long j1, float *gates, const float *cPrev, float *c, float *h,
                            float *tanhC);
  void (*lstm_backward_cols)(long n, long H, long j0, long j1, const float *gates, const float *cPrev,
                             const float *tanhC, const float *dh, float *dc, float *dGates);
} rnn_cells_isa;

extern const rnn_cells_isa rnn_cells_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const rnn_cells_isa rnn_cells_avx2;
extern const rnn_cells_isa rnn_cells_avx512;
#endif
#if defined(__aarch64__)
extern const rnn_cells_isa rnn_cells_neon;
#endif

#endif
