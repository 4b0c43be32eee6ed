// SIMD (f32x4) polynomial exp, expm1, sigmoid and tanh, plus a table-free f64 log.
//
// exp(x) = 2^n · exp(r), n = round(x / ln2), r = x − n·ln2 (Cody–Waite split, |r| ≤ ln2/2);
// expm1(r) is the degree-7 Taylor polynomial (truncation < 2e-8 relative on |r| ≤ ln2/2).
// tanh(|x|) = e / (e + 2) with e = expm1(2|x|), which keeps full relative accuracy near 0;
// σ(x) = 1 / (1 + exp(−x)). No tables: the module has no data segment, so many instances
// can share one memory without re-initialising anything.

// Degree-7 Taylor expm1 on the reduced argument: r + r²·(1/2 + r(1/6 + r(1/24 + ...))).
@inline function expm1Poly(r: v128): v128 {
  let p = f32x4.splat(<f32>(1.0 / 5040.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 720.0)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 120.0)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 24.0)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>(1.0 / 6.0)));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(<f32>0.5));
  return f32x4.add(r, f32x4.mul(f32x4.mul(r, r), p));
}

// Range reduction without float→int conversion: t = x·log2e + 1.5·2²³ rounds x·log2e to
// the nearest integer n in the low mantissa bits of t, so n = t − 1.5·2²³ exactly and the
// bits of 2^n are (bits(t) − bits(1.5·2²³) + 127) << 23. Then r = x − n·ln2 in two steps.
// x must be clamped so that n ∈ [−126, 127]. pmin/pmax are single instructions and keep NaN.
@inline function magicT(x: v128): v128 {
  return f32x4.add(f32x4.mul(x, f32x4.splat(<f32>1.4426950408889634)), f32x4.splat(<f32>12582912.0));
}
@inline function reduceR(x: v128, t: v128): v128 {
  const n = f32x4.sub(t, f32x4.splat(<f32>12582912.0));
  const r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(<f32>0.693359375)));
  return f32x4.sub(r, f32x4.mul(n, f32x4.splat(<f32>-2.12194440e-4)));
}
@inline function pow2n(t: v128): v128 {
  return i32x4.shl(i32x4.add(t, i32x4.splat(127 - 0x4b400000)), 23);
}

/** exp(x) per lane; x is clamped to [−87, 88] (results stay normal and finite). */
@inline export function vexp(x: v128): v128 {
  const xc = f32x4.pmax(f32x4.pmin(x, f32x4.splat(<f32>88.0)), f32x4.splat(<f32>-87.0));
  const t = magicT(xc);
  return f32x4.mul(f32x4.add(expm1Poly(reduceR(xc, t)), f32x4.splat(<f32>1.0)), pow2n(t));
}

/**
 * σ(x) = 1 / (1 + exp(−x)), exp(−x) as vexp computes it but without negating x (three
 * instructions under V8): the clamp, t and r take −x's constants instead, and since a − b
 * and −(b − a) round alike, every value is the one vexp(−x) would give.
 */
@inline export function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(<f32>1.0);
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(<f32>-88.0)), f32x4.splat(<f32>87.0));
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(<f32>-1.4426950408889634)), f32x4.splat(<f32>12582912.0));
  const n = f32x4.sub(t, f32x4.splat(<f32>12582912.0));
  // r = −x − n·ln2, in two steps as reduceR
  const r = f32x4.sub(f32x4.sub(f32x4.mul(n, f32x4.splat(<f32>-0.693359375)), xc), f32x4.mul(n, f32x4.splat(<f32>-2.12194440e-4)));
  const e = f32x4.mul(f32x4.add(expm1Poly(r), one), pow2n(t));
  return f32x4.div(one, f32x4.add(one, e));
}

/** tanh(x) = sign(x) · e / (e + 2), e = expm1(2|x|), 2|x| clamped to 40 (tanh(20) rounds to 1). */
@inline export function vtanh(x: v128): v128 {
  const signMask = i32x4.splat(0x80000000);
  const ax = v128.andnot(x, signMask);
  const y = f32x4.pmin(f32x4.add(ax, ax), f32x4.splat(<f32>40.0));
  const t = magicT(y);
  const s = pow2n(t);
  // expm1(y) = s·expm1(r) + (s − 1), exact in the n = 0 case.
  const e = f32x4.add(f32x4.mul(s, expm1Poly(reduceR(y, t))), f32x4.sub(s, f32x4.splat(<f32>1.0)));
  const q = f32x4.div(e, f32x4.add(e, f32x4.splat(<f32>2.0)));
  return v128.or(q, v128.and(x, signMask));
}

/** Natural log in f64 without tables: x = 2^k · m, m ∈ [√½, √2), log m = 2·atanh((m−1)/(m+1)). */
export function logF64(x: f64): f64 {
  if (!(x > 0.0)) return x == 0.0 ? -Infinity : NaN;
  if (x == Infinity) return x;
  let bits = reinterpret<u64>(x);
  let k: i32 = 0;
  if ((bits >> 52) == 0) {
    // subnormal: scale up by 2^54
    x *= 18014398509481984.0;
    bits = reinterpret<u64>(x);
    k = -54;
  }
  k += <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    k += 1;
  }
  const s = (m - 1.0) / (m + 1.0);
  const s2 = s * s;
  // 2·(s + s³/3 + ... + s²¹/21); |s| ≤ 0.1716 so the next term is below 1e-18 relative.
  let p = 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  p = p * s2 + 1.0;
  return <f64>k * 0.6931471805599453 + 2.0 * s * p;
}

