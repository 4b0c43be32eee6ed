/* The vector kernels of the batch-1 step (step.c), compiled once per instruction set: this
 * file is included by cells_impl.h after its vector helpers and exp, so it uses the same
 * macros (V, VN, VLD, VFMA, …) and the same exp polynomial.
 *
 * A panel is STEP_ROWS = 8·VN consecutive rows of a weight matrix, stored k-major for
 * streaming: w[k·STEP_ROWS + r] = W[row0 + r, k] (zero past the matrix's last row). One
 * panel times a vector keeps its 8 vector accumulators in registers for the whole of k,
 * so a weight is loaded once, with no horizontal sums, and the 8 accumulators are 8
 * independent chains of fused multiply-adds (enough to cover their latency). Each row
 * sums its products in k order, parts in order: the result does not depend on which
 * thread ran the panel. */
#define STEP_ROWS (8 * VN)

/* the first n (≤ 0 … VN) floats at p as a vector, zero past n */
INL V step_ld(const float *p, long n) {
  if (n >= VN) return VLD(p);
  if (n <= 0) return V1(0.0f);
  return VLDN(p, (int)n);
}
INL void step_st(float *p, V v, long n) {
  if (n >= VN) VST(p, v);
  else if (n > 0) VSTN(p, v, (int)n);
}

/* out[0:rows] = init[0:rows] (+ add[0:rows]) + Σ_parts Σ_k w·x[part][k], rows ≤ STEP_ROWS.
 * The weights of the parts follow each other: K[0]·STEP_ROWS floats for part 0, then part 1. */
static void step_panel(long rows, const float *init, const float *add, int nparts, const long *K,
                       const float *const *x, const float *w, float *out) {
  V a0 = step_ld(init, rows), a1 = step_ld(init + VN, rows - VN), a2 = step_ld(init + 2 * VN, rows - 2 * VN),
    a3 = step_ld(init + 3 * VN, rows - 3 * VN), a4 = step_ld(init + 4 * VN, rows - 4 * VN),
    a5 = step_ld(init + 5 * VN, rows - 5 * VN), a6 = step_ld(init + 6 * VN, rows - 6 * VN),
    a7 = step_ld(init + 7 * VN, rows - 7 * VN);
  if (add) {
    a0 = VADD(a0, step_ld(add, rows));
    a1 = VADD(a1, step_ld(add + VN, rows - VN));
    a2 = VADD(a2, step_ld(add + 2 * VN, rows - 2 * VN));
    a3 = VADD(a3, step_ld(add + 3 * VN, rows - 3 * VN));
    a4 = VADD(a4, step_ld(add + 4 * VN, rows - 4 * VN));
    a5 = VADD(a5, step_ld(add + 5 * VN, rows - 5 * VN));
    a6 = VADD(a6, step_ld(add + 6 * VN, rows - 6 * VN));
    a7 = VADD(a7, step_ld(add + 7 * VN, rows - 7 * VN));
  }
  for (int p = 0; p < nparts; p++) {
    const float *xp = x[p];
    const long kn = K[p];
    for (long k = 0; k < kn; k++) {
      const V xb = V1(xp[k]);
      a0 = VFMA(VLD(w), xb, a0);
      a1 = VFMA(VLD(w + VN), xb, a1);
      a2 = VFMA(VLD(w + 2 * VN), xb, a2);
      a3 = VFMA(VLD(w + 3 * VN), xb, a3);
      a4 = VFMA(VLD(w + 4 * VN), xb, a4);
      a5 = VFMA(VLD(w + 5 * VN), xb, a5);
      a6 = VFMA(VLD(w + 6 * VN), xb, a6);
      a7 = VFMA(VLD(w + 7 * VN), xb, a7);
      w += STEP_ROWS;
    }
  }
  step_st(out, a0, rows);
  step_st(out + VN, a1, rows - VN);
  step_st(out + 2 * VN, a2, rows - 2 * VN);
  step_st(out + 3 * VN, a3, rows - 3 * VN);
  step_st(out + 4 * VN, a4, rows - 4 * VN);
  step_st(out + 5 * VN, a5, rows - 5 * VN);
  step_st(out + 6 * VN, a6, rows - 6 * VN);
  step_st(out + 7 * VN, a7, rows - 7 * VN);
}

/* max of x[0:n]; *finite = 0 when some x is NaN or ±∞ (x·0 is then NaN) */
static float step_max(long n, const float *x, int *finite) {
  V m = V1(-INFINITY), z = V1(0.0f);
  long j = 0;
  for (; j + VN <= n; j += VN) {
    const V v = VLD(x + j);
    m = VMAX(m, v);
    z = VADD(z, VMUL(v, V1(0.0f)));
  }
  float lanes[VN], zl[VN], mx = -INFINITY, zs = 0.0f;
  VST(lanes, m);
  VST(zl, z);
  for (int l = 0; l < VN; l++) {
    mx = lanes[l] > mx ? lanes[l] : mx;
    zs += zl[l];
  }
  for (; j < n; j++) {
    mx = x[j] > mx ? x[j] : mx;
    zs += x[j] * 0.0f;
  }
  *finite = zs == 0.0f;
  return mx;
}

/* out[j] = exp((x[j] − mx)·invT) for j < n; returns Σ out in double (lanes in order) */
static double step_exp(long n, const float *x, float mx, float invT, float *out) {
  const V mv = V1(mx), tv = V1(invT);
  double sum = 0;
  long j = 0;
  for (; j + VN <= n; j += VN) {
    const V e = vexp(VMUL(VSUB(VLD(x + j), mv), tv));
    VST(out + j, e);
    sum += VHSUM_D(e);
  }
  if (j < n) {
    const int k = (int)(n - j);
    float lanes[VN];
    VST(lanes, vexp(VMUL(VSUB(VLDN(x + j, k), mv), tv)));
    for (int l = 0; l < k; l++) {
      out[j + l] = lanes[l];
      sum += (double)lanes[l];
    }
  }
  return sum;
}
