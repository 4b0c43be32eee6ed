// Central-difference gradient checking in float64.
//
// For every element x_i of `x`, the five-point central difference
//   numeric = (−f(x + 2ε) + 8 f(x + ε) − 8 f(x − ε) + f(x − 2ε)) / 12ε
// (truncation error O(ε⁴), so ε can be large enough that float64 rounding in f stays
// far below the tolerance), compared with the analytic gradient by relative error
// |a − n| / max(|a|, |n|, floor). The floor keeps elements whose true gradient is ~0
// from dividing noise by noise.

export interface GradcheckResult {
  maxRelError: number;
  worst: { index: number; analytic: number; numeric: number } | null;
  checked: number;
}

export function gradcheck(
  f: () => number, x: Float64Array, analytic: ArrayLike<number>, eps = 1e-4, floor = 1e-6,
): GradcheckResult {
  if (analytic.length !== x.length) throw new Error('gradient length mismatch');
  let maxRelError = 0;
  let worst: GradcheckResult['worst'] = null;
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    const at = (d: number) => {
      x[i] = saved + d;
      return f();
    };
    const numeric = (-at(2 * eps) + 8 * at(eps) - 8 * at(-eps) + at(-2 * eps)) / (12 * eps);
    x[i] = saved;
    const a = analytic[i];
    const rel = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), floor);
    if (rel > maxRelError || Number.isNaN(rel)) {
      maxRelError = Number.isNaN(rel) ? Infinity : rel;
      worst = { index: i, analytic: a, numeric };
    }
  }
  return { maxRelError, worst, checked: x.length };
}
