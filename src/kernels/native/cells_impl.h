/* The cell, head and row kernels once, for the vector width of the including file (see
 * cells.h). The including file defines:
 *   V, VN                      the vector type and its number of floats
 *   V1(x)                      every lane x
 *   VLD(p), VST(p, v)          unaligned load and store of VN floats
 *   VLDN(p, n), VSTN(p, v, n)  the first n < VN floats (the others read as 0, not touched)
 *   VADD VSUB VMUL VDIV VSQRT, VFMA(a, b, c) = a·b + c, VFNMA(a, b, c) = c − a·b
 *   VMIN(k, x), VMAX(k, x)     min / max that return x when x is NaN
 *   VABS(x), VSIGN(x)          |x| and x's sign bit alone; VOR(a, b) bitwise or
 *   VPOW2N(t)                  the float 2^n whose n sits in the low mantissa bits of t (below)
 *   VPOS(x, y)                 y where x > 0, else 0
 *   VHSUM_D(v)                 Σ of the lanes in double, lanes in order
 *   ISA_NAME, ISA_STRUCT
 * Every function here is static: the file is compiled once per instruction set. */
#include <math.h>
#include <stddef.h>
#include "cells.h"

#define INL static inline __attribute__((always_inline))

INL V ld(const float *p, int n) { return n == VN ? VLD(p) : VLDN(p, n); }
INL void st(float *p, V v, int n) {
  if (n == VN) VST(p, v);
  else VSTN(p, v, n);
}

/* ---- exp, σ, tanh (vmath.ts's polynomial)
 * exp(x) = 2^n · exp(r), n = round(x / ln2), r = x − n·ln2 in two steps (Cody–Waite),
 * |r| ≤ ln2/2; expm1(r) by its degree-7 Taylor polynomial (< 2e-8 relative). The rounding
 * adds 1.5·2²³, which leaves n in the low mantissa bits of t. */
#define MAGIC 12582912.0f
INL V expm1_poly(V r) {
  V p = V1(1.0f / 5040.0f);
  p = VFMA(p, r, V1(1.0f / 720.0f));
  p = VFMA(p, r, V1(1.0f / 120.0f));
  p = VFMA(p, r, V1(1.0f / 24.0f));
  p = VFMA(p, r, V1(1.0f / 6.0f));
  p = VFMA(p, r, V1(0.5f));
  return VFMA(VMUL(r, r), p, r);
}
INL V magic_t(V x) { return VFMA(x, V1(1.4426950408889634f), V1(MAGIC)); }
INL V reduce_r(V x, V t) {
  const V n = VSUB(t, V1(MAGIC));
  const V r = VFNMA(n, V1(0.693359375f), x);
  return VFNMA(n, V1(-2.12194440e-4f), r);
}
/* exp(x), x clamped to [−87, 88] so that results stay normal and finite; NaN stays NaN */
INL V vexp(V x) {
  const V xc = VMAX(V1(-87.0f), VMIN(V1(88.0f), x));
  const V t = magic_t(xc);
  return VMUL(VADD(expm1_poly(reduce_r(xc, t)), V1(1.0f)), VPOW2N(t));
}
INL V vsigmoid(V x) { return VDIV(V1(1.0f), VADD(V1(1.0f), vexp(VSUB(V1(0.0f), x)))); }
/* tanh(x) = sign(x) · e / (e + 2), e = expm1(2|x|) (full relative accuracy near 0), 2|x|
 * clamped to 40 (tanh(20) rounds to 1) */
INL V vtanh(V x) {
  const V ax = VABS(x);
  const V y = VMIN(V1(40.0f), VADD(ax, ax));
  const V t = magic_t(y);
  const V s = VPOW2N(t);
  /* expm1(y) = s·expm1(r) + (s − 1) */
  const V e = VFMA(s, expm1_poly(reduce_r(y, t)), VSUB(s, V1(1.0f)));
  return VOR(VDIV(e, VADD(e, V1(2.0f))), VSIGN(x));
}
INL V dsig(V s) { return VMUL(s, VSUB(V1(1.0f), s)); }  /* σ' given σ */
INL V dtanh(V t) { return VFNMA(t, t, V1(1.0f)); }      /* tanh' given tanh */

/* every column block of a row: body(j, VN) on whole vectors, then body(j, rest) once */
#define COLUMNS(width, body) do { \
    long j_ = 0; \
    for (; j_ + VN <= (width); j_ += VN) body(j_, VN); \
    if (j_ < (width)) body(j_, (int)((width) - j_)); \
  } while (0)

/* ---- vanilla RNN: h = g(pre) over m contiguous floats */
static void rnn_forward(int g, long m, const float *pre, float *h) {
#define B_(j, k) st(h + j, g ? VPOS(ld(pre + j, k), ld(pre + j, k)) : vtanh(ld(pre + j, k)), k)
  COLUMNS(m, B_);
#undef B_
}
/* dPre = dh ⊙ g'(·) given h = g(·) */
static void rnn_backward(int g, long m, const float *h, const float *dh, float *dPre) {
#define B_(j, k) st(dPre + j, g ? VPOS(ld(h + j, k), ld(dh + j, k)) : VMUL(ld(dh + j, k), dtanh(ld(h + j, k))), k)
  COLUMNS(m, B_);
#undef B_
}

/* ---- LSTM, gates [i f g o] (src/nn/lstm.ts) */
INL void lstm_fwd_at(float *gr, long H, const float *cp, float *c, float *h, float *tc, long j, int k) {
  const V i = vsigmoid(ld(gr + j, k));
  const V f = vsigmoid(ld(gr + H + j, k));
  const V g = vtanh(ld(gr + 2 * H + j, k));
  const V o = vsigmoid(ld(gr + 3 * H + j, k));
  st(gr + j, i, k);
  st(gr + H + j, f, k);
  st(gr + 2 * H + j, g, k);
  st(gr + 3 * H + j, o, k);
  /* c = i ⊙ g + f ⊙ cPrev; h = o ⊙ tanh(c) */
  const V ct = VFMA(f, ld(cp + j, k), VMUL(i, g));
  const V t = vtanh(ct);
  st(c + j, ct, k);
  st(tc + j, t, k);
  st(h + j, VMUL(o, t), k);
}
/* hidden units [j0, j1) of every row (the layer sweep, sweep.c, runs each thread's units) */
static void lstm_forward_cols(long n, long H, long j0, long j1, float *gates, const float *cPrev, float *c, float *h,
                              float *tanhC) {
  for (long b = 0; b < n; b++) {
    float *gr = gates + b * 4 * H;
    const long r = b * H;
#define B_(j, k) lstm_fwd_at(gr, H, cPrev + r, c + r, h + r, tanhC + r, j0 + j, k)
    COLUMNS(j1 - j0, B_);
#undef B_
  }
}
static void lstm_forward(long n, long H, float *gates, const float *cPrev, float *c, float *h, float *tanhC) {
  lstm_forward_cols(n, H, 0, H, gates, cPrev, c, h, tanhC);
}
INL void lstm_bwd_at(const float *gr, float *dg, long H, const float *cp, const float *tc, const float *dh, float *dc,
                     long j, int k) {
  const V i = ld(gr + j, k), f = ld(gr + H + j, k), g = ld(gr + 2 * H + j, k), o = ld(gr + 3 * H + j, k);
  const V t = ld(tc + j, k), d = ld(dh + j, k);
  /* h = o ⊙ tanh(c) */
  const V dO = VMUL(d, t);
  const V dct = VFMA(VMUL(d, o), dtanh(t), ld(dc + j, k));
  /* c = i ⊙ g + f ⊙ cPrev */
  st(dg + j, VMUL(VMUL(dct, g), dsig(i)), k);
  st(dg + H + j, VMUL(VMUL(dct, ld(cp + j, k)), dsig(f)), k);
  st(dg + 2 * H + j, VMUL(VMUL(dct, i), dtanh(g)), k);
  st(dg + 3 * H + j, VMUL(dO, dsig(o)), k);
  st(dc + j, VMUL(dct, f), k);
}
static void lstm_backward_cols(long n, long H, long j0, long j1, const float *gates, const float *cPrev,
                               const float *tanhC, const float *dh, float *dc, float *dGates) {
  for (long b = 0; b < n; b++) {
    const long r = b * H;
#define B_(j, k) lstm_bwd_at(gates + b * 4 * H, dGates + b * 4 * H, H, cPrev + r, tanhC + r, dh + r, dc + r, j0 + j, k)
    COLUMNS(j1 - j0, B_);
#undef B_
  }
}
static void lstm_backward(long n, long H, const float *gates, const float *cPrev, const float *tanhC, const float *dh,
                          float *dc, float *dGates) {
  lstm_backward_cols(n, H, 0, H, gates, cPrev, tanhC, dh, dc, dGates);
}

/* ---- classic GRU (src/nn/gru.ts), gates [r u c] */
INL void gru_reset_fwd_at(float *gr, long H, const float *hp, float *rh, long j, int k) {
  const V r = vsigmoid(ld(gr + j, k));
  st(gr + j, r, k);
  st(gr + H + j, vsigmoid(ld(gr + H + j, k)), k);
  st(rh + j, VMUL(r, ld(hp + j, k)), k);
}
static void gru_reset_forward(long n, long H, float *gates, const float *hPrev, float *rh) {
  for (long b = 0; b < n; b++) {
#define B_(j, k) gru_reset_fwd_at(gates + b * 3 * H, H, hPrev + b * H, rh + b * H, j, k)
    COLUMNS(H, B_);
#undef B_
  }
}
INL void gru_out_fwd_at(float *up, float *cp, int sigmoidU, const float *hp, float *h, long j, int k) {
  V u = ld(up + j, k);
  if (sigmoidU) {
    u = vsigmoid(u);
    st(up + j, u, k);
  }
  const V cc = vtanh(ld(cp + j, k));
  st(cp + j, cc, k);
  /* h = u ⊙ c̃ + (1 − u) ⊙ hPrev = hPrev + u ⊙ (c̃ − hPrev) */
  const V hv = ld(hp + j, k);
  st(h + j, VFMA(u, VSUB(cc, hv), hv), k);
}
static void gru_out_forward(long n, long H, long G, long uOff, long cOff, int sigmoidU, float *gates,
                            const float *hPrev, float *h) {
  for (long b = 0; b < n; b++) {
    float *gr = gates + b * G;
#define B_(j, k) gru_out_fwd_at(gr + uOff, gr + cOff, sigmoidU, hPrev + b * H, h + b * H, j, k)
    COLUMNS(H, B_);
#undef B_
  }
}
INL void gru_out_bwd_at(const float *up, const float *cp, float *dup, float *dcp, const float *hp, const float *dh,
                        float *dhp, long j, int k) {
  const V u = ld(up + j, k), cc = ld(cp + j, k), d = ld(dh + j, k);
  /* h = u ⊙ c̃ + (1 − u) ⊙ hPrev */
  st(dup + j, VMUL(VMUL(d, VSUB(cc, ld(hp + j, k))), dsig(u)), k);
  st(dcp + j, VMUL(VMUL(d, u), dtanh(cc)), k);
  st(dhp + j, VFMA(d, VSUB(V1(1.0f), u), ld(dhp + j, k)), k);
}
static void gru_out_backward(long n, long H, long G, long uOff, long cOff, const float *gates, const float *hPrev,
                             const float *dh, float *dGates, float *dhPrev) {
  for (long b = 0; b < n; b++) {
    const float *gr = gates + b * G;
    float *dg = dGates + b * G;
#define B_(j, k) gru_out_bwd_at(gr + uOff, gr + cOff, dg + uOff, dg + cOff, hPrev + b * H, dh + b * H, dhPrev + b * H, j, k)
    COLUMNS(H, B_);
#undef B_
  }
}
INL void gru_reset_bwd_at(const float *gr, float *dg, const float *hp, const float *dRh, float *dhp, long j, int k) {
  const V r = ld(gr + j, k), d = ld(dRh + j, k);
  /* rh = r ⊙ hPrev */
  st(dg + j, VMUL(VMUL(d, ld(hp + j, k)), dsig(r)), k);
  st(dhp + j, VFMA(d, r, ld(dhp + j, k)), k);
}
static void gru_reset_backward(long n, long H, const float *gates, const float *hPrev, const float *dRh, float *dGates,
                               float *dhPrev) {
  for (long b = 0; b < n; b++) {
#define B_(j, k) gru_reset_bwd_at(gates + b * 3 * H, dGates + b * 3 * H, hPrev + b * H, dRh + b * H, dhPrev + b * H, j, k)
    COLUMNS(H, B_);
#undef B_
  }
}

/* ---- PyTorch GRU, gates [r z n], hw = W_hh·h + b_hh */
INL void gru_torch_fwd_at(float *gr, const float *wr, long H, const float *hp, float *h, long j, int k) {
  const V r = vsigmoid(VADD(ld(gr + j, k), ld(wr + j, k)));
  const V z = vsigmoid(VADD(ld(gr + H + j, k), ld(wr + H + j, k)));
  const V nn = vtanh(VFMA(r, ld(wr + 2 * H + j, k), ld(gr + 2 * H + j, k)));
  st(gr + j, r, k);
  st(gr + H + j, z, k);
  st(gr + 2 * H + j, nn, k);
  /* h = (1 − z) ⊙ n + z ⊙ hPrev = n + z ⊙ (hPrev − n) */
  st(h + j, VFMA(z, VSUB(ld(hp + j, k), nn), nn), k);
}
static void gru_torch_forward(long n, long H, float *gates, const float *hw, const float *hPrev, float *h) {
  for (long b = 0; b < n; b++) {
#define B_(j, k) gru_torch_fwd_at(gates + b * 3 * H, hw + b * 3 * H, H, hPrev + b * H, h + b * H, j, k)
    COLUMNS(H, B_);
#undef B_
  }
}
INL void gru_torch_bwd_at(const float *gr, const float *wr, float *dg, float *dw, long H, const float *hp,
                          const float *dh, float *dhp, long j, int k) {
  const V r = ld(gr + j, k), z = ld(gr + H + j, k), nn = ld(gr + 2 * H + j, k), d = ld(dh + j, k);
  /* h = (1 − z) ⊙ n + z ⊙ hPrev */
  const V dn = VMUL(VMUL(d, VSUB(V1(1.0f), z)), dtanh(nn));
  const V dz = VMUL(VMUL(d, VSUB(ld(hp + j, k), nn)), dsig(z));
  /* n = tanh(x_n + r ⊙ hw_n) */
  const V dr = VMUL(VMUL(dn, ld(wr + 2 * H + j, k)), dsig(r));
  st(dg + j, dr, k);
  st(dg + H + j, dz, k);
  st(dg + 2 * H + j, dn, k);
  st(dw + j, dr, k);
  st(dw + H + j, dz, k);
  st(dw + 2 * H + j, VMUL(dn, r), k);
  st(dhp + j, VFMA(d, z, ld(dhp + j, k)), k);
}
static void gru_torch_backward(long n, long H, const float *gates, const float *hw, const float *hPrev, const float *dh,
                               float *dGates, float *dHw, float *dhPrev) {
  for (long b = 0; b < n; b++) {
    const long g = b * 3 * H, r = b * H;
#define B_(j, k) gru_torch_bwd_at(gates + g, hw + g, dGates + g, dHw + g, H, hPrev + r, dh + r, dhPrev + r, j, k)
    COLUMNS(H, B_);
#undef B_
  }
}

/* ---- softmax cross-entropy over rows [rows, V]: max, Σ exp(x − max) in double (the exps kept
 * in dLogits for the gradient), log-sum-exp in double */
static double softmax_xent(long rows, long V_, const float *logits, const int *targets, float *dLogits, float scale) {
  double loss = 0;
  for (long r = 0; r < rows; r++) {
    const float *x = logits + r * V_;
    float *d = dLogits ? dLogits + r * V_ : NULL;
    const int t = targets[r];
    V mv = V1(-INFINITY);
    long j = 0;
    for (; j + VN <= V_; j += VN) mv = VMAX(mv, VLD(x + j));
    float lanes[VN], mx = -INFINITY;
    VST(lanes, mv);
    for (int l = 0; l < VN; l++) mx = lanes[l] > mx ? lanes[l] : mx;
    for (; j < V_; j++) mx = x[j] > mx ? x[j] : mx;
    const float xt = x[t];
    const V mxv = V1(mx);
    double sum = 0;
    for (j = 0; j + VN <= V_; j += VN) {
      const V e = vexp(VSUB(VLD(x + j), mxv));
      sum += VHSUM_D(e);
      if (d) VST(d + j, e);
    }
    if (j < V_) {
      const int k = (int)(V_ - j);
      VST(lanes, vexp(VSUB(VLDN(x + j, k), mxv)));
      for (int l = 0; l < k; l++) {
        sum += (double)lanes[l];
        if (d) d[j + l] = lanes[l];
      }
    }
    loss += (double)mx + log(sum) - (double)xt;
    if (d) {
      const V kv = V1((float)((double)scale / sum));
#define B_(jj, kk) st(d + jj, VMUL(ld(d + jj, kk), kv), kk)
      COLUMNS(V_, B_);
#undef B_
      d[t] -= scale;
    }
  }
  return loss;
}

/* ---- rows and the optimizer */
static void add_bias(long rows, long N, float *X, long ldx, const float *bias) {
  for (long r = 0; r < rows; r++) {
    float *x = X + r * ldx;
#define B_(j, k) st(x + j, VADD(ld(x + j, k), ld(bias + j, k)), k)
    COLUMNS(N, B_);
#undef B_
  }
}
/* dbias += Σ_r dX[r]: rows in order, so every column is the same chain of additions */
static void sum_rows(long rows, long N, const float *dX, long ldx, float *dbias) {
  for (long r = 0; r < rows; r++) {
    const float *x = dX + r * ldx;
#define B_(j, k) st(dbias + j, VADD(ld(dbias + j, k), ld(x + j, k)), k)
    COLUMNS(N, B_);
#undef B_
  }
}
/* m = b1·m + c1·g; v = b2·v + c2·g²; p −= lrWd·p + lr·m / (√v + eps), as the WebAssembly kernel
 * (no fused multiply-adds here, so that both backends take the same optimizer steps) */
static void adam(long n, float *p, const float *g, float *m, float *v, float lr, float b1, float b2, float eps,
                 float lrWd, float c1, float c2) {
#define B_(j, k) do { \
    const V gi = ld(g + j, k); \
    const V mi = VADD(VMUL(V1(b1), ld(m + j, k)), VMUL(V1(c1), gi)); \
    const V vi = VADD(VMUL(V1(b2), ld(v + j, k)), VMUL(V1(c2), VMUL(gi, gi))); \
    st(m + j, mi, k); \
    st(v + j, vi, k); \
    const V pi = ld(p + j, k); \
    const V step = VDIV(VMUL(V1(lr), mi), VADD(VSQRT(vi), V1(eps))); \
    st(p + j, VSUB(pi, VADD(VMUL(V1(lrWd), pi), step)), k); \
  } while (0)
  COLUMNS(n, B_);
#undef B_
}

/* ---- the batch-1 step's panel product, max and exps */
#include "step_impl.h"

const rnn_cells_isa ISA_STRUCT = {
  ISA_NAME, rnn_forward, rnn_backward, lstm_forward, lstm_backward, gru_reset_forward, gru_out_forward,
  gru_out_backward, gru_reset_backward, gru_torch_forward, gru_torch_backward, softmax_xent, add_bias, sum_rows, adam,
  STEP_ROWS, step_panel, step_max, step_exp, lstm_forward_cols, lstm_backward_cols,
};
